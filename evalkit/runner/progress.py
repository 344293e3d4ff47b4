"""Progress bars per stage with done/total, cache hits and errors (rich).

Rich draws live bars in a terminal, and in Jupyter through ipywidgets. In a notebook without
ipywidgets (not a dependency), live bars would only warn on every refresh, so a plain line
per tenth of each stage is printed instead.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

TEXT_STEPS = 10
"""Lines a stage prints in the plain-text fallback (one per tenth done, plus the first)."""


def live_bars_supported(console: Console) -> bool:
    """False inside Jupyter without ipywidgets, where rich cannot redraw a bar in place."""
    return not console.is_jupyter or importlib.util.find_spec("ipywidgets") is not None


@dataclass
class _TextStage:
    total: int
    done: int
    printed_step: int = -1


class TextProgress:
    """Progress as plain lines: "generate   12/40  cached 3  errors 0"."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._stages: dict[str, _TextStage] = {}

    def stage(self, name: str, total: int, done: int) -> None:
        """Start a stage and print its first line."""
        self._stages[name] = _TextStage(total, done)
        self._report(name, hits=0, errors=0)

    def advance(self, name: str, *, hits: int, errors: int) -> None:
        """Count one item; print when a new tenth of the stage is done."""
        if name in self._stages:
            self._stages[name].done += 1
            self._report(name, hits=hits, errors=errors)

    def _report(self, name: str, *, hits: int, errors: int) -> None:
        stage = self._stages[name]
        step = TEXT_STEPS if not stage.total else stage.done * TEXT_STEPS // stage.total
        if step == stage.printed_step:
            return
        stage.printed_step = step
        self.console.print(
            f"{name:<12} {stage.done}/{stage.total}  cached {hits}  errors {errors}", highlight=False
        )


class StageProgress:
    """One bar per stage; a no-op when disabled (tests, notebooks that opt out)."""

    def __init__(self, *, enabled: bool = True, console: Console | None = None) -> None:
        self._progress: Progress | None = None
        self._text: TextProgress | None = None
        console = console or Console(stderr=True)
        if enabled and not live_bars_supported(console):
            self._text = TextProgress(console)
        elif enabled:
            self._progress = Progress(
                TextColumn("{task.description:<12}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("cached {task.fields[hits]}  errors {task.fields[errors]}"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> StageProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def stage(self, name: str, total: int, *, done: int = 0) -> None:
        """Start a stage's bar; ``done`` counts records already on disk from an earlier run."""
        if self._text is not None:
            self._text.stage(name, total, done)
        if self._progress is not None:
            self._tasks[name] = self._progress.add_task(name, total=total, completed=done, hits=0, errors=0)

    def advance(self, name: str, *, hits: int, errors: int) -> None:
        """One more item finished in a stage; hits and errors are the stage's running totals."""
        if self._text is not None:
            self._text.advance(name, hits=hits, errors=errors)
        if self._progress is not None and name in self._tasks:
            self._progress.update(self._tasks[name], advance=1, hits=hits, errors=errors)
