"""Progress bars per stage with done/total, cache hits and errors (rich)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class StageProgress:
    """One bar per stage; a no-op when disabled (tests, notebooks that opt out)."""

    def __init__(self, *, enabled: bool = True, console: Console | None = None) -> None:
        self._progress: Progress | None = None
        if enabled:
            self._progress = Progress(
                TextColumn("{task.description:<12}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("cached {task.fields[hits]}  errors {task.fields[errors]}"),
                TimeElapsedColumn(),
                console=console or Console(stderr=True),
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
        if self._progress is not None:
            self._tasks[name] = self._progress.add_task(name, total=total, completed=done, hits=0, errors=0)

    def advance(self, name: str, *, hits: int, errors: int) -> None:
        """One more item finished in a stage; hits and errors are the stage's running totals."""
        if self._progress is not None and name in self._tasks:
            self._progress.update(self._tasks[name], advance=1, hits=hits, errors=errors)
