"""What the installed llama.cpp was compiled for, read without loading it into this process.

llama.cpp compiled with the build machine's native flags can contain instructions another
CPU lacks (AVX-512) or faults on (the AMX tile kernels), and dies with SIGILL. These helpers
find the libraries that llama-cpp-python ships, list the instruction families they use
(through ``objdump`` from binutils), and read the CPU features llama.cpp reports it was
compiled with.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

# Instruction families a portable x86-64 build must not contain, as objdump spells them.
RISKY_INSTRUCTIONS: Mapping[str, re.Pattern[str]] = {
    "AMX": re.compile(r"\b(ldtilecfg|sttilecfg|tileloadd\w*|tilestored|tilezero|tilerelease|tdp\w+)\b"),
    "AVX-512": re.compile(r"%zmm\d+|%k[1-7]\b"),
}

# CPU features llama.cpp reports (llama_print_system_info) that a GGML_<NAME> option controls.
REPORTED_FEATURES = frozenset(
    {
        "AVX",
        "AVX2",
        "AVX_VNNI",
        "FMA",
        "F16C",
        "BMI2",
        "AVX512",
        "AVX512_VBMI",
        "AVX512_VNNI",
        "AVX512_BF16",
        "AMX_INT8",
    }
)


def library_dir() -> Path | None:
    """The folder of llama-cpp-python's shared libraries, or None where it is not installed."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "lib"
    return folder if folder.is_dir() else None


def shared_libraries(folder: Path) -> list[Path]:
    """The distinct shared libraries (``.so``, ``.dylib``) in a folder.

    Wheels cannot hold symlinks, so ``libggml.so``, ``libggml.so.0`` and ``libggml.so.0.9.4``
    are three copies of one file: only the first of identical files is listed.
    """
    seen: set[str] = set()
    distinct = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or not (".so" in path.suffixes or path.suffix == ".dylib"):
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            distinct.append(path)
    return distinct


def risky_instructions(library: Path, objdump: str = "objdump") -> dict[str, str]:
    """Disassemble a library and return, per risky family found, one example line.

    Raises:
        FileNotFoundError: ``objdump`` is not installed (Debian: apt-get install binutils).
        subprocess.CalledProcessError: ``objdump`` could not read the file.

    """
    if shutil.which(objdump) is None:
        raise FileNotFoundError(f"{objdump} not found; install binutils")
    listing = subprocess.run(
        [objdump, "-d", "--no-show-raw-insn", str(library)], capture_output=True, text=True, check=True
    ).stdout
    found: dict[str, str] = {}
    for family, pattern in RISKY_INSTRUCTIONS.items():
        match = pattern.search(listing)
        if match:
            start = listing.rfind("\n", 0, match.start()) + 1
            end = listing.find("\n", match.end())
            found[family] = listing[start : end if end >= 0 else None].strip()
    return found


def compiled_features(system_info: str) -> frozenset[str]:
    """Parse ``llama_print_system_info()`` ("CPU : AVX = 1 | AVX2 = 1 | ...") into feature names."""
    return frozenset(re.findall(r"\b([A-Z][A-Z0-9_]*) = 1\b", system_info))


def cmake_features(cmake_args: str) -> dict[str, bool]:
    """The reported CPU features that ``-DGGML_<NAME>=ON|OFF`` arguments switch on or off."""
    switches = re.findall(r"-DGGML_([A-Z0-9_]+)=(ON|OFF)\b", cmake_args)
    return {name: value == "ON" for name, value in switches if name in REPORTED_FEATURES}
