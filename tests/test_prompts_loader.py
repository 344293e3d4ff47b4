"""Loading evalkit's own prompt formats: fields, errors with file:line:field, filters, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.errors import ConfigError
from evalkit.prompts import PromptSet, dump_prompt_set, load_prompt_set
from evalkit.records import IN_DISTRIBUTION, OUT_OF_DISTRIBUTION


def write_jsonl(path: Path, *rows: object) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def test_jsonl_fields_map_onto_prompt_records(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "set.jsonl",
        {"id": "a", "prompt": "Why is the sea salty?", "category": "explanation", "split": IN_DISTRIBUTION},
        {"id": 7, "instruction": "Write a haiku.", "reference": "An example haiku", "source": "mine"},
        {"id": "c", "turns": ["Hi", "And then?"], "reference": ["r1", "r2"], "metadata": {"level": 2}},
    )
    prompt_set = load_prompt_set(path)
    a, b, c = prompt_set.prompts
    assert (a.id, a.turns, a.category, a.split) == (
        "a",
        ("Why is the sea salty?",),
        "explanation",
        IN_DISTRIBUTION,
    )
    assert (b.id, b.turns, b.reference, b.metadata) == (
        "7",
        ("Write a haiku.",),
        ("An example haiku",),
        {"source": "mine"},
    )
    assert (b.category, b.split) == ("uncategorized", "unspecified")
    assert c.turns == ("Hi", "And then?") and c.reference == ("r1", "r2") and c.metadata == {"level": 2}
    assert prompt_set.name == "set" and prompt_set.version.startswith("sha256:") and prompt_set.path == path


def test_messages_keep_user_turns_and_store_assistant_turns(tmp_path: Path) -> None:
    messages = [
        {"role": "user", "content": "Plan a picnic."},
        {"role": "assistant", "content": "Pick a park."},
        {"role": "user", "content": "What food?"},
    ]
    prompt = load_prompt_set(write_jsonl(tmp_path / "m.jsonl", {"id": "m", "messages": messages})).prompts[0]
    assert prompt.turns == ("Plan a picnic.", "What food?")
    assert prompt.metadata == {"assistant_turns": ["Pick a park."]}


def test_version_changes_with_content(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "v.jsonl", {"id": "a", "prompt": "one"})
    first = load_prompt_set(path).version
    write_jsonl(path, {"id": "a", "prompt": "two"})
    assert load_prompt_set(path).version != first


@pytest.mark.parametrize(
    ("row", "field", "hint"),
    [
        ({"prompt": "no id"}, "id", "unique 'id'"),
        ({"id": "", "prompt": "x"}, "id", "non-empty"),
        ({"id": ["x"], "prompt": "x"}, "id", "string or an integer"),
        ({"id": "a"}, "prompt", "exactly one of"),
        ({"id": "a", "prompt": "x", "turns": ["y"]}, "prompt", "several given (prompt, turns)"),
        ({"id": "a", "prompt": "   "}, "prompt", "is empty"),
        ({"id": "a", "prompt": 3}, "prompt", "must be a string, got int"),
        ({"id": "a", "turns": []}, "turns", "non-empty list"),
        ({"id": "a", "turns": ["ok", ""]}, "turns[1]", "is empty"),
        ({"id": "a", "messages": [{"role": "assistant", "content": "x"}]}, "messages[0]", "role 'user'"),
        (
            {"id": "a", "messages": [{"role": "user", "content": "x"}, {"role": "user", "content": "y"}]},
            "messages[1]",
            "role 'assistant'",
        ),
        ({"id": "a", "prompt": "x", "category": 5}, "category", "non-empty string"),
        ({"id": "a", "prompt": "x", "split": ""}, "split", "non-empty string"),
        ({"id": "a", "prompt": "x", "reference": ["r", "s"]}, "reference", "at most one reference per turn"),
        ({"id": "a", "prompt": "x", "reference": [1]}, "reference", "string or a list of strings"),
        ({"id": "a", "prompt": "x", "metadata": [1]}, "metadata", "must be an object"),
    ],
)
def test_each_bad_entry_names_file_line_and_field(
    tmp_path: Path, row: dict[str, object], field: str, hint: str
) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", {"id": "ok", "prompt": "fine"}, row)
    with pytest.raises(ConfigError) as info:
        load_prompt_set(path)
    message = str(info.value)
    assert message.startswith(f"{path}:2: field '{field}':"), message
    assert hint in message


def test_bad_json_line_names_line_and_column(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", {"id": "a", "prompt": "x"}, "", '{"id": "b", "prompt": }')
    with pytest.raises(ConfigError, match=r"bad\.jsonl:3: invalid JSON .* column 23"):
        load_prompt_set(path)


def test_non_object_line_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"x\.jsonl:1: expected a JSON object"):
        load_prompt_set(write_jsonl(tmp_path / "x.jsonl", "[1, 2]"))


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "d.jsonl",
        {"id": "a", "prompt": "x"},
        {"id": "b", "prompt": "y"},
        {"id": "a", "prompt": "z"},
    )
    with pytest.raises(ConfigError) as info:
        load_prompt_set(path)
    assert str(info.value).startswith(f"{path}:3: field 'id': duplicate id 'a' (first used at {path}:1)")


def test_empty_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="the prompt set is empty"):
        load_prompt_set(write_jsonl(tmp_path / "empty.jsonl", ""))
    with pytest.raises(ConfigError, match=r"absent\.jsonl does not exist"):
        load_prompt_set(tmp_path / "absent.jsonl")
    (tmp_path / "set.csv").write_text("id,prompt\n")
    with pytest.raises(ConfigError, match=r"unsupported prompt file type '\.csv'"):
        load_prompt_set(tmp_path / "set.csv")


def test_yaml_set_with_header_and_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: my-set\nversion: 3\nprompts:\n"
        "  - id: one\n    prompt: First?\n    split: in_distribution\n"
        "  - id: two\n    turns: [Hello, Bye]\n"
        "  - id: three\n    prompt: 12\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_prompt_set(path)
    assert str(info.value).startswith(f"{path}:9: field 'prompt': must be a string, got int")
    path.write_text(path.read_text().replace("prompt: 12", "prompt: Twelve"), encoding="utf-8")
    prompt_set = load_prompt_set(path)
    assert (prompt_set.name, prompt_set.version, len(prompt_set)) == ("my-set", "3", 3)
    assert prompt_set.prompts[1].turns == ("Hello", "Bye")


def test_yaml_without_prompts_list_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("- id: a\n  prompt: b\n")
    with pytest.raises(ConfigError, match="mapping with 'name', 'version' and a 'prompts' list"):
        load_prompt_set(path)
    path.write_text("name: x\nprompts: [\n")
    with pytest.raises(ConfigError, match=r"bad\.yml:\d+: invalid YAML"):
        load_prompt_set(path)


def test_json_array_errors_point_at_the_element_line(tmp_path: Path) -> None:
    path = tmp_path / "set.json"
    path.write_text('[\n  {"id": "a", "prompt": "x"},\n  {\n    "id": "b"\n  }\n]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_prompt_set(path)
    assert str(info.value).startswith(f"{path}:3: field 'prompt':")


def test_filter_by_category_split_and_limit(tmp_path: Path) -> None:
    rows = [
        {
            "id": f"p{i}",
            "prompt": f"q{i}",
            "category": "advice" if i % 2 else "writing",
            "split": IN_DISTRIBUTION if i < 4 else OUT_OF_DISTRIBUTION,
        }
        for i in range(6)
    ]
    prompt_set = load_prompt_set(write_jsonl(tmp_path / "f.jsonl", *rows))
    assert [p.id for p in prompt_set.filter(categories=["advice"]).prompts] == ["p1", "p3", "p5"]
    assert [p.id for p in prompt_set.filter(splits=[OUT_OF_DISTRIBUTION]).prompts] == ["p4", "p5"]
    assert [p.id for p in prompt_set.filter(limit=2, categories=["writing"]).prompts] == ["p0", "p2"]
    assert len(prompt_set.filter(limit=100)) == 6
    with pytest.raises(ConfigError, match="has no category 'poetry'; known: writing, advice"):
        prompt_set.filter(categories=["poetry"])
    with pytest.raises(ConfigError, match="at least 1"):
        prompt_set.filter(limit=0)


def test_dump_and_reload_round_trip(tmp_path: Path) -> None:
    source = write_jsonl(
        tmp_path / "src.jsonl",
        {
            "id": "a",
            "turns": ["x", "y"],
            "category": "c",
            "split": "s",
            "reference": ["r"],
            "extra": {"k": [1]},
        },
        {
            "id": "b",
            "messages": [
                {"role": "user", "content": "u"},
                {"role": "assistant", "content": "v"},
                {"role": "user", "content": "w"},
            ],
        },
    )
    original = load_prompt_set(source)
    dump_prompt_set(original, tmp_path / "out" / "copy.jsonl")
    again = load_prompt_set(tmp_path / "out" / "copy.jsonl")
    assert again.prompts == original.prompts


def test_builtin_names_resolve_through_the_env_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_jsonl(tmp_path / "lima_style.jsonl", {"id": "only", "prompt": "overridden"})
    monkeypatch.setenv("EVALKIT_PROMPTS_DIR", str(tmp_path))
    assert [p.id for p in load_prompt_set("lima_style")] == ["only"]
    with pytest.raises(ConfigError, match=r"known prompt sets: .*lima_style"):
        load_prompt_set("no_such_set")


def test_prompt_set_is_frozen() -> None:
    prompt_set = PromptSet("n", "1", None, ())
    with pytest.raises(AttributeError):
        prompt_set.name = "other"  # type: ignore[misc]
