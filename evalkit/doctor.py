"""``evalkit doctor``: what is installed, and whether each local backend really runs here.

Each backend is probed in a child process, so a build that crashes (llama.cpp compiled for
another CPU dies with SIGILL) becomes one line naming the cause and the fix instead of
killing the doctor. Only what the defaults need (the ``local`` extra, the packaged model,
llama.cpp) fails the check; the rest is reported.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

from packaging.requirements import Requirement
from rich.console import Console
from rich.markup import escape

from evalkit.errors import EvalkitError
from evalkit.llama_build import compiled_features

Status = Literal["ok", "info", "warn", "FAIL"]

EXTRAS = ("local", "server", "api", "vllm")
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "amx_tile", "amx_int8")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
LLAMA_FIX = "make clean && make install (builds llama.cpp with the portable flags of mk/llama.mk)"
NO_AVX2_FIX = (
    "this CPU lacks AVX2, which the portable build needs; build for it: "
    "make clean && make install LLAMA_CMAKE_ARGS=-DGGML_NATIVE=ON"
)
VLLM_FIX = "rm -rf .venv-vllm && make vllm-env"
CPUINFO = Path("/proc/cpuinfo")
AVX512_PRESET_FLAGS = frozenset({"avx512f", "avx512bw", "avx512vbmi", "avx512_vnni", "avx512_bf16"})


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's report."""

    status: Status
    label: str
    detail: str


def run_probe(command: Sequence[str], *, timeout: float, fix: str) -> tuple[bool, str]:
    """Run a probe child; return (ok, its last stdout line or one line saying why it failed)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return False, f"no answer within {timeout:.0f} s; fix: {fix}"
    except OSError as exc:
        return False, f"could not start {command[0]}: {exc.strerror}; fix: {fix}"
    if done.returncode < 0:
        return False, f"{crash_cause(-done.returncode)}; fix: {fix}"
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        errors = done.stderr.strip().splitlines()
        last = errors[-1] if errors else "no output"
        return False, f"exited with status {done.returncode}: {last}; fix: {fix}"
    return True, lines[-1]


def crash_cause(signal_number: int) -> str:
    """Name a fatal signal and what it usually means for a native library."""
    try:
        name = signal.Signals(signal_number).name
    except ValueError:
        return f"crashed with signal {signal_number}"
    if signal_number == signal.SIGILL:
        return (
            "crashed with SIGILL (illegal instruction): it was compiled for CPU features this machine "
            "lacks or cannot use (a native or AMX build, or a wheel built on another machine)"
        )
    return f"crashed with {name} ({signal.strsignal(signal_number) or name})"


def probe_llama_cpp(
    model: Path, *, python: str = sys.executable, timeout: float = 180, fix: str = LLAMA_FIX
) -> tuple[Finding, frozenset[str]]:
    """Load ``model`` in llama.cpp in a child process and generate one token.

    Returns:
        The finding, and the CPU features llama.cpp was compiled for (empty when it failed).

    """
    command = [python, "-m", "evalkit.doctor_probe", str(model)]
    ok, detail = run_probe(command, timeout=timeout, fix=fix)
    if not ok:
        return Finding("FAIL", "llama.cpp", detail), frozenset()
    try:
        result = json.loads(detail)
    except ValueError:
        return Finding(
            "FAIL", "llama.cpp", f"unexpected probe output {detail[:200]!r}; fix: {fix}"
        ), frozenset()
    features = compiled_features(result["system_info"])
    summary = f"loaded the model and generated {result['token']!r} in {result['seconds']} s"
    return Finding("ok", "llama.cpp", f"{summary} (compiled for: {' '.join(sorted(features))})"), features


def avx512_hint(cpuinfo: Path, features: frozenset[str]) -> Finding | None:
    """Point an AVX2 build on a CPU with AVX-512 VNNI/VBMI/BF16 at the faster LLAMA_CPU=avx512."""
    flags = set(cpu_fields(cpuinfo).get("flags", "").split())
    if not features or "AVX512" in features or not flags >= AVX512_PRESET_FLAGS:
        return None
    return Finding(
        "info",
        "llama.cpp speed",
        "this CPU has AVX-512 VNNI: make clean && make install LLAMA_CPU=avx512 evaluates prompts "
        "faster (that build runs only on such CPUs)",
    )


def probe_vllm(venv: Path, *, timeout: float = 300) -> Finding:
    """Import vLLM in its own virtualenv (``make vllm-env``), in a child process."""
    python = venv / "bin" / "python"
    if not python.exists():
        return Finding("info", "vllm", f"{venv.name} not set up (optional: make vllm-env)")
    command = [str(python), "-c", "import vllm; print('vllm', vllm.__version__)"]
    ok, detail = run_probe(command, timeout=timeout, fix=VLLM_FIX)
    return Finding("ok" if ok else "warn", "vllm", f"{venv}: {detail}" + (" imports" if ok else ""))


def environment() -> list[Finding]:
    """evalkit, Python, platform and the CPU features that decide which llama.cpp build runs."""
    from evalkit import __version__

    return [
        Finding("info", "evalkit", __version__),
        Finding("info", "python", f"{platform.python_version()} ({sys.executable})"),
        Finding("info", "platform", f"{platform.platform()} ({platform.machine()})"),
        Finding("info", "cpu", cpu_summary(CPUINFO)),
    ]


def cpu_fields(cpuinfo: Path) -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo ("model name", "flags", ...); {} elsewhere."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    pairs = (line.partition(":") for line in text.split("\n\n")[0].splitlines())
    return {key.strip(): value.strip() for key, _, value in pairs}


def cpu_summary(cpuinfo: Path) -> str:
    """The CPU model and which of the relevant instruction-set flags it has."""
    fields = cpu_fields(cpuinfo)
    if not fields:
        return f"unknown (no {cpuinfo})"
    flags = set(fields.get("flags", "").split())
    marks = ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in CPU_FLAGS)
    return f"{fields.get('model name', 'unknown model')}: {marks}"


def llama_fix(cpuinfo: Path) -> str:
    """How to repair a llama.cpp that crashes: the portable build, or a native one without AVX2."""
    flags = cpu_fields(cpuinfo).get("flags", "").split()
    return NO_AVX2_FIX if flags and "avx2" not in flags else LLAMA_FIX


def extra_packages(distribution: str, extra: str) -> list[Requirement]:
    """The requirements an installed distribution lists for one of its extras, theirs included.

    ``llama-cpp-python[server]`` brings the server's own packages (uvicorn, fastapi, ...).
    """
    listed = [Requirement(text) for text in metadata.requires(distribution) or []]
    wanted = [r for r in listed if r.marker is not None and r.marker.evaluate({"extra": extra})]
    nested = []
    for requirement in wanted:
        for sub_extra in sorted(requirement.extras):
            try:
                nested.extend(extra_packages(requirement.name, sub_extra))
            except metadata.PackageNotFoundError:
                continue  # the package itself is reported missing
    return list({r.name: r for r in [*wanted, *nested]}.values())


def extra_finding(extra: str) -> Finding:
    """Which of an extra's packages are present, with versions; missing ones named."""
    present, missing = [], []
    for requirement in extra_packages("evalkit", extra):
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(requirement.name)
            continue
        fits = requirement.specifier.contains(version, prereleases=True)
        present.append(
            f"{requirement.name} {version}" + ("" if fits else f" (wants {requirement.specifier})")
        )
    if not missing:
        return Finding("ok", f"extra {extra}", ", ".join(present))
    status: Status = "FAIL" if extra == "local" else "info" if extra == "vllm" else "warn"
    detail = f"missing {', '.join(missing)} (pip install 'evalkit[{extra}]')"
    if extra == "vllm":
        detail = "not in this environment (vLLM lives in .venv-vllm)"
    return Finding(status, f"extra {extra}", detail + (f"; present: {', '.join(present)}" if present else ""))


def model_finding() -> tuple[Finding, Path | None]:
    """The packaged Gemma 3 270M model: found (assembled) or why not."""
    from evalkit.generators.llamacpp.backend import packaged_model_path

    try:
        path = packaged_model_path("gemma-3-270m")
    except EvalkitError as exc:
        return Finding("FAIL", "model", f"local/gemma-3-270m: {exc}"), None
    size = path.stat().st_size / 1e6
    return Finding("ok", "model", f"local/gemma-3-270m: {path} ({size:.0f} MB)"), path


def browser_findings() -> list[Finding]:
    """Chromium and chromedriver, which the report's browser tests drive (skipped without them)."""
    chromium = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    return [
        _tool_finding("chromium", chromium, "apt-get install -y chromium"),
        _tool_finding("chromedriver", driver, "apt-get install -y chromium-driver"),
    ]


def _tool_finding(label: str, path: str | None, install: str) -> Finding:
    if path is None:
        return Finding("warn", label, f"not found; the browser tests skip ({install})")
    ok, version = run_probe([path, "--version"], timeout=60, fix=install)
    return Finding("ok" if ok else "warn", label, f"{path}: {version}")


def project_root() -> Path:
    """The source checkout evalkit runs from (editable install), else the working directory."""
    source = Path(__file__).resolve().parents[1]
    return source if (source / "pyproject.toml").is_file() else Path.cwd()


def collect() -> list[Finding]:
    """Every finding, in the order printed."""
    findings = [*environment(), *(extra_finding(extra) for extra in EXTRAS)]
    model, path = model_finding()
    findings.append(model)
    if importlib.util.find_spec("llama_cpp") is None:
        findings.append(Finding("FAIL", "llama.cpp", f"llama-cpp-python is not installed; fix: {LLAMA_FIX}"))
    elif path is None:
        findings.append(Finding("warn", "llama.cpp", "not probed: no model to load"))
    else:
        finding, features = probe_llama_cpp(path, fix=llama_fix(CPUINFO))
        hint = avx512_hint(CPUINFO, features)
        findings.extend([finding] if hint is None else [finding, hint])
    findings.append(probe_vllm(project_root() / ".venv-vllm"))
    return [*findings, *browser_findings()]


def run_doctor(console: Console) -> None:
    """Print every finding; raise EvalkitError when something the defaults need is broken."""
    findings = collect()
    for finding in findings:
        console.print(f"{finding.status:<5} {finding.label:<16} {escape(finding.detail)}", highlight=False)
    failed = [finding.label for finding in findings if finding.status == "FAIL"]
    if failed:
        raise EvalkitError(f"evalkit doctor: {', '.join(failed)} broken (see FAIL above)")
