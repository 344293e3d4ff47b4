"""System templates: loading, rendering text and chat requests, stop merging, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.errors import ConfigError
from evalkit.generators.base import SamplingParams
from evalkit.records import IN_DISTRIBUTION, OUT_OF_DISTRIBUTION, Message, Prompt
from evalkit.system_templates import Example, SystemTemplate, load_template

ID_PROMPT = Prompt(id="p1", turns=("Why is the sky blue?",), category="explanation", split=IN_DISTRIBUTION)
OOD_PROMPT = Prompt(
    id="p2", turns=("Write a haiku about tea.",), category="writing", split=OUT_OF_DISTRIBUTION
)
DIALOGUE = Prompt(id="d", turns=("Name a fruit.", "What colour is it?"), metadata={"lang": "English"})


def text_template(**overrides: object) -> SystemTemplate:
    fields: dict[str, object] = {
        "name": "t",
        "version": "1",
        "format": "text",
        "system": "Be kind.",
        "examples": (Example(user="Hi?", assistant="Hello."),),
        "stop": ("\nUser:",),
    }
    return SystemTemplate.model_validate({**fields, **overrides})


def test_text_render_is_exact() -> None:
    request = text_template().render(ID_PROMPT)
    assert (
        request.prompt == "Be kind.\n\nUser: Hi?\nAssistant: Hello.\n\nUser: Why is the sky blue?\nAssistant:"
    )
    assert request.messages == ()
    assert request.params.stop == ("\nUser:",)


def test_render_is_the_same_shape_for_in_and_out_of_distribution_prompts() -> None:
    template = text_template()
    ood = template.render(OOD_PROMPT).prompt
    assert ood is not None and ood.endswith("User: Write a haiku about tea.\nAssistant:")
    assert (
        ood.replace("Write a haiku about tea.", "Why is the sky blue?") == template.render(ID_PROMPT).prompt
    )


def test_multi_turn_text_includes_previous_outputs_stripped() -> None:
    request = text_template(examples=()).render(DIALOGUE, turn=1, previous_outputs=[" An apple.\n"])
    assert request.prompt == (
        "Be kind.\n\nUser: Name a fruit.\nAssistant: An apple.\n\nUser: What colour is it?\nAssistant:"
    )


def test_chat_render_puts_system_examples_history_and_turn_in_order() -> None:
    template = text_template(format="chat")
    request = template.render(DIALOGUE, turn=1, previous_outputs=["An apple."])
    assert request.prompt is None
    assert request.messages == (
        Message(role="system", content="Be kind."),
        Message(role="user", content="Hi?"),
        Message(role="assistant", content="Hello."),
        Message(role="user", content="Name a fruit."),
        Message(role="assistant", content="An apple."),
        Message(role="user", content="What colour is it?"),
    )


def test_chat_without_system_or_examples_is_the_user_message_alone() -> None:
    request = text_template(format="chat", system="", examples=()).render(ID_PROMPT)
    assert request.messages == (Message(role="user", content="Why is the sky blue?"),)


def test_stop_sequences_merge_into_params_without_duplicates() -> None:
    params = SamplingParams(max_tokens=7, temperature=0.5, stop=("###", "\nUser:"))
    request = text_template(stop=("\nUser:", "\nAssistant:")).render(ID_PROMPT, params=params)
    assert request.params.stop == ("###", "\nUser:", "\nAssistant:")
    assert (request.params.max_tokens, request.params.temperature) == (7, 0.5)


def test_turn_formats_can_use_prompt_variables() -> None:
    template = text_template(
        system="Answer in {{ metadata.lang }}.",
        examples=(),
        text={
            "user": "[{{ turn }}] Q: {{ message }}\n",
            "assistant": "A: {{ message }}\n",
            "generation": "A ({{ category }}):",
        },
    )
    request = template.render(DIALOGUE, turn=1, previous_outputs=["Plum"])
    expected = "Answer in English.\n\n[1] Q: Name a fruit.\nA: Plum\n[2] Q: What colour is it?\n"
    assert request.prompt == expected + "A (uncategorized):"


def test_missing_variable_names_template_file_and_variable() -> None:
    template = text_template(system="Answer in {{ metadata.lang }}.", source="/x/t.yaml")
    with pytest.raises(ConfigError) as info:
        template.render(ID_PROMPT)
    message = str(info.value)
    assert "template 't' (/x/t.yaml): field 'system'" in message and "'lang'" in message and "'p1'" in message


@pytest.mark.parametrize(
    ("turn", "previous", "match"),
    [(1, ["x"], "has 1 turn"), (-1, [], "has 1 turn"), (0, ["x"], "needs 0 previous output")],
)
def test_bad_turn_arguments(turn: int, previous: list[str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        text_template().render(ID_PROMPT, turn=turn, previous_outputs=previous)


def test_fingerprint_tracks_content_not_source() -> None:
    base = text_template()
    assert base.fingerprint() == text_template(source="/elsewhere.yaml").fingerprint()
    assert base.fingerprint() != text_template(system="Be kinder.").fingerprint()
    assert base.fingerprint() != text_template(stop=()).fingerprint()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tpl.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_template_from_file(tmp_path: Path) -> None:
    path = write(
        tmp_path, 'name: mine\nversion: 2\nformat: text\nexamples:\n  - {user: "a", assistant: "b"}\n'
    )
    template = load_template(path)
    assert (template.name, template.version, template.source) == ("mine", "2", str(path))
    assert template.examples == (Example(user="a", assistant="b"),)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("name: x\nversion: 1\nformat: html\n", "field 'format'"),
        ("name: x\nformat: text\n", "field 'version'"),
        ("name: x\nversion: 1\nformat: text\nexamples:\n  - {user: a}\n", r"field 'examples\.0\.assistant'"),
        ("name: x\nversion: 1\nformat: text\ncolour: red\n", "field 'colour'"),
        (
            "name: x\nversion: 1\nformat: text\ntext: {user: 'Q: {{ question }}'}\n",
            "field 'text.user' uses unknown variable.s. question",
        ),
        (
            "name: x\nversion: 1\nformat: text\nsystem: 'Hi {{ message }}'\n",
            "field 'system' uses unknown variable.s. message",
        ),
        ("name: x\nversion: 1\nformat: text\ntext: {user: '{{ message '}\n", "field 'text.user' line 1"),
        ("- just a list\n", "expected a mapping"),
        ("name: [unclosed\n", "cannot read it as YAML"),
    ],
)
def test_bad_template_files_name_file_and_field(tmp_path: Path, text: str, match: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as info:
        load_template(path)
    assert str(path) in str(info.value)


def test_unknown_template_name_lists_built_ins() -> None:
    with pytest.raises(ConfigError, match=r"known templates: .*icl-alignment.*plain"):
        load_template("nope")


def test_env_folder_overrides_built_ins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "name: plain\nversion: 9\nformat: chat\n").rename(tmp_path / "plain.yaml")
    monkeypatch.setenv("EVALKIT_TEMPLATES_DIR", str(tmp_path))
    assert load_template("plain").version == "9"
