"""Screenshot every section of a report at 1400 px wide in headless Chromium.

The report is built from the synthetic run in tests/report_showcase.py (categories of very
different sizes, both splits, a pairwise judge with partial verdict probabilities, a
fail/pass/excellent grader, a Likert 1-6 grader, an annotator). Each ``<section id=...>`` is
saved as docs/screenshots/report-<id>.png (a taller section also as report-<id>-<n>.png,
one per judge block), cut at ``--max-height`` CSS pixels and reduced to a
256-colour palette so each file stays small.

Usage (from the repository root, with the dev environment):

    python docs/screenshots/make_report_screenshots.py [--out docs/screenshots] [--max-height 3200]

Needs Playwright (``pip install playwright``) and a system Chromium (Debian: ``apt-get install
chromium``); it never downloads a browser.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from browser_helpers import BROWSERS, CHROMIUM_ARGS  # noqa: E402
from report_showcase import showcase_records  # noqa: E402

from evalkit.report import build_report  # noqa: E402

WIDTH = 1400


def chromium() -> str:
    """The system Chromium binary."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("no Chromium on the PATH (Debian: apt-get install -y chromium)")


def shoot(report: Path, out: Path, max_height: int) -> list[Path]:
    """Save one PNG per report section; return their paths."""
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
        page.goto(report.as_uri())
        for section in page.query_selector_all("section[id]"):
            box = section.bounding_box()
            if box is None or box["height"] == 0:
                continue
            name = section.get_attribute("id")
            saved.append(_shot(page, box, out / f"report-{name}.png", max_height))
            if box["height"] <= max_height:
                continue
            for number, block in enumerate(section.query_selector_all(":scope > .judge-block"), start=1):
                block_box = block.bounding_box()
                if block_box is not None:  # a tall section: each judge's block on its own too
                    saved.append(_shot(page, block_box, out / f"report-{name}-{number}.png", max_height))
        browser.close()
    return saved


def _shot(page: Any, box: dict[str, float], path: Path, max_height: int) -> Path:
    clip = {"x": 0, "y": box["y"] - 8, "width": WIDTH, "height": min(box["height"] + 16, max_height)}
    page.screenshot(path=str(path), clip=clip, full_page=True)
    _shrink(path)
    return path


def _shrink(path: Path) -> None:
    """A 256-colour palette keeps UI screenshots sharp at a fraction of the size."""
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main() -> None:
    """Build the showcase report and screenshot its sections."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--max-height", type=int, default=3200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report = build_report(showcase_records(), Path(folder) / "report.html", n_boot=1000)
        for path in shoot(report, args.out, args.max_height):
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            print(f"{shown}  {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
