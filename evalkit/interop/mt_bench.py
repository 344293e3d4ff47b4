"""MT-Bench files (FastChat's llm_judge layout), in and out.

* ``question.jsonl``: question_id, category, turns (two for MT-Bench), optional reference;
* ``model_answer/<model>.jsonl`` (and ``reference_answer/<model>.jsonl``, which become the
  prompts' references): question_id, model_id, choices[i].turns;
* ``model_judgment/<judge>_single.jsonl``: question_id, model, judge [model, prompt name],
  score (1-10, -1 when the judge's rating could not be read), turn;
* ``model_judgment/<judge>_pair.jsonl``: question_id, model_1, model_2, g1_winner (model_1
  shown first) and g2_winner (model_2 shown first), each "model_1" / "model_2" / "tie" /
  "error" in canonical terms, turn.

A verdict's source is ``import:<judge model>/<prompt name>``; the prompt names differ per
turn ("pair-v2" / "pair-v2-multi-turn"), so each turn is its own source, and the turn is
also kept in the provenance (and in Grade.turn).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evalkit.interop.bundle import Imported, import_source, provenance
from evalkit.interop.files import Entry, read_records
from evalkit.records import Grade, Judgment, Order, Outcome, Prompt, Response

FORMAT = "mt_bench"
SCALE = "mt_bench_1_10"
_GAMES: tuple[tuple[str, Order], ...] = (("g1", "ab"), ("g2", "ba"))
"""Game 1 shows model_1 first, game 2 model_2 first."""
_WINNERS: dict[str, Outcome | None] = {"model_1": "a", "model_2": "b", "tie": "tie", "error": None}


def read(paths: Sequence[Path], imported: Imported) -> None:
    """Add every MT-Bench file's records (the kind is chosen from each file's fields)."""
    references: dict[str, tuple[str, ...]] = {}
    for path in paths:
        entries = read_records(path)
        if not entries:
            continue
        kind = _kind(path, entries[0])
        for entry in entries:
            if kind == "question":
                imported.add_prompt(_question(entry))
            elif kind == "reference":
                references[entry.key("question_id")] = _answer_turns(entry)[0]
            elif kind == "answer":
                _add_answer(entry, imported)
            elif kind == "pair":
                imported.judgments += _pair(entry, imported)
            else:
                imported.grades.append(_single(entry, imported))
    for prompt_id, turns in references.items():
        if prompt_id in imported.prompts and imported.prompts[prompt_id].reference is None:
            imported.prompts[prompt_id] = imported.prompts[prompt_id].model_copy(update={"reference": turns})


def _kind(path: Path, first: Entry) -> str:
    keys = first.data
    if "choices" in keys:
        return "reference" if "reference_answer" in str(path) else "answer"
    if "g1_winner" in keys:
        return "pair"
    if "score" in keys and "model" in keys:
        return "single"
    if "turns" in keys:
        return "question"
    raise first.fail("question_id", "no MT-Bench record kind fits this record's fields")


def _question(entry: Entry) -> Prompt:
    turns = entry.require("turns", list)
    if not turns or not all(isinstance(t, str) for t in turns):
        raise entry.fail("turns", "must be a non-empty list of strings")
    reference = entry.data.get("reference")
    return Prompt(
        id=entry.key("question_id"),
        turns=tuple(turns),
        category=str(entry.data.get("category") or "uncategorized"),
        reference=tuple(reference) if isinstance(reference, list) and reference else None,
        metadata={"source": FORMAT},
    )


def _answer_turns(entry: Entry) -> list[tuple[str, ...]]:
    choices = entry.require("choices", list)
    found = []
    for choice in choices:
        turns = choice.get("turns") if isinstance(choice, dict) else None
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            raise entry.fail("choices", "each choice needs 'turns', a list of strings")
        found.append(tuple(turns))
    if not found:
        raise entry.fail("choices", "is empty")
    return found


def _add_answer(entry: Entry, imported: Imported) -> None:
    system = entry.text("model_id")
    for sample, turns in enumerate(_answer_turns(entry)):
        response = Response(prompt_id=entry.key("question_id"), system=system, sample=sample, outputs=turns)
        imported.add_response(response)


def _judge(entry: Entry) -> tuple[str, str]:
    judge = entry.require("judge", list)
    if len(judge) < 2 or not all(isinstance(part, str) for part in judge[:2]):
        raise entry.fail("judge", "must be [judge model, prompt name]")
    return judge[0], judge[1]


def _turn(entry: Entry) -> int:
    turn = entry.data.get("turn", 1)
    if not isinstance(turn, int) or turn < 1:
        raise entry.fail("turn", f"{turn!r} is not a turn number (1, 2, ...)")
    return turn


def _single(entry: Entry, imported: Imported) -> Grade:
    model, prompt_name = _judge(entry)
    score = entry.numeric("score")
    system = entry.text("model")
    imported.add_system(system)
    usable = score >= 0  # FastChat writes -1 when it could not read the judge's rating
    return Grade(
        prompt_id=entry.key("question_id"),
        system=system,
        scale=SCALE,
        source=import_source(f"{model}/{prompt_name}"),
        label=f"{score:g}" if usable else None,
        score=float(score) if usable else None,
        turn=_turn(entry),
        raw=str(entry.data.get("judgment", "")),
        error=None if usable else "the judge's rating could not be read (score -1)",
        reference_guided="math" in prompt_name,
        provenance=provenance(
            f"{model}/{prompt_name}", model, format=FORMAT, fastchat_judge=[model, prompt_name]
        ),
    )


def _pair(entry: Entry, imported: Imported) -> list[Judgment]:
    model, prompt_name = _judge(entry)
    model_1, model_2 = entry.text("model_1"), entry.text("model_2")
    imported.add_system(model_1)
    imported.add_system(model_2)
    turn = _turn(entry)
    judgments = []
    for game, order in _GAMES:
        winner = entry.text(f"{game}_winner")
        if winner not in _WINNERS:
            raise entry.fail(f"{game}_winner", f"{winner!r} is not one of {', '.join(_WINNERS)}")
        judgments.append(_game(entry, model, prompt_name, (model_1, model_2), order, winner, turn))
    return judgments


def _game(
    entry: Entry,
    model: str,
    prompt_name: str,
    pair: tuple[str, str],
    order: Order,
    winner: str,
    turn: int,
) -> Judgment:
    game = "g1" if order == "ab" else "g2"
    outcome = _WINNERS[winner]
    return Judgment(
        prompt_id=entry.key("question_id"),
        model_a=pair[0],
        model_b=pair[1],
        order=order,
        source=import_source(f"{model}/{prompt_name}"),
        outcome=outcome,
        label=winner,
        raw=str(entry.data.get(f"{game}_judgment", "")),
        error=None if outcome is not None else "the judge's verdict could not be read",
        reference_guided="math" in prompt_name,
        provenance=provenance(
            f"{model}/{prompt_name}", model, format=FORMAT, fastchat_judge=[model, prompt_name], turn=turn
        ),
    )
