"""Judge definitions: the shipped library, validation errors, lookup, templates and hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.errors import ConfigError, UnknownSpecError
from evalkit.judging import JUDGES_DIR_ENV, list_judges, load_judge, template_hash
from evalkit.judging.context import example_context
from evalkit.judging.templates import JudgeTemplates
from tests.judging_helpers import JUDGES_DIR, MINIMAL_PAIRWISE, write_judge

LIBRARY = {
    "lima-pairwise": ("pairwise", "label", False),
    "pairwise-rationale": ("pairwise", "final_line", False),
    "pairwise-5way": ("pairwise", "final_line", False),
    "reference-pairwise": ("pairwise", "final_line", True),
    "multi-turn-pairwise": ("pairwise", "label", False),
    "lima-grade": ("grade", "label", False),
    "helpfulness-6": ("grade", "label", False),
    "aspects-5": ("grade", "aspects", False),
    "reference-grade": ("grade", "final_line", True),
    "multi-turn-grade": ("grade", "label", False),
}


def test_library_lists_every_judge_with_its_kind_and_format() -> None:
    specs = {spec.name: spec for spec in list_judges(search_dirs=[JUDGES_DIR])}
    assert set(specs) == set(LIBRARY)
    for name, (kind, verdict_format, reference_guided) in LIBRARY.items():
        spec = specs[name]
        assert (spec.kind, spec.verdict.format, spec.reference_guided) == (
            kind,
            verdict_format,
            reference_guided,
        )
        assert spec.version and spec.description
        assert spec.path == JUDGES_DIR / f"{name}.yaml"


def test_default_judges_use_single_token_verdicts_with_logprobs() -> None:
    pairwise = load_judge("lima-pairwise")
    assert pairwise.label_order == ("A", "B", "N")
    assert [label.outcome for label in pairwise.labels] == ["first", "second", "tie"]
    assert pairwise.logprobs is not None and pairwise.params.max_tokens <= 8
    grade = load_judge("lima-grade")
    assert grade.label_order == ("fail", "pass", "excellent")
    assert grade.scale_name == "fail-pass-excellent"
    assert grade.logprobs is not None


def test_five_way_weights_come_from_the_yaml() -> None:
    spec = load_judge("pairwise-5way")
    assert [(lb.code, lb.outcome, lb.shown_weight) for lb in spec.labels] == [
        ("A>>B", "first", 1.0),
        ("A>B", "first", 0.75),
        ("A=B", "tie", 0.5),
        ("A<B", "second", 0.25),
        ("A<<B", "second", 0.0),
    ]


def test_multi_turn_modes() -> None:
    assert load_judge("multi-turn-grade").multi_turn == "per_turn"
    assert load_judge("multi-turn-pairwise").multi_turn == "conversation"


def test_every_library_template_renders_the_example_context() -> None:
    for spec in list_judges(search_dirs=[JUDGES_DIR]):
        rendered = JudgeTemplates(spec).render(example_context(spec))
        assert "Example question?" in rendered.user, spec.name
        assert rendered.system, spec.name
        if spec.reference_guided:
            assert "Example reference." in rendered.user


def test_load_by_path_and_by_name_from_search_dirs(tmp_path: Path) -> None:
    path = write_judge(tmp_path, "mine", MINIMAL_PAIRWISE.format(name="mine"))
    assert load_judge(path).name == "mine"
    assert load_judge(str(path)).name == "mine"
    assert load_judge("mine", search_dirs=[tmp_path]).path == path


def test_env_override_is_searched_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_judge(tmp_path, "lima-pairwise", MINIMAL_PAIRWISE.format(name="lima-pairwise"))
    monkeypatch.setenv(JUDGES_DIR_ENV, str(tmp_path))
    assert load_judge("lima-pairwise").label_order == ("X", "Y")
    assert {spec.name for spec in list_judges()} == set(LIBRARY)


def test_unknown_name_lists_known_judges(tmp_path: Path) -> None:
    write_judge(tmp_path, "mine", MINIMAL_PAIRWISE.format(name="mine"))
    with pytest.raises(UnknownSpecError, match=r"unknown judge 'nope'; known judges: mine"):
        load_judge("nope", search_dirs=[tmp_path])


def test_missing_file_path() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_judge("no/such/judge.yaml")


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ("kind: pairwise", "kind: rank", r"field 'kind': Input should be 'pairwise' or 'grade'"),
        ('version: "1"\n', "", r"field 'version': Field required"),
        ("outcome: second", "outcome: later", r"field 'labels\.1\.outcome'"),
        ("outcome: second", "outcome: first", r"both 'first' and 'second' must occur"),
        ("code: Y", "code: x", r"share a code or alias"),
        ("kind: pairwise", "kind: pairwise\ncolour: red", r"field 'colour': Extra inputs are not permitted"),
    ],
)
def test_schema_errors_name_the_file_and_field(tmp_path: Path, replace: str, by: str, message: str) -> None:
    path = write_judge(tmp_path, "bad", MINIMAL_PAIRWISE.format(name="bad").replace(replace, by))
    with pytest.raises(ConfigError, match=message) as caught:
        load_judge(path)
    assert str(path) in str(caught.value)


def test_undefined_template_variable_names_file_and_variable(tmp_path: Path) -> None:
    body = MINIMAL_PAIRWISE.format(name="typo").replace("{{ second }}", "{{ secnod }}")
    path = write_judge(tmp_path, "typo", body)
    with pytest.raises(ConfigError, match=r"undefined variable \('secnod' is undefined\)") as caught:
        load_judge(path)
    assert str(path) in str(caught.value)


def test_template_syntax_error_names_field_and_line(tmp_path: Path) -> None:
    path = write_judge(tmp_path, "syntax", MINIMAL_PAIRWISE.format(name="syntax").replace("}} 1:", "} 1:"))
    with pytest.raises(ConfigError, match=r"template\.user: template syntax error on line 1"):
        load_judge(path)


def test_template_file_needs_a_user_block(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "blocky.j2").write_text("{% block system %}hi{% endblock %}")
    body = MINIMAL_PAIRWISE.format(name="blocky").replace(
        '  user: "Q: {{ question }} 1: {{ first }} 2: {{ second }}"\n', ""
    )
    path = write_judge(tmp_path, "blocky", body.replace("template:\n", ""))
    with pytest.raises(ConfigError, match=r"no '\{% block user %\}'"):
        load_judge(path)


def test_missing_template_file_is_reported(tmp_path: Path) -> None:
    body = MINIMAL_PAIRWISE.format(name="lost").replace(
        '  user: "Q: {{ question }} 1: {{ first }} 2: {{ second }}"', "  file: templates/none.j2"
    )
    with pytest.raises(ConfigError, match=r"field 'template\.file': cannot read .*none\.j2"):
        load_judge(write_judge(tmp_path, "lost", body))


def test_template_hash_tracks_template_and_version(tmp_path: Path) -> None:
    base = load_judge(write_judge(tmp_path, "h", MINIMAL_PAIRWISE.format(name="h")))
    same = load_judge(write_judge(tmp_path / "copy", "h", MINIMAL_PAIRWISE.format(name="h")))
    bumped = load_judge(
        write_judge(tmp_path / "v2", "h", MINIMAL_PAIRWISE.format(name="h").replace('"1"', '"2"'))
    )
    edited = load_judge(
        write_judge(tmp_path / "e", "h", MINIMAL_PAIRWISE.format(name="h").replace("Q:", "Question:"))
    )
    assert template_hash(base) == template_hash(same)
    assert len(template_hash(base)) == 64
    assert template_hash(base) != template_hash(bumped)
    assert template_hash(base) != template_hash(edited)


def test_template_hash_covers_template_files() -> None:
    spec = load_judge("lima-pairwise")
    changed = spec.model_copy(update={"template": spec.template.model_copy(update={"file_text": "x"})})
    assert template_hash(spec) != template_hash(changed)


def test_name_must_match_file_name_in_judges_folders(tmp_path: Path) -> None:
    write_judge(tmp_path, "mine", MINIMAL_PAIRWISE.format(name="other"))
    with pytest.raises(ConfigError, match=r"field 'name' is 'other' but the file is named mine\.yaml"):
        load_judge("mine", search_dirs=[tmp_path])
    with pytest.raises(ConfigError, match="rename the file"):
        list_judges(search_dirs=[tmp_path])
    assert load_judge(tmp_path / "mine.yaml").name == "other"


def test_numeric_version_is_read_as_text(tmp_path: Path) -> None:
    body = MINIMAL_PAIRWISE.format(name="num").replace('version: "1"', "version: 2.5")
    assert load_judge(write_judge(tmp_path, "num", body)).version == "2.5"
