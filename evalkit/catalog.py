"""Named data: judges, prompt sets and system templates, found in one way with one error style.

Each kind is searched, first match winning, in: the folders of its environment variable
(``os.pathsep``-separated), the user's folder (``$XDG_CONFIG_HOME/evalkit/<kind>``, by
default ``~/.config/evalkit/<kind>``), then the copy bundled with evalkit (the project's
judges/ and prompts/ folders, installed inside the package and read through
``importlib.resources``, so a plain ``pip install`` has them too).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from evalkit.errors import UnknownSpecError


@dataclass(frozen=True)
class DataKind:
    """One kind of named data.

    Attributes:
        noun: What one item is called in messages ("judge").
        folder: The user folder's name under the config home, and the bundled subfolder.
        env: The environment variable naming extra folders to search first.
        bundle: The bundled folder it lives in ("judges" or "prompts": ``evalkit._bundled.<bundle>``).
        subdir: Subfolder of that package holding the items ("" for its top).
        suffixes: File endings of items; the name is the file's stem.

    """

    noun: str
    folder: str
    env: str
    bundle: str
    subdir: str
    suffixes: tuple[str, ...]


JUDGES = DataKind("judge", "judges", "EVALKIT_JUDGES_DIR", "judges", "", (".yaml", ".yml"))
PROMPT_SETS = DataKind(
    "prompt set",
    "prompts",
    "EVALKIT_PROMPTS_DIR",
    "prompts",
    "",
    (".jsonl", ".json", ".yaml", ".yml"),
)
TEMPLATES = DataKind(
    "template",
    "templates",
    "EVALKIT_TEMPLATES_DIR",
    "prompts",
    "templates",
    (".yaml", ".yml"),
)


def bundled_dir(kind: DataKind) -> Path:
    """The folder of the copy that ships with evalkit."""
    root = Path(str(files("evalkit._bundled"))) / kind.bundle
    if not root.is_dir():
        # A checkout or an editable install: the project's own top-level folder is the copy.
        root = Path(__file__).resolve().parents[1] / kind.bundle
    return root / kind.subdir if kind.subdir else root


def user_dir(kind: DataKind) -> Path:
    """The user's own folder for this kind (searched when it exists)."""
    home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(home) / "evalkit" / kind.folder


def search_dirs(kind: DataKind) -> tuple[Path, ...]:
    """Folders searched by name, first match winning: environment, user folder, bundled copy."""
    extra = [Path(p).expanduser() for p in os.environ.get(kind.env, "").split(os.pathsep) if p]
    return (*extra, user_dir(kind), bundled_dir(kind))


def entries(kind: DataKind, dirs: Sequence[Path] | None = None) -> dict[str, Path]:
    """Name -> file of every item found (in ``dirs``, default ``search_dirs``), earlier folders winning."""
    found: dict[str, Path] = {}
    for folder in reversed(tuple(search_dirs(kind) if dirs is None else dirs)):
        if folder.is_dir():
            found.update(
                {p.stem: p for p in sorted(folder.iterdir()) if p.suffix in kind.suffixes and p.is_file()}
            )
    return found


def find(kind: DataKind, name: str, dirs: Sequence[Path] | None = None) -> Path:
    """The file of a named item (searched in ``dirs``, default ``search_dirs``).

    Raises:
        UnknownSpecError: No item of that name; the message lists the known names and the folders searched.

    """
    known = entries(kind, dirs)
    if name in known:
        return known[name]
    searched = search_dirs(kind) if dirs is None else dirs
    raise UnknownSpecError(
        f"unknown {kind.noun} {name!r}; known {kind.noun}s: {', '.join(sorted(known)) or 'none'}. "
        f"Searched {', '.join(str(d) for d in searched)}; add a file there, set {kind.env}, or give a path"
    )
