"""Find, read and validate judge definitions.

Judges are found by name through ``evalkit.catalog`` (``EVALKIT_JUDGES_DIR``, the user's
folder, then the judges bundled with evalkit), or anywhere when loaded by path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from evalkit.catalog import JUDGES, find, search_dirs
from evalkit.errors import ConfigError
from evalkit.judging.spec import JudgeSpec
from evalkit.judging.templates import JudgeTemplates

JUDGES_DIR_ENV = JUDGES.env
YAML_SUFFIXES = (".yaml", ".yml")


def default_judges_dirs() -> list[Path]:
    """Folders searched for judges by name (see ``evalkit.catalog``): $EVALKIT_JUDGES_DIR, user, bundled."""
    return list(search_dirs(JUDGES))


def load_judge(name_or_path: str | Path, *, search_dirs: Sequence[Path] | None = None) -> JudgeSpec:
    """Load and validate a judge by name (searched in the judges folders) or by file path.

    Args:
        name_or_path: A judge name such as "lima-pairwise", or a path to a YAML file.
        search_dirs: Folders to search by name; defaults to ``default_judges_dirs()``.

    Raises:
        UnknownSpecError: No judge of that name exists.
        ConfigError: The file is invalid; the message names the file and field.

    """
    path = _as_path(name_or_path)
    if path is not None:
        return _load_file(path)
    return _load_named(_find_by_name(str(name_or_path), search_dirs or default_judges_dirs()))


def list_judges(*, search_dirs: Sequence[Path] | None = None) -> list[JudgeSpec]:
    """All judges found in the judges folders, sorted by name (earlier folders win on clashes)."""
    found: dict[str, JudgeSpec] = {}
    for folder in search_dirs or default_judges_dirs():
        for path in sorted(_yaml_files(folder)):
            spec = _load_named(path)
            found.setdefault(spec.name, spec)
    return [found[name] for name in sorted(found)]


def _as_path(name_or_path: str | Path) -> Path | None:
    text = str(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or text.endswith(YAML_SUFFIXES) or os.sep in text
    if not looks_like_path:
        return None
    path = Path(text).expanduser()
    if not path.is_file():
        raise ConfigError(f"judge file {path} does not exist; check the path or load the judge by name")
    return path


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file()]


def _find_by_name(name: str, dirs: Sequence[Path]) -> Path:
    return find(JUDGES, name, dirs)


def _load_named(path: Path) -> JudgeSpec:
    """Load a judge found by name: its 'name' must match the file name, so lookups agree."""
    spec = _load_file(path)
    if spec.name != path.stem:
        raise ConfigError(
            f"{path}: field 'name' is {spec.name!r} but the file is named {path.name}; "
            f"rename the file to {spec.name}{path.suffix} or change 'name'"
        )
    return spec


def _load_file(path: Path) -> JudgeSpec:
    data = _read_yaml(path)
    if not isinstance(data.get("template") or {}, dict):
        raise ConfigError(f"{path}: field 'template' must be a mapping with 'system'/'user' or 'file'")
    template = dict(data.get("template") or {})
    template["file_text"] = _template_file_text(path, data.get("name"), template)
    data["template"] = template
    spec = _validate(path, data)
    JudgeTemplates(spec).check()
    return spec


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the judge file: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a judge file must be a YAML mapping with name, version, kind, ...")
    return data


def _template_file_text(path: Path, name: object, template: dict[str, Any]) -> str:
    if template.get("file_text"):
        raise ConfigError(f"{path}: field 'template.file_text' is filled by evalkit; use 'template.file'")
    file = template.get("file")
    if file is None and not template.get("user"):
        file = f"templates/{name}.j2"
    if file is None:
        return ""
    template_path = path.parent / str(file)
    try:
        return template_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{path}: field 'template.file': cannot read {template_path} ({exc.strerror}); "
            "give inline 'template.user' or a readable template file"
        ) from exc


def _validate(path: Path, data: dict[str, Any]) -> JudgeSpec:
    try:
        spec = JudgeSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid judge definition:\n{_describe(exc)}") from exc
    return spec.model_copy(update={"path": path})


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"  field '{field}': {error['msg']}")
    return "\n".join(lines)
