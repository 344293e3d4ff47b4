"""Shared pytest options: opt-in flags for paid APIs, and the path to the shared public data."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

# Some dev dependencies (ppi-python) install a top-level "tests" package, which would win over
# this folder in `from tests.x import ...`; bind the name to this folder before any test imports.
if getattr(sys.modules.get("tests"), "__path__", None) != [str(Path(__file__).resolve().parent)]:
    _local_tests = types.ModuleType("tests")
    _local_tests.__path__ = [str(Path(__file__).resolve().parent)]
    sys.modules["tests"] = _local_tests

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-api", action="store_true", help="run live tests against paid APIs (needs keys)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-api"):
        return
    skip_api = pytest.mark.skip(reason="live API test: pass --run-api and set the provider's key")
    for item in items:
        if "api" in item.keywords:
            item.add_marker(skip_api)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public data folder beside the checkout; skips the test where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"public data not found at {SHARED_DATA} (it lives in ../shared/data beside the checkout)"
        )
    return SHARED_DATA
