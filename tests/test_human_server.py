"""`evalkit label serve` as a real process: links printed at start, loopback only by default."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from browser_helpers import Server, free_port
from human_helpers import make_run, write_campaign


def test_campaign_annotators_get_links_at_start_and_only_once(tmp_path: Path) -> None:
    run = make_run(tmp_path, 3)
    campaign = write_campaign(tmp_path, annotators=["carol"])
    server = Server(run, campaign, free_port(), tmp_path / "server.log").start()
    try:
        output = server.log.read_text()
        link = re.search(r"annotator carol: (http://127\.0\.0\.1:\d+/start\?token=\S+)", output)
        assert link, output
        page = httpx.get(link.group(1), follow_redirects=True)
        assert page.status_code == 200 and page.url.path.startswith("/item/")
        assert httpx.get(f"{server.url}/start?token=wrong").status_code == 403
    finally:
        server.stop()
    server.start()  # a restart keeps carol's link and prints no new one for her
    try:
        assert server.log.read_text().count("annotator carol:") == 1
        assert httpx.get(link.group(1), follow_redirects=True).status_code == 200
    finally:
        server.stop()
