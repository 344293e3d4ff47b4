"""Live dialogues through the test client, on the run's fake systems."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from human_helpers import SECRET_MODELS, SECRET_SYSTEMS, make_run
from starlette.testclient import TestClient

from evalkit.api import load_run
from evalkit.human.app import create_app
from evalkit.human.campaign import Campaign
from evalkit.human.store import LabelStore
from evalkit.records import swap_outcome

BASE = "http://127.0.0.1:8321"
CANDIDATE, BASELINE = SECRET_SYSTEMS


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("live"), 4)


@pytest.fixture
def run(base_run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(base_run, copy)
    return copy


def client_for(run: Path, systems: list[str], *names: str) -> tuple[object, list[TestClient]]:
    store = LabelStore(run)
    tokens = [store.add_person(name) for name in names]
    store.close()
    app = create_app(run, Campaign.model_validate({"live": {"systems": systems, "max_turns": 3}}))
    clients = []
    for token in tokens:
        client = TestClient(app, base_url=BASE)
        client.get(f"/start?token={token}")
        clients.append(client)
    return app, clients


def form(html: str) -> str:
    return re.search(r'name="form" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def start(client: TestClient) -> tuple[str, str]:
    page = client.post("/live", data={"form": form(client.get("/live").text)})
    assert page.status_code == 200 and page.url.path.startswith("/live/")
    return page.url.path, page.text


def assert_blind(html: str) -> None:
    for secret in (*SECRET_SYSTEMS, *SECRET_MODELS):
        assert secret not in html


def test_a_graded_live_dialogue_becomes_records(run: Path) -> None:
    _, (alice, bob) = client_for(run, [BASELINE], "alice", "bob")
    path, html = start(alice)
    page = alice.post(path, data={"form": form(html), "action": "say", "message": "Hello <b>there</b>"})
    assert "Echo: User: Hello &lt;b&gt;there&lt;/b&gt;" in page.text  # the reply, escaped
    assert_blind(page.text)
    token = form(page.text)
    missing_grade = alice.post(path, data={"form": token, "action": "say", "message": "And then?"})
    assert missing_grade.status_code == 422
    page = alice.post(path, data={"form": token, "action": "say", "message": "And then?", "grade": "pass"})
    assert page.status_code == 200 and "your grade: pass" in page.text
    assert (
        alice.post(
            path, data={"form": token, "action": "say", "message": "again", "grade": "pass"}
        ).status_code
        == 409
    )
    assert bob.get(path).status_code == 404
    page = alice.post(path, data={"form": form(page.text), "action": "finish", "grade": "excellent"})
    assert 'id="finished"' in page.text
    records = load_run(run).records
    prompt = next(p for p in records.prompts if p.id.startswith("live-"))
    assert prompt.turns == ("Hello <b>there</b>", "And then?") and prompt.split == "live"
    response = next(r for r in records.responses if r.prompt_id == prompt.id)
    assert response.system == BASELINE and len(response.outputs) == 2
    grades = sorted((g.turn, g.label, g.source) for g in records.grades if g.prompt_id == prompt.id)
    assert grades == [(0, "pass", "human:alice"), (1, "excellent", "human:alice")]


def test_side_by_side_dialogue_is_compared_at_the_end(run: Path) -> None:
    _, (alice,) = client_for(run, [CANDIDATE, BASELINE], "alice")
    path, html = start(alice)
    page = alice.post(path, data={"form": form(html), "action": "say", "message": "Compare me"})
    assert "Conversation with Assistant A" in page.text and "Conversation with Assistant B" in page.text
    assert_blind(page.text)
    assert alice.post(path, data={"form": form(page.text), "choice": "Q"}).status_code == 422
    page = alice.post(path, data={"form": form(page.text), "choice": "A", "note": "A was clearer"})
    assert 'id="finished"' in page.text
    records = load_run(run).records
    judgment = next(j for j in records.judgments if j.prompt_id.startswith("live-"))
    assert (judgment.model_a, judgment.model_b) == (CANDIDATE, BASELINE)
    assert judgment.outcome == ("a" if judgment.order == "ab" else swap_outcome("a"))
    assert judgment.rationale == "A was clearer"
    assert len([r for r in records.responses if r.prompt_id == judgment.prompt_id]) == 2


def test_the_report_shows_live_dialogues(run: Path) -> None:
    _, (alice,) = client_for(run, [BASELINE], "alice")
    path, html = start(alice)
    page = alice.post(path, data={"form": form(html), "action": "say", "message": "Tell me about otters"})
    alice.post(path, data={"form": form(page.text), "action": "finish", "grade": "fail"})
    report = load_run(run).report()
    assert "Tell me about otters" in report.read_text()


def test_live_routes_exist_only_when_the_campaign_asks(run: Path) -> None:
    store = LabelStore(run)
    token = store.add_person("alice")
    store.close()
    client = TestClient(create_app(run, Campaign()), base_url=BASE)
    client.get(f"/start?token={token}")
    assert client.get("/live").status_code == 404
