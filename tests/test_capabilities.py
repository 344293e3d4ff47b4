"""Capabilities are declared by each provider; options are one pydantic model per provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import assert_user_error, evalkit, write_config, write_prompts

import evalkit as ek
from evalkit.errors import ConfigError
from evalkit.generators.api.anthropic_api import AnthropicGenerator
from evalkit.generators.base import Capabilities, Completion, CompletionRequest, Generator
from evalkit.generators.fake import FakeGenerator
from evalkit.generators.llamacpp.backend import LlamaCppGenerator
from evalkit.generators.registry import create_generator
from evalkit.generators.vllm.engine import VllmGenerator
from evalkit.generators.vllm.server import VllmServerGenerator
from evalkit.report.header import JudgeInfo

PROMPTS = ['{"id": "p1", "prompt": "Say hello."}', '{"id": "p2", "prompt": "Write a haiku."}']


class Constant(Generator):
    """A user's own backend object."""

    capabilities = Capabilities(logprobs=False, raw_prompt=False)

    async def complete(self, request: CompletionRequest) -> Completion:
        return Completion(text="fixed")


def test_each_provider_declares_its_capabilities() -> None:
    local = LlamaCppGenerator.capabilities
    assert (
        local.structured_output,
        local.logprobs,
        local.local,
        local.scores_continuation,
        local.base_model,
    ) == (
        True,
        True,
        True,
        True,
        True,
    )
    for engine in (VllmGenerator, VllmServerGenerator):
        assert engine.capabilities.structured_output and engine.capabilities.scores_continuation
        assert not engine.capabilities.base_model
    assert not AnthropicGenerator.capabilities.logprobs and not AnthropicGenerator.capabilities.raw_prompt
    assert FakeGenerator.capabilities.scripted and FakeGenerator.capabilities.demonstration_only
    assert not Generator.capabilities.structured_output


@pytest.mark.parametrize(
    ("spec", "options", "structured", "local"),
    [
        ("openai-compatible/vllm/m", {}, True, True),
        ("openai-compatible/ollama/m", {}, False, True),
        ("openai-compatible/m", {"base_url": "https://gw.example/v1"}, False, False),
        (
            "openai-compatible/m",
            {"base_url": "https://gw.example/v1", "structured_output": True},
            True,
            False,
        ),
    ],
)
def test_compatible_servers_declare_structured_output_by_preset_or_option(
    spec: str, options: dict[str, object], structured: bool, local: bool
) -> None:
    pytest.importorskip("openai")
    capabilities = create_generator(spec, options).capabilities
    assert (capabilities.structured_output, capabilities.local) == (structured, local)


def test_create_generator_passes_an_instance_through() -> None:
    mine = Constant("mine/constant")
    assert create_generator(mine) is mine
    with pytest.raises(ConfigError, match="ready generator"):
        create_generator(mine, {"max_concurrency": 2})


@pytest.mark.parametrize(
    ("spec", "options", "needle"),
    [
        ("fake/echo", {"temprature": 1}, "unknown option(s) temprature; valid options: text"),
        ("fake/echo", {"delay": -1}, "option 'delay' must be a number of seconds >= 0, got -1"),
        ("local/gemma-3-270m", {"n_gpu_layers": 3}, "unknown option(s) n_gpu_layers"),
        ("openai-compatible/vllm/m", {"retries": 3}, "unknown option(s) retries"),
        ("openai-compatible/vllm/m", {"timeout": "soon"}, "option 'timeout' must be a number of seconds > 0"),
        ("openai-compatible/vllm/m", {"http_transport": "curl"}, "option 'http_transport' must be one of"),
        ("vllm/gemma-3-270m", {"dtpye": "float32"}, "unknown option(s) dtpye"),
        ("vllm-server/gemma-3-270m", {"base_url": "http://x"}, "unknown option(s) base_url"),
    ],
)
def test_unknown_or_bad_options_are_one_clear_error(
    spec: str, options: dict[str, object], needle: str
) -> None:
    if spec.startswith("local/"):
        pytest.importorskip("llama_cpp")
    if spec.startswith("openai"):
        pytest.importorskip("openai")
    with pytest.raises(ConfigError) as caught:
        create_generator(spec, options)
    assert needle in str(caught.value)
    assert f"model {spec!r}" in str(caught.value)


def test_an_unknown_option_names_the_config_file_and_field(tmp_path: Path) -> None:
    write_prompts(tmp_path / "set.jsonl", PROMPTS)
    config = write_config(
        tmp_path,
        "name: x\nprompts: set.jsonl\nsystems:\n  - {name: a, model: fake/echo}\n"
        "judges:\n  - {judge: lima-pairwise, model: fake/constant, options: {txt: A}}\n",
    )
    assert_user_error(
        evalkit("run", str(config), cwd=tmp_path), "exp.yaml: judges[0].options: model 'fake/constant'", "txt"
    )


def test_structured_judging_needs_a_backend_that_declares_it(tmp_path: Path) -> None:
    write_prompts(tmp_path / "set.jsonl", PROMPTS)
    config = write_config(
        tmp_path,
        "name: x\nprompts: set.jsonl\nsystems:\n  - {name: a, model: fake/echo}\n"
        "  - {name: b, model: fake/echo}\njudges:\n"
        "  - {judge: lima-pairwise, model: fake/constant, structured: true, options: {text: A}}\n",
    )
    assert_user_error(evalkit("run", str(config), cwd=tmp_path), "'structured: on' needs a backend")


def test_the_report_flags_judges_by_their_recorded_capabilities() -> None:
    assert not JudgeInfo("j", "local/x", "s", "pairwise", "1", demonstration_only=False).is_local
    assert JudgeInfo("j", "openai/x", "s", "pairwise", "1", demonstration_only=True).is_local
    assert JudgeInfo("j", "local/x", "s", "pairwise", "1").is_local  # a run folder from before


def test_run_json_records_each_judges_capabilities(tmp_path: Path) -> None:
    config = {
        "name": "caps",
        "prompts": str(write_prompts(tmp_path / "set.jsonl", PROMPTS)),
        "output_dir": str(tmp_path / "reports"),
        "systems": [{"name": "a", "model": "fake/echo"}, {"name": "b", "model": "fake/constant"}],
        "judges": [{"judge": "lima-pairwise", "model": "fake/constant", "options": {"text": "A"}}],
    }
    run = ek.run(config, progress=False)
    meta = json.loads((run.path / "run.json").read_text())
    assert meta["judges"][0]["demonstration_only"] is True  # fake/ declares a script
    assert "demo judge" in (run.path / "report.html").read_text()


JUDGE = """name: json-pairwise
version: "1"
kind: pairwise
description: Pairwise verdict as JSON, for structured output.
labels:
  - {code: A, name: first better, outcome: first}
  - {code: B, name: second better, outcome: second}
  - {code: N, name: neither, outcome: tie}
template:
  system: You compare two answers.
  user: |
    Question: {{ question }}
    Answer A: {{ first }}
    Answer B: {{ second }}
    Which is better? Answer A, B or N.
params: {temperature: 0.0, max_tokens: 24, seed: 0}
"""


@pytest.mark.slow
def test_structured_judging_from_a_config_on_the_local_model(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    write_prompts(tmp_path / "set.jsonl", PROMPTS)
    (tmp_path / "json-pairwise.yaml").write_text(JUDGE)
    config = write_config(
        tmp_path,
        "name: x\nprompts: set.jsonl\nsystems:\n  - {name: a, model: fake/echo}\n"
        "  - {name: b, model: fake/constant, options: {text: Hello there.}}\n"
        "judges:\n  - {judge: json-pairwise.yaml, model: local/gemma-3-270m, structured: json}\n",
    )
    result = evalkit("run", str(config), "--limit", "2", "--no-report", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "reports" / "x" / "judgments.jsonl").read_text().splitlines()
    judgments = [json.loads(line) for line in lines]
    assert len(judgments) == 4
    for judgment in judgments:
        assert judgment["provenance"]["params"]["structured"] is True
        assert json.loads(judgment["raw"])["verdict"] in {"A", "B", "N"}  # the grammar forced the schema
        assert judgment["outcome"] in {"a", "b", "tie"}
