"""``pip install evalkit`` (not editable) has its judges, prompt sets and templates, and runs offline."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_for_the_wheel() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "evalkit").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


@pytest.mark.slow
def test_the_installed_wheel_runs_with_its_bundled_data(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        timeout=600,
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    target = next(venv.glob("lib/python*/site-packages"))
    # The wheel goes into the fresh environment; its dependencies come from this one, read
    # through a plain path entry (this environment's editable evalkit hook is not run there).
    (target / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    [wheel] = wheels.glob("evalkit-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    work = tmp_path / "work"
    work.mkdir()
    (work / "exp.yaml").write_text(
        "name: wheel-run\nprompts: lima_style\nlimit: 3\n"
        "systems:\n"
        "  - {name: short, model: fake/constant, template: icl-alignment, options: {text: 'Yes.'}}\n"
        "  - {name: echo, model: fake/echo}\n"
        "baseline: short\n"
        "judges:\n  - {judge: lima-pairwise, model: fake/script, options: {responses: ['A']}}\n"
        "  - {judge: lima-grade, model: fake/script, options: {responses: ['pass']}}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALKIT_")}
    python = venv / "bin" / "python"
    code = (
        "import sys, evalkit, evalkit.cli; "
        "assert 'site-packages' in evalkit.__file__, evalkit.__file__; "
        "sys.exit(evalkit.cli.main(['run', 'exp.yaml', '--quiet']))"
    )
    done = subprocess.run(
        [str(python), "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr + done.stdout
    report = work / "reports" / "wheel-run" / "report.html"
    assert report.stat().st_size > 10_000
    assert len((work / "reports" / "wheel-run" / "judgments.jsonl").read_text().splitlines()) == 2 * 3
