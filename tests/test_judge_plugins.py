"""A third-party judge kind, registered through the ``evalkit.judges`` entry point, used from a config."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

import evalkit
from evalkit.errors import ConfigError
from evalkit.runner import judges as judge_kinds
from tests.pipeline_helpers import write_prompt_set, write_run_config

PLUGIN = '''
"""A judge that prefers the longer answer: a stand-in for a reward model."""

from evalkit.records import Judgment


class LongerIsBetter:
    def __init__(self, margin):
        self.source = f"reward:longer>{margin}"
        self.fingerprint = f"longer-{margin}"
        self.margin = margin

    async def judge_pair(self, prompt, response_a, response_b, order, sample):
        gap = len(response_a.text) - len(response_b.text)
        outcome = "tie" if abs(gap) <= self.margin else ("a" if gap > 0 else "b")
        return Judgment(prompt_id=prompt.id, model_a=response_a.system, model_b=response_b.system,
                        order=order, source=self.source, outcome=outcome, sample=sample)


def create(config, context):
    return LongerIsBetter(int(config.options.get("margin", 0)))


def create_nothing(config, context):
    return object()
'''


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Install a tiny distribution with an entry point the way pip would (a dist-info on sys.path)."""
    site = tmp_path / "site"
    (site / "longer_judge-1.0.dist-info").mkdir(parents=True)
    (site / "longer_judge.py").write_text(textwrap.dedent(PLUGIN))
    (site / "longer_judge-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: longer-judge\nVersion: 1.0\n"
    )
    (site / "longer_judge-1.0.dist-info" / "entry_points.txt").write_text(
        "[evalkit.judges]\nlonger = longer_judge:create\nbroken = longer_judge:create_nothing\n"
    )
    monkeypatch.syspath_prepend(str(site))
    judge_kinds.judge_kinds.cache_clear()
    yield
    judge_kinds.judge_kinds.cache_clear()


def _config(tmp_path: Path, judge: dict[str, Any]) -> Path:
    write_prompt_set(tmp_path, 4)
    return write_run_config(tmp_path, judges=[judge])


def test_a_plugin_judge_runs_from_a_config_and_reaches_the_report(tmp_path: Path, plugin: None) -> None:
    config = _config(tmp_path, {"judge": "longer", "kind": "longer", "options": {"margin": 2}})
    run = evalkit.run(config, progress=False)
    assert {j.source for j in run.records.judgments} == {"reward:longer>2"}
    [rate] = run.win_rates()
    assert (rate.model_a, rate.wins, rate.n) == (
        "echo",
        4,
        4,
    )  # echo repeats the question: longer than "Yes."
    assert run.meta.judges[0].kind == "pairwise" and run.meta.judges[0].fingerprint == "longer-2"
    assert "reward:longer&gt;2" in (run.path / "report.html").read_text()


def test_a_plugin_that_returns_no_judge_is_a_clear_error(tmp_path: Path, plugin: None) -> None:
    config = _config(tmp_path, {"judge": "x", "kind": "broken"})
    with pytest.raises(ConfigError, match=r"judges\[0\]: judge kind 'broken' .* neither PairwiseJudge"):
        evalkit.run(config, progress=False)


def test_an_unknown_kind_names_the_field(tmp_path: Path) -> None:
    config = _config(tmp_path, {"judge": "x", "kind": "nope"})
    with pytest.raises(
        ConfigError, match=r"judges\[0\]\.kind: unknown judge kind 'nope'; known kinds: .*llm"
    ):
        evalkit.run(config, progress=False)
