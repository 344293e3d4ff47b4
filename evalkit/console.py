"""The consoles the command line prints through.

Rich wraps to 80 columns whenever output is not a terminal, which cuts model names, specs and
paths in tables that are piped to a file or a pager. Piped output gets a wide, fixed width
instead; a terminal (or an explicit ``COLUMNS``) keeps its own.
"""

from __future__ import annotations

import os

from rich.console import Console

PIPED_WIDTH = 140


def cli_console(*, stderr: bool = False) -> Console:
    """A console for command output: the terminal's width, or ``PIPED_WIDTH`` when piped."""
    console = Console(stderr=stderr)
    if console.is_terminal or "COLUMNS" in os.environ:
        return console
    return Console(stderr=stderr, width=PIPED_WIDTH)
