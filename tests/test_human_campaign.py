"""Campaigns: validation with file and field, stratified samples, overlap, assignment, checks."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest
from human_helpers import SECRET_SYSTEMS, make_run, write_campaign
from starlette.testclient import TestClient

from evalkit.cli import main
from evalkit.errors import ConfigError
from evalkit.human.admin import overlap_agreement, tie_discounted
from evalkit.human.app import create_app
from evalkit.human.campaign import Campaign, load_campaign
from evalkit.human.store import Answer, LabelStore
from evalkit.human.tasks import Catalog, stratified_sample
from evalkit.records import Prompt
from evalkit.runner.rundir import RunDir

CANDIDATE, BASELINE = SECRET_SYSTEMS


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("campaign"), 24)


def catalog(run: Path, **fields: object) -> Catalog:
    return Catalog(Campaign.model_validate(fields), RunDir(run, create=False).load_records())


def test_bad_fields_are_named_with_the_file(tmp_path: Path) -> None:
    path = write_campaign(
        tmp_path, tasks=[{"kind": "grade", "overlap": -1, "comparisons": [["a", "b"]]}], colour=1
    )
    with pytest.raises(ConfigError) as caught:
        load_campaign(path)
    message = str(caught.value)
    assert str(path) in message
    assert "field 'colour': Extra inputs are not permitted" in message
    assert "field 'tasks.0.overlap'" in message


def test_unknown_systems_are_named(run: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tasks\.0: unknown system 'nope'.*The run's systems are"):
        catalog(run, tasks=[{"kind": "grade", "systems": ["nope"]}])
    with pytest.raises(ConfigError, match=r"live\.systems: unknown system 'ghost'"):
        catalog(run, live={"systems": ["ghost"]})


def test_stratified_sample_keeps_the_proportions() -> None:
    prompts = [
        Prompt(id=f"p{i}", turns=("q",), split="id" if i < 60 else "ood", category="c") for i in range(80)
    ]
    chosen = stratified_sample(prompts, 20, lambda p: (p.split,), random.Random(0))
    assert Counter(p.split for p in chosen) == {"id": 15, "ood": 5}
    assert len({p.id for p in chosen}) == 20


def test_items_per_comparison_overlap_and_assignment(run: Path) -> None:
    plan = catalog(run, tasks=[{"kind": "pairwise", "items": 12, "overlap": 4, "per_item": 2}])
    tasks = list(plan.tasks.values())
    assert len(tasks) == 12 and sum(t.overlap for t in tasks) == 4
    splits = Counter(plan.prompts[t.prompt_id].split for t in tasks)
    assert splits == {"in_distribution": 6, "out_of_distribution": 6}
    people = ["ann", "ben", "cat"]
    queues = {name: {t.id for t in plan.queue(name, people)} for name in people}
    for task in tasks:
        holders = sum(task.id in queue for queue in queues.values())
        assert holders == (3 if task.overlap else 2)
    grown = {name: {t.id for t in plan.queue(name, [*people, "dan"])} for name in people}
    moved = sum(len(queues[n] - grown[n]) for n in people)
    assert moved <= 8 - 2  # rendezvous hashing: only what the new annotator takes moves


def test_orders_are_seeded_and_vary(run: Path) -> None:
    plan = catalog(run)
    orders = [plan.shown_order("ann", t) for t in plan.tasks.values()]
    assert set(orders) == {"ab", "ba"}
    assert orders == [catalog(run).shown_order("ann", t) for t in plan.tasks.values()]
    assert orders != [plan.shown_order("ben", t) for t in plan.tasks.values()]


def test_gold_and_attention_checks_are_scored_silently(run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    plan = Campaign.model_validate(
        {
            "tasks": [{"kind": "pairwise", "items": 2}],
            "gold": [{"prompt": "p001", "comparison": [CANDIDATE, BASELINE], "answer": "b"}],
            "attention_checks": 2,
        }
    )
    store = LabelStore(copy)
    token, admin = store.add_person("ann"), store.add_person("admin", "admin")
    store.close()
    app = create_app(copy, plan)
    client = TestClient(app, base_url="http://127.0.0.1")
    page = client.get(f"/start?token={token}")
    while page.url.path.startswith("/item/"):
        assert "gold" not in page.text.lower() and "attention" not in page.text.lower()
        form = re.search(r'name="form" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        page = client.post(page.url.path, data={"form": form, "choice": "A"})
    answers = app.state.server.store.current("ann")
    checks = Counter((a.check_kind, a.check_correct) for a in answers if a.check_kind)
    assert sum(checks.values()) == 3 and checks[("attention", True)] + checks[("attention", False)] == 2
    records = RunDir(copy, create=False).load_records()
    assert (
        len([j for j in records.judgments if j.source == "human:ann"]) == 3
    )  # attention pairs are not records
    admin_client = TestClient(app, base_url="http://127.0.0.1")
    admin_page = admin_client.get(f"/start?token={admin}").text
    assert re.search(r"<td class=\"num\">[01]/1 \(\d+%\)</td>", admin_page)


def test_agreement_so_far_is_tie_discounted() -> None:
    assert [tie_discounted("a", "a"), tie_discounted("a", "tie"), tie_discounted("a", "b")] == [1.0, 0.5, 0.0]

    def label(who: str, item: str, outcome: str) -> Answer:
        return Answer(who, item, 0, "label", {"outcome": outcome}, 0.0)

    answers = [label("x", "t1", "a"), label("y", "t1", "tie"), label("x", "t2", "b"), label("y", "t2", "b")]
    result = overlap_agreement(
        [*answers, label("x", "t3", "a")], {"t1": "pairwise", "t2": "pairwise", "t3": "pairwise"}
    )
    assert result["pairwise"].value == 0.75 and result["pairwise"].items == 2


def test_add_annotator_prints_a_link_and_stores_only_a_hash(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["label", "add-annotator", str(run), "zoe"]) == 0
    link = capsys.readouterr().out.strip().split()[-1]
    assert link.startswith("http://127.0.0.1:8321/start?token=")
    token = link.split("token=")[1]
    assert token.encode() not in (run / "labels.sqlite").read_bytes()
    assert main(["label", "add-annotator", str(run), "zoe"]) == 2
    assert main(["label", "add-annotator", str(run), "zoe", "--reset"]) == 0
    assert main(["label", "add-annotator", str(run), "bad name"]) == 2
