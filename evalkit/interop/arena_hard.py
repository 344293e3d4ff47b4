"""Arena-Hard files (v0.1 and v2 layouts), in and out.

* questions (``question.jsonl``): question_id / uid, category, cluster or subcategory, and
  turns[0].content (v0.1) or prompt (v2);
* answers (``model_answer/<model>.jsonl``): question_id / uid, model_id / model, and
  choices[0].turns[i].content (v0.1) or the assistant message's content.answer (v2);
* judgments (``model_judgment/<judge>/<model>.jsonl``): question_id / uid, model, judge,
  optional baseline, and two games: in game 1 the baseline is assistant A, in game 2 the
  model is. Each game's score is "A>>B", "A>B", "A=B", "B>A", "B>>A" or null (unreadable).

A verdict compares model (model_a) with the baseline (model_b); game 1 is order "ba", game 2
order "ab". The label is kept verbatim: Arena-Hard counts a strong verdict (">>") as three
battles when it fits its leaderboard, and the label keeps that information.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evalkit.interop.bundle import Imported, import_source, provenance
from evalkit.interop.files import Entry, read_records
from evalkit.records import Judgment, Order, Outcome, Prompt, Response

FORMAT = "arena_hard"
_GAME_ORDERS: tuple[Order, ...] = ("ba", "ab")
"""Game 1 shows the baseline (model_b) first, game 2 the model."""
_SHOWN: dict[str, str] = {"A>>B": "first", "A>B": "first", "A=B": "tie", "B>A": "second", "B>>A": "second"}


def read(paths: Sequence[Path], imported: Imported) -> None:
    """Add every Arena-Hard file's records (the kind is chosen from each file's fields).

    v0.1 judgments do not name their baseline: ``imported.baseline_hint`` does.
    """
    for path in paths:
        entries = read_records(path)
        if not entries:
            continue
        first = entries[0].data
        for entry in entries:
            if "games" in first:
                imported.judgments += _judgments(entry, imported)
            elif "choices" in first or "messages" in first:
                _add_answer(entry, imported)
            else:
                imported.add_prompt(_question(entry))


def _id(entry: Entry) -> str:
    return entry.key("uid") if "uid" in entry.data else entry.key("question_id")


def _question(entry: Entry) -> Prompt:
    if "prompt" in entry.data:
        text = entry.text("prompt")
    else:
        turns = entry.require("turns", list)
        if not turns or not isinstance(turns[0], dict) or not isinstance(turns[0].get("content"), str):
            raise entry.fail("turns", "must be a list of {content: text}")
        text = turns[0]["content"]
    cluster = entry.data.get("cluster") or entry.data.get("subcategory")
    return Prompt(
        id=_id(entry),
        turns=(text,),
        category=str(entry.data.get("category") or "uncategorized"),
        metadata={"source": FORMAT, **({"cluster": str(cluster)} if cluster else {})},
    )


def _answer_text(entry: Entry) -> str:
    if "messages" in entry.data:
        messages = entry.require("messages", list)
        answers = [m for m in messages if isinstance(m, dict) and m.get("role") == "assistant"]
        content = answers[-1].get("content") if answers else None
        text = content.get("answer") if isinstance(content, dict) else content
    else:
        choices = entry.require("choices", list)
        turns = choices[0].get("turns") if choices and isinstance(choices[0], dict) else None
        text = turns[0].get("content") if turns and isinstance(turns[0], dict) else None
    if not isinstance(text, str):
        field = "messages" if "messages" in entry.data else "choices"
        raise entry.fail(field, "holds no answer text where Arena-Hard puts it")
    return text


def _add_answer(entry: Entry, imported: Imported) -> None:
    system = entry.text("model") if "model" in entry.data else entry.text("model_id")
    imported.add_response(Response(prompt_id=_id(entry), system=system, outputs=(_answer_text(entry),)))


def _outcome(entry: Entry, field: str, score: object, order: Order) -> Outcome | None:
    if score is None:
        return None
    if not isinstance(score, str) or score not in _SHOWN:
        raise entry.fail(field, f"{score!r} is not one of {', '.join(_SHOWN)} or null")
    shown = _SHOWN[score]
    if shown == "tie":
        return "tie"
    first_is_model = order == "ab"
    return "a" if (shown == "first") == first_is_model else "b"


def _judgments(entry: Entry, imported: Imported) -> list[Judgment]:
    model = entry.text("model")
    judge = str(entry.data.get("judge") or entry.path.parent.name)
    base = entry.text("baseline") if "baseline" in entry.data else imported.baseline_hint
    if base is None:
        raise entry.fail(
            "baseline", "missing", "pass --baseline NAME (Arena-Hard v0.1 names it in its judge config)"
        )
    games = entry.require("games", list)
    if len(games) != 2 or not all(isinstance(g, dict) for g in games):
        raise entry.fail("games", "must hold two games (baseline shown first, then the model)")
    imported.add_system(model)
    imported.add_system(base)
    imported.baselines[(import_source(judge), base)] += 1
    judgments = []
    for number, (game, order) in enumerate(zip(games, _GAME_ORDERS, strict=True), start=1):
        outcome = _outcome(entry, f"games[{number}].score", game.get("score"), order)
        judgments.append(
            Judgment(
                prompt_id=_id(entry),
                model_a=model,
                model_b=base,
                order=order,
                source=import_source(judge),
                outcome=outcome,
                label=game.get("score"),
                raw=str(game.get("judgment", "")),
                error=None if outcome is not None else "the judge's verdict could not be read",
                provenance=provenance(judge, judge, format=FORMAT),
            )
        )
    return judgments
