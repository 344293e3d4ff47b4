"""Render the report: one self-contained HTML file (inline CSS, SVG and a small script; no network)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from evalkit.analysis.shift_records import ShiftAnswer
from evalkit.report.context import build_context, verdicts_of
from evalkit.report.formatting import ci, num, pct, pvalue
from evalkit.report.grades_view import build_grades, compute_distributions
from evalkit.report.header import build_header
from evalkit.report.index import build_index, token_part
from evalkit.report.pairwise_view import StatSettings, build_pairwise, compute_tables
from evalkit.runner.meta import RunRecords
from evalkit.runner.rundir import atomic_write_text
from evalkit.stats.intervals import SMALL_N

REPORT_FILE = "report.html"


@cache
def environment() -> Environment:
    """The template environment: package templates, autoescaping everywhere, strict about typos."""
    env = Environment(
        loader=PackageLoader("evalkit.report", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html", "j2"), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=pct, num=num, pvalue=pvalue, tokenize=token_part)
    env.globals.update(ci=ci, SMALL_N=SMALL_N)
    return env


def build_report(
    records: RunRecords,
    out_path: Path,
    *,
    title: str | None = None,
    seed: int | None = None,
    n_boot: int | None = None,
    confidence: float | None = None,
    shift: Sequence[ShiftAnswer] = (),
    judge_usage: tuple[Mapping[str, float], Mapping[str, float]] = ({}, {}),
) -> Path:
    """Write the run's HTML report and return its path.

    The file is replaced atomically: a reader (or a kill) never sees half a report.

    Args:
        records: Everything the run produced; ``records.meta`` is its run record.
        out_path: The file to write, or a directory to write ``report.html`` into.
        title: Page title (default: "evalkit report: <run name>").
        seed: Seed of every bootstrap (default: the run's), so the same records give the same report.
        n_boot: Bootstrap replicates per interval (default: the config's ``n_boot``).
        confidence: Interval coverage (default: the config's ``confidence``).
        shift: Token distribution shift records (the run folder's shift.jsonl), if any.
        judge_usage: Estimated USD and seconds per judge source, for the judge comparison.

    Returns:
        The path of the written file.

    """
    target = Path(out_path)
    if target.is_dir():
        target = target / REPORT_FILE
    settings = settings_of(records, seed=seed, n_boot=n_boot, confidence=confidence)
    context = build_context(records, title=title, settings=settings, shift=shift, judge_usage=judge_usage)
    html = environment().get_template("report.html.j2").render(ctx=context, evalkit_version=_version())
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, html)
    return target


def settings_of(
    records: RunRecords,
    *,
    seed: int | None = None,
    n_boot: int | None = None,
    confidence: float | None = None,
) -> StatSettings:
    """The statistics settings of a run's report: the run's own unless overridden."""
    meta = records.meta
    return StatSettings(
        seed=meta.seed if seed is None else seed,
        n_boot=meta.n_boot if n_boot is None else n_boot,
        confidence=meta.confidence if confidence is None else confidence,
    )


def summary_html(records: RunRecords) -> str:
    """A compact HTML fragment (win rates and grade summary) for a notebook's ``_repr_html_``.

    Numbers use the run's own settings (seed, replicates, coverage), so they match the report.
    """
    settings = settings_of(records)
    verdicts = verdicts_of(records)
    index = build_index(records, verdicts)
    tables = compute_tables(verdicts, records, settings)
    distributions = compute_distributions(records, settings)
    return (
        environment()
        .get_template("summary.html.j2")
        .render(
            name=build_header(records).name,
            pairwise=build_pairwise(tables, records, index, charts=False),
            grades=build_grades(distributions, records, index, charts=False),
        )
    )


def _version() -> str:
    try:
        return version("evalkit")
    except PackageNotFoundError:
        return "unknown"
