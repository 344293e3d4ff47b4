"""The installed llama.cpp is the portable build of mk/llama.mk: no AMX, no AVX-512, the make flags."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from evalkit.llama_build import (
    cmake_features,
    compiled_features,
    library_dir,
    risky_instructions,
    shared_libraries,
)

ROOT = Path(__file__).resolve().parents[1]


def make(*args: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("GNU make not installed")
    return subprocess.run(
        ["make", "-s", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def installed_libraries() -> list[Path]:
    folder = library_dir()
    if folder is None:
        pytest.skip("llama-cpp-python is not installed (make install)")
    if shutil.which("objdump") is None:
        pytest.skip("objdump not installed (Debian: apt-get install binutils)")
    return shared_libraries(folder)


def test_installed_llama_cpp_has_no_amx_and_no_avx512_unless_the_make_flags_ask() -> None:
    libraries = installed_libraries()
    assert any("ggml" in path.name for path in libraries), libraries
    allowed = {"AVX-512"} if cmake_features(make("llama-cmake-args")).get("AVX512") else set()
    found = {
        path.name: unexpected
        for path in libraries
        if (unexpected := {k: v for k, v in risky_instructions(path).items() if k not in allowed})
    }
    assert found == {}, f"not the build of mk/llama.mk (rebuild: make clean && make install): {found}"


def test_installed_llama_cpp_was_built_with_the_make_flags() -> None:
    wanted = cmake_features(make("llama-cmake-args"))
    import llama_cpp

    built = compiled_features(llama_cpp.llama_print_system_info().decode())
    if not wanted:
        pytest.skip("the make flags switch no CPU feature on or off on this architecture")
    assert {name: name in built for name in wanted} == wanted


def wheel_folder(dry_run: str) -> str:
    folders = {name.removesuffix(".tmp") for name in re.findall(r"\.cache/llama-cpp/[^/\s']+", dry_run)}
    assert len(folders) == 1, dry_run
    return folders.pop()


def test_new_flags_build_a_new_wheel_without_pip_cache_and_reinstall_the_venv(tmp_path: Path) -> None:
    venv = f"VENV={tmp_path / 'venv'}"
    portable = make("-n", "install", venv)
    native = make("-n", "install", venv, "LLAMA_CMAKE_ARGS=-DGGML_NATIVE=ON")
    assert wheel_folder(portable) != wheel_folder(native)
    build = next(line for line in native.splitlines() if "pip wheel" in line)
    assert "CMAKE_ARGS='-DGGML_NATIVE=ON'" in build
    assert "--no-cache-dir" in build
    assert f'--force-reinstall --no-deps "$(ls {wheel_folder(native)}/llama_cpp_python-' in native


def test_an_up_to_date_venv_is_reinstalled_only_when_the_flags_change(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / ".installed").touch()  # newer than pyproject.toml, mk/llama.mk and any wheel built so far
    native = "LLAMA_CMAKE_ARGS=-DGGML_NATIVE=ON"
    if (ROOT / make("llama-wheel-dir", native).strip()).exists():
        pytest.skip("a wheel with the test's flags exists here")
    assert "pip install" in make("-n", "install", f"VENV={venv}", native)
    if (ROOT / make("llama-wheel-dir").strip() / "cmake-args.txt").exists():
        assert "pip" not in make("-n", "install", f"VENV={venv}")


def test_the_vllm_venv_gets_the_same_wheel_and_follows_its_flags(tmp_path: Path) -> None:
    venv = tmp_path / "venv-vllm"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / ".installed").touch()
    plan = make("-n", "vllm-env", f"VLLM_VENV={venv}", "LLAMA_CMAKE_ARGS=-DGGML_NATIVE=ON")
    folder = wheel_folder(plan)
    assert f"{venv}/bin/python -m pip install --disable-pip-version-check -q --force-reinstall" in plan
    assert f'"$(ls {folder}/llama_cpp_python-' in plan
    assert folder == make("llama-wheel-dir", "LLAMA_CMAKE_ARGS=-DGGML_NATIVE=ON").strip()


@pytest.mark.parametrize(
    ("instruction", "family"),
    [
        ("ldtilecfg (%rdi)", "AMX"),
        ("tdpbssd %tmm2, %tmm1, %tmm0", "AMX"),
        ("vpaddd %zmm1, %zmm2, %zmm0", "AVX-512"),
    ],
)
def test_the_scan_finds_amx_and_avx512_in_a_library(tmp_path: Path, instruction: str, family: str) -> None:
    if shutil.which("gcc") is None or shutil.which("objdump") is None:
        pytest.skip("needs gcc and objdump")
    source = tmp_path / "risky.c"
    source.write_text(f'void risky(void) {{ __asm__ volatile("{instruction}"); }}\n')
    library = tmp_path / "librisky.so"
    built = subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), str(source)], capture_output=True)
    if built.returncode != 0:
        pytest.skip(f"this assembler does not know {instruction}: {built.stderr[-200:]!r}")
    assert set(risky_instructions(library)) == {family}


def test_the_scan_passes_plain_avx2_code(tmp_path: Path) -> None:
    if shutil.which("gcc") is None or shutil.which("objdump") is None:
        pytest.skip("needs gcc and objdump")
    source = tmp_path / "plain.c"
    source.write_text('void plain(void) { __asm__ volatile("vpaddd %ymm1, %ymm2, %ymm0"); }\n')
    library = tmp_path / "libplain.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    assert risky_instructions(library) == {}


def test_features_from_cmake_args_and_from_system_info() -> None:
    args = "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF"
    assert cmake_features(args) == {"AVX2": True, "AVX512": False, "AMX_INT8": False}
    info = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 0 | LLAMAFILE = 1 | "
    assert compiled_features(info) == {"SSE3", "AVX", "AVX2", "LLAMAFILE"}
