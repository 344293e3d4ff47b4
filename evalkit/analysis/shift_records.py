"""The stored result of a token distribution shift analysis: one record per scored answer.

Records live in the run folder as ``shift.jsonl``, so the report shows the analysis without
loading the model again.
"""

from __future__ import annotations

from pathlib import Path

from evalkit.records import Record
from evalkit.runner.rundir import RecordStore

SHIFT_FILE = "shift.jsonl"


class ShiftAnswer(Record):
    """How the base model ranks each token of one aligned answer (one turn of one response).

    Attributes:
        prompt_id: The prompt answered.
        base: The base system whose model and template scored the answer.
        aligned: The system that wrote the answer.
        sample: The response sample.
        turn: The prompt turn (0-based) of the answer.
        tokens: The answer's tokens, as the base model's tokenizer splits it.
        ranks: Per token, the base model's rank of it (1: its own top choice).
        logprobs: Per token, the base model's log-probability of it.
        top_tokens: Per token position, the base model's own top choice.
        fingerprint: What produced the record (base model, template, answer); a stale one is redone.
        error: Why the answer could not be scored (then the token fields are empty).

    """

    prompt_id: str
    base: str
    aligned: str
    sample: int = 0
    turn: int = 0
    tokens: tuple[str, ...] = ()
    ranks: tuple[int, ...] = ()
    logprobs: tuple[float, ...] = ()
    top_tokens: tuple[str, ...] = ()
    fingerprint: str = ""
    error: str | None = None

    @property
    def key(self) -> tuple[str, str, str, int, int]:
        """Identity used for resume and de-duplication."""
        return (self.prompt_id, self.base, self.aligned, self.sample, self.turn)


def shift_store(run_path: Path) -> RecordStore[ShiftAnswer]:
    """The run folder's shift.jsonl."""
    return RecordStore(run_path / SHIFT_FILE, ShiftAnswer)


def load_shift(run_path: Path) -> list[ShiftAnswer]:
    """Every shift record of a run folder ([] when it has none)."""
    return shift_store(run_path).load()
