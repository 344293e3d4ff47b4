"""The notebook and script API: run an experiment, load a finished run, read its tables."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from evalkit import run_tables, stats
from evalkit.analysis.ablation import SCORE_KINDS, ScoreKind, run_ablations
from evalkit.analysis.judges import compare_run_judges, judge_usage
from evalkit.analysis.shift_records import ShiftAnswer, load_shift
from evalkit.errors import ConfigError
from evalkit.interop.leaderboard import alpaca_eval_leaderboard, length_control
from evalkit.report import build_report, summary_html
from evalkit.report.context import verdicts_of
from evalkit.report.pairwise_view import PairwiseTables
from evalkit.run_humans import Grouping, HumanTables
from evalkit.runner.config import RunConfig, load_config, parse_config
from evalkit.runner.meta import RunMeta, RunRecords
from evalkit.runner.pipeline import Pipeline
from evalkit.runner.rundir import RunDir
from evalkit.stats import ablation as stats_ablation
from evalkit.stats import shift as stats_shift
from evalkit.stats.judge_compare import JudgeComparison

T = TypeVar("T")
ConfigLike = RunConfig | Mapping[str, Any] | str | Path


class Run(HumanTables):
    """A run folder loaded for analysis: records, statistics and tables.

    Attributes:
        path: The run folder (reports/<name>).
        records: Everything the run stored.

    """

    def __init__(self, path: Path, records: RunRecords) -> None:
        self.path = path
        self.records = records

    @property
    def meta(self) -> RunMeta:
        """The run record (run.json): config, fingerprints, versions, status, executions."""
        return self.records.meta

    @property
    def name(self) -> str:
        """The run's name."""
        return self.meta.name or (self.meta.config.name if self.meta.config else "") or self.path.name

    @property
    def status(self) -> str:
        """Run status: complete, running (or killed), interrupted or stopped_at_budget."""
        return self.meta.status

    @property
    def seed(self) -> int:
        """The run's seed, reused for bootstrap intervals."""
        return self.meta.seed

    @cached_property
    def prompts(self) -> dict[str, Any]:
        """Prompts by id."""
        return {p.id: p for p in self.records.prompts}

    @cached_property
    def verdicts(self) -> list[stats.Verdict]:
        """Pairwise verdicts: orders reconciled, judge samples aggregated, plus the panel if configured."""
        return verdicts_of(self.records)

    def _interval(self) -> dict[str, Any]:
        return {"seed": self.seed, "n_boot": self.meta.n_boot, "confidence": self.meta.confidence}

    def win_rates(self, by: Grouping = "all") -> list[stats.WinRate]:
        """Win/tie/loss counts and win rates with bootstrap intervals (the run's n_boot and confidence)."""
        return stats.win_rates(self.verdicts, self.prompts, by=by, **self._interval())

    def grades(self, by: Grouping = "all") -> list[stats.GradeDistribution]:
        """Grade distributions per system with intervals."""
        return stats.grade_distributions(self.records.grades, self.prompts, by=by, **self._interval())

    @cached_property
    def _tables(self) -> PairwiseTables:
        return run_tables.pairwise_tables(self.records, self.verdicts)

    def leaderboard(self, sources: Sequence[str] | None = None, *, pool: bool = False) -> pd.DataFrame:
        """Bradley-Terry ratings with bootstrap intervals, as the report shows them.

        Args:
            sources: Keep only these verdict sources (judges, ``human:<name>``, ``panel:<name>``).
            pool: Fit one leaderboard over the verdicts of ``sources`` together (default: every
                source but the panel, which is made of the other judges' verdicts).

        Returns:
            One row per (source, system), best first within each source: score, interval,
            rank, and against the common baseline (if any) the raw, length-controlled and
            AlpacaEval length-controlled win rates. Without ``pool`` a source is ranked when it
            compared at least three systems, like the report.

        Raises:
            ConfigError: A source in ``sources`` has no verdicts in this run.

        """
        known = {v.source for v in self.verdicts}
        unknown = sorted(set(sources or ()) - known)
        if unknown:
            in_run = ", ".join(sorted(known))
            raise ConfigError(f"no verdicts from source {', '.join(unknown)}; sources in this run: {in_run}")
        if pool:
            return run_tables.pooled_leaderboard(self.records, self.verdicts, sources)
        boards = run_tables.leaderboards(self.records, self.verdicts, self._tables)
        if sources is None:
            return boards
        return boards[boards["source"].isin(list(sources))].reset_index(drop=True)

    def split_gaps(self) -> pd.DataFrame:
        """In- vs out-of-distribution win rate gap per comparison and source (empty without both splits)."""
        return run_tables.split_gaps(self._tables)

    def length_controlled(self) -> pd.DataFrame:
        """Length-controlled win rate per comparison and source, as in the report."""
        return run_tables.length_controlled(self._tables)

    def diagnostics(self) -> list[stats.JudgeDiagnostics]:
        """Judge diagnostics: position flips, ties, unparsed verdicts, length bias."""
        systems = {s.name: s.model for s in self.meta.config.systems} if self.meta.config else {}
        return stats.judge_diagnostics(self.records.judgments, self.records.responses, systems)

    def judge_diagnostics(self) -> pd.DataFrame:
        """``diagnostics`` as a tidy frame: parse rate, position consistency, ties, length bias, warnings."""
        return run_tables.diagnostics_frame(self.diagnostics())

    @cached_property
    def shift_answers(self) -> list[ShiftAnswer]:
        """Token distribution shift records (shift.jsonl; see ``evalkit analyze shift``)."""
        return load_shift(self.path)

    def shift(self, by: Grouping = "all") -> list[stats_shift.ShiftShares]:
        """Unshifted / marginal / shifted token shares per (base, aligned) pair, with 95% intervals."""
        return stats_shift.shift_shares(self.shift_answers, self.prompts, by=by, seed=self.seed)

    def ablation(self, kinds: Sequence[ScoreKind] = SCORE_KINDS) -> list[stats_ablation.Ablation]:
        """Scores against the systems' attributes, one ablation per available score.

        Args:
            kinds: Which scores: "likert" (mean of a numeric grade scale), "excellent" (share
                of excellent grades), "win_rate" (against the configured baseline).

        Returns:
            Per score: each system's score with a 95% interval, a fitted trend per varying
            numeric attribute and the mean per value of each categorical one (empty when no
            attribute varies across the systems).

        """
        return run_ablations(self.records, self.verdicts, kinds=kinds, seed=self.seed)

    def judge_comparison(self) -> list[JudgeComparison]:
        """Every pairwise judge side by side (see ``evalkit judges compare``)."""
        return compare_run_judges(self.records, self.meta, seed=self.seed)

    def to_pandas(self, table: str = "win_rates", by: Grouping = "all") -> pd.DataFrame:
        """A table as a DataFrame.

        Tables: win_rates, grades (one row per label), leaderboard (one per verdict source),
        split_gaps, length_controlled, diagnostics (one row per judge), agreement, confusion,
        corrected_win_rates, responses, judgments, grade_records, alpaca_eval (AlpacaEval's
        published leaderboard fields), length_control (AlpacaEval's length-controlled fits).
        """
        tables = {
            "win_rates": lambda: stats.to_frame(self.win_rates(by)),
            "grades": lambda: run_tables.grades_frame(self.grades(by)),
            "leaderboard": lambda: self.leaderboard(),
            "split_gaps": lambda: self.split_gaps(),
            "length_controlled": lambda: self.length_controlled(),
            "diagnostics": lambda: self.judge_diagnostics(),
            "agreement": lambda: self.agreement(by),
            "confusion": lambda: self.confusion(by),
            "corrected_win_rates": lambda: self.corrected_win_rates(by),
            "responses": lambda: _records_frame(self.records.responses),
            "judgments": lambda: _records_frame(self.records.judgments),
            "grade_records": lambda: _records_frame(self.records.grades),
            "alpaca_eval": lambda: stats.to_frame(alpaca_eval_leaderboard(self.records)),
            "length_control": lambda: stats.to_frame(length_control(self.records, seed=self.seed)),
        }
        if table not in tables:
            raise ConfigError(f"unknown table {table!r}; choose one of: {', '.join(tables)}")
        return tables[table]()

    def report(self, path: Path | None = None) -> Path:
        """Write (or rewrite) the HTML report; returns its path."""
        return build_report(
            self.records,
            path or self.path / "report.html",
            shift=self.shift_answers,
            judge_usage=judge_usage(self.meta),
        )

    def _repr_html_(self) -> str:
        return summary_html(self.records)

    def __repr__(self) -> str:
        r = self.records
        return (
            f"Run({self.name!r}, status={self.status!r}, responses={len(r.responses)}, "
            f"judgments={len(r.judgments)}, grades={len(r.grades)})"
        )


def _records_frame(records: Any) -> pd.DataFrame:
    return pd.DataFrame([r.model_dump() for r in records])


def load_run(path: str | Path) -> Run:
    """Load a run folder written by ``evalkit run``."""
    run_dir = RunDir(Path(path), create=False)
    return Run(run_dir.path, run_dir.load_records())


def _as_config(config: ConfigLike, overrides: Mapping[str, Any]) -> RunConfig:
    if isinstance(config, RunConfig):
        return config.model_copy(update=dict(overrides)) if overrides else config
    if isinstance(config, str | Path):
        return load_config(Path(config), dict(overrides))
    return parse_config({**config, **{k: v for k, v in overrides.items() if v is not None}})


async def run_async(
    config: ConfigLike,
    *,
    use_cache: bool = True,
    progress: bool = True,
    report: bool = True,
    detach: bool = False,
    **overrides: Any,
) -> Run:
    """Run (or resume) an experiment and return the loaded Run.

    Args:
        config: A RunConfig, a config mapping, or the path of a YAML config.
        use_cache: Answer repeated requests from the SQLite cache.
        progress: Show progress bars.
        report: Write report.html when done.
        detach: Submit provider batches and return at once (raises BatchesPendingError while
            any is pending); running again collects them.
        **overrides: Config fields to override (limit=, seed=, concurrency=, name=, ...).

    """
    resolved = _as_config(config, overrides)
    run_dir = await Pipeline(resolved, use_cache=use_cache, show_progress=progress, detach=detach).execute()
    loaded = load_run(run_dir.path)
    if report:
        loaded.report()
    return loaded


def run(config: ConfigLike, **kwargs: Any) -> Run:
    """Synchronous ``run_async``; also works inside Jupyter's running event loop."""
    return run_sync(run_async(config, **kwargs))


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, in a helper thread when a loop is already running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # A running loop (Jupyter) can't be re-entered; a fresh loop in a worker thread can run it.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
