"""``structured: auto|on|off|json``: which constraint a judge gets, its fingerprint and run.json."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evalkit.cache import CachedCaller
from evalkit.errors import ConfigError
from evalkit.generators.base import Capabilities, Completion, CompletionRequest, Generator
from evalkit.judging import LLMGrader, LLMPairwiseJudge
from evalkit.runner.config import JudgeConfig
from evalkit.runner.judges import JudgeContext, create_llm_judge, describe, verdict_constraint

GRAMMAR = Capabilities(grammar=True, structured_output=True, base_model=True)
JSON_ONLY = Capabilities(structured_output=True)
NEITHER = Capabilities()


class Declared(Generator):
    """A backend that only declares capabilities (never called here)."""

    def __init__(self, capabilities: Capabilities) -> None:
        super().__init__("declared/x")
        self.capabilities = capabilities

    async def complete(self, request: CompletionRequest) -> Completion:
        raise AssertionError("not called")


def judge_config(**fields: object) -> JudgeConfig:
    return JudgeConfig.model_validate({"judge": "helpfulness-6", "model": "declared/x", **fields})


@pytest.mark.parametrize(
    ("structured", "capabilities", "expected"),
    [
        ("auto", GRAMMAR, "grammar"),
        ("auto", JSON_ONLY, None),  # API judges keep their own format unless asked
        ("auto", NEITHER, None),
        ("on", GRAMMAR, "grammar"),
        ("on", JSON_ONLY, "json"),
        ("json", GRAMMAR, "json"),
        ("off", GRAMMAR, None),
    ],
)
def test_the_constraint_follows_the_setting_and_the_backend(
    structured: str, capabilities: Capabilities, expected: str | None
) -> None:
    assert verdict_constraint(judge_config(structured=structured), capabilities) == expected


@pytest.mark.parametrize("structured", ["on", "json"])
def test_asking_for_a_constraint_the_backend_lacks_is_a_clear_error(structured: str) -> None:
    with pytest.raises(ConfigError, match=f"'structured: {structured}' needs a backend"):
        verdict_constraint(judge_config(structured=structured), NEITHER)


def test_yaml_booleans_mean_on_and_off_and_auto_is_the_default() -> None:
    parsed = yaml.safe_load("a: {structured: on}\nb: {structured: off}\nc: {structured: true}")
    assert [judge_config(**parsed[k]).structured for k in "abc"] == ["on", "off", "on"]
    assert judge_config().structured == "auto"
    with pytest.raises(ValueError, match="structured"):
        judge_config(structured="sometimes")


def build(
    structured: str, capabilities: Capabilities = GRAMMAR
) -> tuple[JudgeConfig, LLMPairwiseJudge | LLMGrader]:
    generator = Declared(capabilities)
    context = JudgeContext(caller=lambda spec, options: CachedCaller(generator, None), resolve=Path)
    config = judge_config(structured=structured)
    return config, create_llm_judge(config, context)


def test_toggling_the_constraint_changes_the_fingerprint() -> None:
    fingerprints = {mode: build(mode)[1].fingerprint for mode in ("auto", "off", "json")}
    assert len(set(fingerprints.values())) == 3
    assert build("auto")[1].fingerprint == build("on")[1].fingerprint


def test_run_json_records_the_constraint() -> None:
    for mode, expected in (("auto", "grammar"), ("json", "json"), ("off", None)):
        config, judge = build(mode)
        assert describe(config, judge).constrained == expected
