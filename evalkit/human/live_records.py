"""A live dialogue as records.

The Prompt holds the user's turns, each system gets a Response, every graded reply a
Grade (``turn`` set), and a side-by-side dialogue one Judgment in canonical terms.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from evalkit.human.campaign import Campaign
from evalkit.human.instructions import instructions_for
from evalkit.human.tasks import LIVE_CATEGORY
from evalkit.judging.templates import template_hash
from evalkit.records import Grade, JudgeProvenance, Judgment, Outcome, Prompt, Response, swap_outcome

LIVE_SPLIT = "live"
_SHOWN: dict[str, Outcome] = {"first": "a", "second": "b", "tie": "tie"}


def shown_verdict(campaign: Campaign, state: dict[str, Any], code: str) -> dict[str, str]:
    """The side-by-side choice in shown and canonical terms; 422 for an unknown choice."""
    assert campaign.live is not None
    choice = instructions_for(campaign.live.pairwise_judge).choice(code)
    if choice is None:
        raise HTTPException(422, "Nothing was stored: field 'choice' must be A, B or N.")
    shown = _SHOWN[choice.outcome or "tie"]
    outcome = shown if state["order"] == "ab" else swap_outcome(shown)
    return {"choice": choice.code, "outcome": str(outcome)}


def _provenance(judge: str) -> JudgeProvenance:
    spec = instructions_for(judge).judge
    return JudgeProvenance(
        judge=spec.name, judge_version=spec.version, model_spec="human", template_hash=template_hash(spec)
    )


def dialogue_records(
    campaign: Campaign, dialogue_id: str, annotator: str, state: dict[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """The records a dialogue produced so far."""
    assert campaign.live is not None
    prompt_id = f"live-{dialogue_id}"
    source = f"human:{annotator}"
    prompt = Prompt(
        id=prompt_id,
        turns=tuple(state["turns"]),
        category=LIVE_CATEGORY,
        split=LIVE_SPLIT,
        metadata={"annotator": annotator, "mode": state["mode"]},
    )
    responses = [
        Response(
            prompt_id=prompt_id,
            system=system,
            outputs=tuple(state["outputs"][system]),
            model_id=state["models"][system],
            finish_reasons=tuple("stop" for _ in state["outputs"][system]),
            latency_s=state["latency"][system],
            error=state["errors"][system],
        )
        for system in state["systems"]
    ]
    bundle: dict[str, list[dict[str, Any]]] = {
        "prompts": [prompt.model_dump(mode="json")],
        "responses": [r.model_dump(mode="json") for r in responses],
        "grades": [],
        "judgments": [],
    }
    spec = instructions_for(campaign.live.judge)
    for turn, code in enumerate(state["grades"]):
        choice = spec.choice(code)
        grade = Grade(
            prompt_id=prompt_id,
            system=state["systems"][0],
            scale=spec.judge.scale_name,
            source=source,
            label=code,
            score=choice.score if choice else None,
            turn=turn,
            raw=code,
            provenance=_provenance(campaign.live.judge),
        )
        bundle["grades"].append(grade.model_dump(mode="json"))
    verdict = state.get("verdict")
    if verdict:
        judgment = Judgment(
            prompt_id=prompt_id,
            model_a=state["systems"][0],
            model_b=state["systems"][1],
            order=state["order"],
            source=source,
            outcome=verdict["outcome"],
            label=verdict["choice"],
            raw=verdict["choice"],
            rationale=state.get("note", ""),
            provenance=_provenance(campaign.live.pairwise_judge),
        )
        bundle["judgments"].append(judgment.model_dump(mode="json"))
    return bundle
