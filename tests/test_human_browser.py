"""The labeling app in a real headless Chromium, against `evalkit label serve` in a subprocess."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import Server, browser, free_port
from human_helpers import LOCAL_SYSTEM, SECRET_SYSTEMS, make_local_run, make_run, write_campaign

from evalkit.human.campaign import load_campaign
from evalkit.human.store import LabelStore
from evalkit.human.tasks import Catalog
from evalkit.runner.rundir import RunDir

pytestmark = pytest.mark.browser
SCREENSHOTS_ENV = "EVALKIT_SCREENSHOTS"


@pytest.fixture
def chromium() -> Iterator[Any]:
    with browser() as launched:
        yield launched


def annotators(run: Path, *names: str) -> dict[str, str]:
    store = LabelStore(run)
    tokens = {name: store.add_person(name) for name in names}
    store.close()
    return tokens


def admin_link(server: Server) -> str:
    links = re.findall(r"admin \(this link changes at every start\): (\S+)", server.log.read_text())
    assert links, server.log.read_text()
    return links[-1]


def press(page: Any, key: str) -> None:
    """Press a key that submits the form (or follows a link) and wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press(key)


def human_judgments(run: Path) -> list[Any]:
    return [j for j in RunDir(run, create=False).load_records().judgments if j.source.startswith("human:")]


def label_all(page: Any, key: str) -> int:
    """Answer every remaining item with one key; returns how many were answered."""
    count = 0
    while page.url.split("/")[-2] == "item":
        press(page, key)
        count += 1
    return count


def test_two_annotators_label_overlapping_items_with_the_keyboard_only(tmp_path: Path, chromium: Any) -> None:
    run = make_run(tmp_path, 6)
    campaign = write_campaign(tmp_path, tasks=[{"kind": "pairwise", "overlap": 4}])
    tokens = annotators(run, "alice", "bob")
    server = Server(run, campaign, free_port(), tmp_path / "server.log").start()
    try:
        pages = {name: chromium.new_context().new_page() for name in tokens}
        for name, page in pages.items():
            page.goto(f"{server.url}/start?token={tokens[name]}")
            for secret in SECRET_SYSTEMS:
                assert secret not in page.content()
        alice = pages["alice"]
        alice.set_viewport_size({"width": 1280, "height": 900})
        alice.screenshot(path=str(_screenshot_dir(tmp_path) / "annotator.png"), full_page=True)
        press(alice, "1")
        press(alice, "u")  # back to the first item, to change that answer
        assert alice.locator("#answered").is_visible()
        alice.keyboard.press("n")  # the note field takes the focus; typing goes there
        alice.keyboard.type("looked closely")
        alice.keyboard.press("Escape")
        press(alice, "3")
        label_all(alice, "1")
        label_all(pages["bob"], "2")
        assert "All done" in alice.content() and "All done" in pages["bob"].content()
        admin = chromium.new_context().new_page()
        admin.goto(admin_link(server))
        shot = _screenshot_dir(tmp_path) / "admin.png"
        admin.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 5_000
        rows = admin.locator("#agreement tbody tr").first.inner_text()
        assert "\t4\t" in rows  # four shared items so far
    finally:
        server.stop()
    for token in tokens.values():  # no access log: sign-in links never reach the server's output
        assert token not in server.log.read_text()
    judgments = human_judgments(run)
    by_person: dict[str, list[Any]] = {}
    for j in judgments:
        by_person.setdefault(j.source, []).append(j)
    catalog = Catalog(load_campaign(campaign), RunDir(run, create=False).load_records())
    for name in tokens:
        assert len(by_person[f"human:{name}"]) == len(catalog.queue(name, list(tokens)))
    shared = {j.prompt_id for j in by_person["human:alice"]} & {j.prompt_id for j in by_person["human:bob"]}
    assert shared == {t.prompt_id for t in catalog.tasks.values() if t.overlap}
    assert len(judgments) == 4 * 2 + 2  # the two other items went to one annotator each
    changed = [j for j in by_person["human:alice"] if j.label == "N"]
    assert len(changed) == 1 and changed[0].rationale == "looked closely"
    _the_report_shows_the_people(run, chromium)


def _the_report_shows_the_people(run: Path, chromium: Any) -> None:
    """The run's report, opened in the browser: human-human and judge-human agreement, corrected rates."""
    import evalkit

    report = evalkit.load_run(run).report()
    page = chromium.new_context().new_page()
    page.goto(report.as_uri())
    humans = page.locator("#humans")
    assert humans.is_visible()
    text = humans.inner_text()
    assert "human:alice" in text and "human:bob" in text
    assert "Judge–human agreement" in text and "Human–human agreement" in text
    assert "llm:lima-pairwise@fake/script" in text
    assert page.locator("#corrected").is_visible()
    assert "Judge win rates corrected by human labels" in text


def test_a_killed_server_loses_no_answered_label(tmp_path: Path, chromium: Any) -> None:
    run = make_run(tmp_path, 8)
    tokens = annotators(run, "alice")
    server = Server(run, None, free_port(), tmp_path / "server.log").start()
    page = chromium.new_context().new_page()
    try:
        page.goto(f"{server.url}/start?token={tokens['alice']}")
        for _ in range(3):
            press(page, "2")  # each press returns once the next page loaded: the answer is acknowledged
        server.kill()
        assert len(human_judgments(run)) == 3  # read straight from the killed server's files
        server.start()
        press(page, "1")  # the form was signed by the killed server: refused, nothing stored
        assert "reload the page" in page.content()
        page.goto(f"{server.url}/")
        assert "3 answered" in page.locator("#progress").inner_text()
        remaining = label_all(page, "1")
        server.kill()
    finally:
        server.stop()
    judgments = human_judgments(run)
    assert remaining == 5 and len(judgments) == 8
    assert sorted(j.label for j in judgments) == ["A"] * 5 + ["B"] * 3


def test_hostile_output_renders_inert(tmp_path: Path, chromium: Any) -> None:
    run = make_run(tmp_path, 2, hostile=True)
    tokens = annotators(run, "alice")
    server = Server(run, None, free_port(), tmp_path / "server.log").start()
    dialogs: list[str] = []
    try:
        page = chromium.new_context().new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{server.url}/start?token={tokens['alice']}")
        page.locator(".answer").first.hover()
        page.screenshot(path=str(_screenshot_dir(tmp_path) / "annotator-hostile.png"))
        assert "PWNED" not in page.title()
        assert page.evaluate("document.body.dataset.pwned") is None
        assert page.locator("main img").count() == 0 and page.locator("main b").count() == 0
        assert page.locator("textarea").count() == 1
        texts = page.locator(".answer").all_inner_texts()
        assert any("<script>document.title='PWNED'</script>" in t for t in texts)
        assert any("\u202eevil-rtl" in t and "zero\u200bwidth" in t for t in texts)
        press(page, "1")  # the page still works after a 1 MB answer
    finally:
        server.stop()
    assert dialogs == []
    assert len(human_judgments(run)) == 1


def _screenshot_dir(tmp_path: Path) -> Path:
    import os

    folder = Path(os.environ.get(SCREENSHOTS_ENV, tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.slow
def test_a_live_dialogue_with_the_embedded_model_is_held_and_graded(tmp_path: Path, chromium: Any) -> None:
    pytest.importorskip("llama_cpp")
    run = make_local_run(tmp_path)
    campaign = write_campaign(tmp_path, tasks=[], live={"systems": [LOCAL_SYSTEM], "max_turns": 2})
    tokens = annotators(run, "alice")
    server = Server(run, campaign, free_port(), tmp_path / "server.log").start()
    try:
        page = chromium.new_context().new_page()
        page.set_default_timeout(300_000)  # the embedded model answers on the CPU
        page.goto(f"{server.url}/start?token={tokens['alice']}")
        assert "All done" in page.content()
        page.goto(f"{server.url}/live")
        press(page, "Enter")  # start
        for message, grade in (("Name three colours of the rainbow.", "2"), ("Now name one more.", "3")):
            page.keyboard.press("n")
            page.keyboard.type(message)
            press(page, "Control+Enter")
            for secret in (LOCAL_SYSTEM, "local/gemma-3-270m"):
                assert secret not in page.content()
            page.keyboard.press(grade)
        press(page, "f")
        assert page.locator("#finished").is_visible()
        page.screenshot(path=str(_screenshot_dir(tmp_path) / "live-dialogue.png"), full_page=True)
    finally:
        server.stop()
    records = RunDir(run, create=False).load_records()
    prompt = next(p for p in records.prompts if p.id.startswith("live-"))
    assert prompt.turns == ("Name three colours of the rainbow.", "Now name one more.")
    response = next(r for r in records.responses if r.prompt_id == prompt.id)
    assert response.system == LOCAL_SYSTEM and len(response.outputs) == 2 and all(response.outputs)
    assert response.model_id
    grades = sorted((g.turn, g.label) for g in records.grades if g.prompt_id == prompt.id)
    assert grades == [(0, "pass"), (1, "excellent")]


def test_per_turn_grades_with_the_keyboard(tmp_path: Path, chromium: Any) -> None:
    run = make_run(tmp_path, 2, multi_turn_every=1)
    campaign = write_campaign(tmp_path, tasks=[{"kind": "grade", "systems": [SECRET_SYSTEMS[1]], "items": 1}])
    tokens = annotators(run, "alice")
    server = Server(run, campaign, free_port(), tmp_path / "server.log").start()
    try:
        page = chromium.new_context().new_page()
        page.goto(f"{server.url}/start?token={tokens['alice']}")
        assert page.locator("fieldset.group").count() == 2
        page.keyboard.press("1")  # the first reply's group
        page.keyboard.press("3")  # then the next unanswered group
        press(page, "Enter")
        assert "All done" in page.content()
    finally:
        server.stop()
    grades = RunDir(run, create=False).load_records().grades
    assert sorted((g.turn, g.label) for g in grades if g.source == "human:alice") == [
        (0, "fail"),
        (1, "excellent"),
    ]
