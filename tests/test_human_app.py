"""The labeling app through Starlette's test client: tokens, blinding, forms, records."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from human_helpers import HOSTILE, SECRET_MODELS, SECRET_SYSTEMS, make_run
from starlette.testclient import TestClient

from evalkit.human.app import create_app
from evalkit.human.campaign import Campaign
from evalkit.human.store import LabelStore
from evalkit.records import swap_outcome
from evalkit.runner.rundir import RunDir

BASE = "http://127.0.0.1:8321"
FORBIDDEN = (*SECRET_SYSTEMS, *SECRET_MODELS, "fake/script", "p00", "llm:", "lima-pairwise", "lima-grade")


@pytest.fixture(scope="module")
def run_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("human"), 8, multi_turn_every=4)


@pytest.fixture
def labeled(run_path: Path, tmp_path: Path) -> Path:
    """A private copy of the run, so each test starts with no labels."""
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_path, copy)
    return copy


def campaign(**fields: object) -> Campaign:
    return Campaign.model_validate(fields)


def people(path: Path, *names: str) -> dict[str, str]:
    store = LabelStore(path)
    tokens = {name: store.add_person(name) for name in names}
    tokens["admin"] = store.add_person("admin", "admin")
    store.close()
    return tokens


def signed_in(app: object, token: str) -> TestClient:
    client = TestClient(app, base_url=BASE)  # type: ignore[arg-type]
    assert client.get(f"/start?token={token}").status_code == 200
    return client


def form_token(html: str) -> str:
    found = re.search(r'name="form" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def current_item(client: TestClient) -> tuple[str, str]:
    page = client.get("/")
    return page.url.path, page.text


def answer(client: TestClient, path: str, html: str, **fields: str) -> int:
    data = {"form": form_token(html), **fields}
    if not fields and 'name="choice"' in html:
        data["choice"] = "A"
    elif not fields and 'name="grade-1"' in html:
        data.update({"grade-0": "pass", "grade-1": "pass"})
    elif not fields:
        data["grade"] = "pass"
    return client.post(path, data=data, follow_redirects=False).status_code


def human_records(path: Path) -> tuple[list, list]:  # type: ignore[type-arg]
    records = RunDir(path, create=False).load_records()
    judgments = [j for j in records.judgments if j.source.startswith("human:")]
    grades = [g for g in records.grades if g.source.startswith("human:")]
    return judgments, grades


def test_pages_need_a_valid_token(labeled: Path) -> None:
    people(labeled, "alice")
    client = TestClient(create_app(labeled, campaign()), base_url=BASE)
    assert client.get("/").status_code == 401
    assert client.get("/start?token=not-a-token").status_code == 403
    client.cookies.set("evalkit_label", "forged")
    assert client.get("/").status_code == 403
    assert client.get("/admin").status_code == 401


def test_tokens_are_stored_hashed(labeled: Path) -> None:
    tokens = people(labeled, "alice")
    for suffix in ("", "-wal"):
        file = labeled / f"labels.sqlite{suffix}"
        if file.exists():
            assert tokens["alice"].encode() not in file.read_bytes()


def test_annotator_pages_never_name_a_system_or_model(labeled: Path) -> None:
    tokens = people(labeled, "alice")
    plan = campaign(tasks=[{"kind": "pairwise"}, {"kind": "grade"}])
    client = signed_in(create_app(labeled, plan), tokens["alice"])
    pages = 0
    while True:
        path, html = current_item(client)
        if not path.startswith("/item/"):
            break
        for secret in FORBIDDEN:
            assert secret not in html
        assert answer(client, path, html) == 303
        pages += 1
    assert pages == 8 + 16
    assert "All done" in client.get("/").text


def test_order_is_randomized_recorded_and_undone(labeled: Path) -> None:
    tokens = people(labeled, "alice")
    app = create_app(labeled, campaign())
    client = signed_in(app, tokens["alice"])
    while (item := current_item(client))[0].startswith("/item/"):
        assert answer(client, item[0], item[1], choice="A") == 303  # always "the one shown first"
    judgments, _ = human_records(labeled)
    assert {j.order for j in judgments} == {"ab", "ba"}
    for j in judgments:
        shown_first_wins = "a"
        assert j.outcome == (shown_first_wins if j.order == "ab" else swap_outcome(shown_first_wins))
        assert j.source == "human:alice"


def test_replayed_and_forged_forms_store_nothing(labeled: Path) -> None:
    tokens = people(labeled, "alice")
    client = signed_in(create_app(labeled, campaign()), tokens["alice"])
    path, html = current_item(client)
    token = form_token(html)
    assert client.post(path, data={"form": token, "choice": "A"}, follow_redirects=False).status_code == 303
    replay = client.post(path, data={"form": token, "choice": "B"}, follow_redirects=False)
    assert replay.status_code == 409
    forged = client.post(path, data={"form": token[:-4] + "abcd", "choice": "B"}, follow_redirects=False)
    assert forged.status_code == 403
    assert client.post(path, data={"choice": "B"}, follow_redirects=False).status_code == 403
    judgments, _ = human_records(labeled)
    assert [j.label for j in judgments] == ["A"]


def test_cross_site_posts_are_refused(labeled: Path) -> None:
    tokens = people(labeled, "alice")
    client = signed_in(create_app(labeled, campaign()), tokens["alice"])
    path, html = current_item(client)
    hostile = {"origin": "http://evil.example"}
    response = client.post(path, data={"form": form_token(html), "choice": "A"}, headers=hostile)
    assert response.status_code == 403
    assert human_records(labeled) == ([], [])


def test_malformed_and_out_of_campaign_posts_get_clear_statuses(labeled: Path) -> None:
    tokens = people(labeled, "alice", "bob")
    app = create_app(labeled, campaign(tasks=[{"overlap": 8}]))
    alice, bob = signed_in(app, tokens["alice"]), signed_in(app, tokens["bob"])
    path, html = current_item(alice)
    assert alice.post(path, data={"form": form_token(html), "choice": "Z"}).status_code == 422
    assert alice.post(path, data={"form": form_token(html), "action": "drop"}).status_code == 422
    assert (
        alice.post(path, data={"form": form_token(html), "note": "x" * 3000, "choice": "A"}).status_code
        == 422
    )
    form_type = {"content-type": "application/x-www-form-urlencoded"}
    assert alice.post(path, content=b"choice=A&note=" + b"x" * 70_000, headers=form_type).status_code == 413
    chunks = (b"note=" + b"x" * 10_000 for _ in range(10))  # no length announced
    assert alice.post(path, content=chunks, headers=form_type).status_code == 413
    assert alice.post(path, content=b"\xff\xfe", headers=form_type).status_code == 400
    assert alice.post(path, content=b"choice=A", headers={"content-type": "text/plain"}).status_code == 415
    assert alice.post("/item/tdoesnotexist", data={"form": "1.2.3", "choice": "A"}).status_code == 404
    # bob's form for the same item cannot be used by alice, nor alice's by bob
    bob_html = bob.get(path).text
    assert alice.post(path, data={"form": form_token(bob_html), "choice": "A"}).status_code == 403
    assert human_records(labeled) == ([], [])


def test_an_annotator_cannot_see_or_change_anothers_items(labeled: Path) -> None:
    tokens = people(labeled, "alice", "bob")
    plan = campaign(tasks=[{"kind": "pairwise", "per_item": 1, "overlap": 0}])
    app = create_app(labeled, plan)
    alice = signed_in(app, tokens["alice"])
    server = app.state.server
    alice_items = {t.id for t in server.queue("alice")}
    bob_items = {t.id for t in server.queue("bob")}
    assert alice_items and bob_items and not alice_items & bob_items
    foreign = next(iter(bob_items))
    assert alice.get(f"/item/{foreign}").status_code == 404
    assert alice.post(f"/item/{foreign}", data={"form": "0.0.x", "choice": "A"}).status_code == 404


def test_skip_back_and_change_the_last_answer(labeled: Path) -> None:
    tokens = people(labeled, "alice")
    client = signed_in(create_app(labeled, campaign()), tokens["alice"])
    first, html = current_item(client)
    assert answer(client, first, html, action="skip") == 303
    second, html = current_item(client)
    assert second != first
    assert answer(client, second, html, choice="A", note="first thought") == 303
    _, html = current_item(client)
    back = re.search(r'id="back" href="([^"]+)"', html)
    assert back and back.group(1) == second
    again = client.get(second).text
    assert 'id="answered"' in again and "first thought" in again
    assert answer(client, second, again, choice="N", note="changed my mind") == 303
    judgments, _ = human_records(labeled)
    assert [(j.label, j.outcome, j.rationale) for j in judgments] == [("N", "tie", "changed my mind")]


def test_per_turn_and_multi_aspect_grades(labeled: Path) -> None:
    tokens = people(labeled, "alice")
    plan = campaign(
        tasks=[{"kind": "grade", "systems": [SECRET_SYSTEMS[1]], "judge": "aspects-5", "items": 1}]
    )
    client = signed_in(create_app(labeled, plan), tokens["alice"])
    path, html = current_item(client)
    aspects = {f"aspect-{n}": "4" for n in ("helpfulness", "clarity", "factuality", "depth", "engagement")}
    assert answer(client, path, html, **aspects) == 422  # safety is missing
    assert answer(client, path, html, **aspects, **{"aspect-safety": "5"}) == 303
    _, grades = human_records(labeled)
    assert grades[0].aspects == {**{k[7:]: 4.0 for k in aspects}, "safety": 5.0}
    assert grades[0].score == 4.0

    dialogue_plan = campaign(tasks=[{"kind": "grade", "systems": [SECRET_SYSTEMS[1]]}])
    client = signed_in(create_app(labeled, dialogue_plan), tokens["alice"])
    while (item := current_item(client))[0].startswith("/item/"):
        path, html = item
        if 'name="grade-1"' in html:
            assert answer(client, path, html, **{"grade-0": "fail"}) == 422
            assert answer(client, path, html, **{"grade-0": "fail", "grade-1": "excellent"}) == 303
        else:
            assert answer(client, path, html, grade="pass") == 303
    _, grades = human_records(labeled)
    per_turn = sorted((g.turn, g.label) for g in grades if g.turn is not None)
    assert per_turn == [(0, "fail"), (0, "fail"), (1, "excellent"), (1, "excellent")]


def test_hostile_output_is_escaped_and_pages_carry_a_strict_policy(tmp_path: Path) -> None:
    run = make_run(tmp_path, 2, hostile=True)
    tokens = people(run, "alice")
    client = signed_in(create_app(run, campaign()), tokens["alice"])
    page = client.get("/")
    assert page.status_code == 200
    assert "<script>document" not in page.text and "<img" not in page.text
    assert "&lt;/textarea&gt;" in page.text and "onerror=" in page.text  # shown, as text
    assert page.text.count("<script") == 1 and page.text.count("</textarea>") == 1
    assert len(page.text) > 1_000_000
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert HOSTILE[:20] not in page.text


def test_the_reader_changes_no_file(labeled: Path) -> None:
    tokens = people(labeled, "alice")
    client = signed_in(create_app(labeled, campaign()), tokens["alice"])
    path, html = current_item(client)
    answer(client, path, html, choice="B")
    client.app.state.server.store.close()  # type: ignore[attr-defined]
    before = {p.name: p.stat().st_mtime_ns for p in labeled.iterdir()}
    judgments, _ = human_records(labeled)
    assert len(judgments) == 1
    assert {p.name: p.stat().st_mtime_ns for p in labeled.iterdir()} == before


def test_human_labels_reach_the_statistics(labeled: Path) -> None:
    from evalkit.api import load_run

    tokens = people(labeled, "alice")
    client = signed_in(create_app(labeled, campaign()), tokens["alice"])
    while (item := current_item(client))[0].startswith("/item/"):
        answer(client, item[0], item[1], choice="N")
    rates = load_run(labeled).to_pandas("win_rates")
    human = rates[rates["source"] == "human:alice"].iloc[0]
    assert (human["n"], human["ties"], human["win_rate"]) == (8, 8, 0.5)


def test_likert_grades_use_the_judge_scale(labeled: Path) -> None:
    tokens = people(labeled, "alice")
    plan = campaign(
        tasks=[{"kind": "grade", "systems": [SECRET_SYSTEMS[0]], "judge": "helpfulness-6", "items": 1}]
    )
    client = signed_in(create_app(labeled, plan), tokens["alice"])
    path, html = current_item(client)
    assert 'data-key="6"' in html and "exceptionally helpful" in html
    fields = ["grade-0", "grade-1"] if 'name="grade-1"' in html else ["grade"]  # a dialogue: one per reply
    assert answer(client, path, html, **dict.fromkeys(fields, "7")) == 422
    assert answer(client, path, html, **dict.fromkeys(fields, "5")) == 303
    _, grades = human_records(labeled)
    expected = ("helpfulness-1-6", "5", 5.0, SECRET_SYSTEMS[0])
    assert [(g.scale, g.label, g.score, g.system) for g in grades] == [expected] * len(fields)
