"""The report in a real headless Chromium: it renders, its script runs, and injected markup does not."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM_ARGS, chromium_binary
from report_helpers import make_records

from evalkit.report import build_report

pytestmark = pytest.mark.browser

TITLE = "Browser check"


def _chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [*CHROMIUM_ARGS, f"--user-data-dir={profile}"]
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    return build_report(
        make_records(16, ("lima", "alpaca", "gpt")), out / "report.html", title=TITLE, n_boot=100
    )


@pytest.fixture(scope="module")
def dom(report: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    profile = tmp_path_factory.mktemp("profile")
    return _chromium(chromium_binary(), profile, "--dump-dom", report.as_uri()).stdout


def test_report_renders_with_charts(dom: str) -> None:
    assert f"<title>{TITLE}</title>" in dom
    # 5 section charts (the human labels section adds one), one by-category chart per comparison and
    # verdict source (2 judged by the LLM, 1 by the annotator) and one per graded system (3)
    assert len(re.findall(r"<svg\b", dom)) == 5 + 3 + 3
    assert dom.count('class="example"') == 16


def test_filter_script_ran(dom: str) -> None:
    """The page's own script ran, so the payload below had every chance to run too."""
    assert re.search(r'<form class="filters" id="filters">', dom)
    assert "16 of 16 shown" in dom


def test_injected_markup_is_text_and_did_not_execute(dom: str) -> None:
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None and "data-pwned" not in body.group(0)
    assert "PWNED" not in re.search(r"<title>.*?</title>", dom, re.S).group(0)  # type: ignore[union-attr]
    assert "&lt;script&gt;document.title='PWNED'" in dom
    assert "&lt;img src=x onerror=" in dom
    assert len(re.findall(r"<script\b", dom)) == 1
    assert "<img" not in dom


def test_screenshot(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    _chromium(
        chromium_binary(),
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        report.as_uri(),
    )
    assert shot.stat().st_size > 10_000


def test_filter_from_address_shows_exactly_the_matching_examples(report: Path, tmp_path: Path) -> None:
    url = report.as_uri() + "#examples?cmp=c0&src=s0&outcome=b"
    dom = _chromium(chromium_binary(), tmp_path / "profile", "--dump-dom", url).stdout
    articles = re.findall(r'<article class="example"[^>]*>', dom)
    assert len(articles) == 16
    shown = [a for a in articles if " hidden" not in a]
    assert shown, "the synthetic run has examples where the second-named system won"
    for article in articles:
        tokens = re.search(r'data-tokens="([^"]*)"', article).group(1).split()  # type: ignore[union-attr]
        assert ("v|c0|s0|b" in tokens) == (article in shown)
    assert f"{len(shown)} of 16 shown" in dom
