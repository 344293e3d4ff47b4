"""Judges as data (judges/*.yaml) and the engine that runs them.

``PairwiseJudge`` and ``Grader`` are the seam (Protocols) every verdict source implements.
LLM judges are one implementation: load a definition with ``load_judge``, build a judge with
``make_judge``, then call ``LLMPairwiseJudge.judge`` or ``LLMGrader.grade`` with any async
``complete`` function (a generator's ``complete`` or a cached caller), or bind one with
``complete=`` and use the seam's ``judge_pair`` / ``grade_response``.
"""

from evalkit.judging.context import MissingReferenceError
from evalkit.judging.engine import REASK_SEPARATOR, sampling_params
from evalkit.judging.extraction import ParsedVerdict, parse_verdict
from evalkit.judging.factory import make_judge
from evalkit.judging.grader import LLMGrader
from evalkit.judging.loading import JUDGES_DIR_ENV, default_judges_dirs, list_judges, load_judge
from evalkit.judging.pairwise import LLMPairwiseJudge, canonical_outcome
from evalkit.judging.scoring import canonical_score, expected_score, scale_label_orders
from evalkit.judging.seam import Grader, PairwiseJudge
from evalkit.judging.spec import JudgeSpec, LabelSpec
from evalkit.judging.templates import template_hash

__all__ = [
    "JUDGES_DIR_ENV",
    "REASK_SEPARATOR",
    "Grader",
    "JudgeSpec",
    "LLMGrader",
    "LLMPairwiseJudge",
    "LabelSpec",
    "MissingReferenceError",
    "PairwiseJudge",
    "ParsedVerdict",
    "canonical_outcome",
    "canonical_score",
    "default_judges_dirs",
    "expected_score",
    "list_judges",
    "load_judge",
    "make_judge",
    "parse_verdict",
    "sampling_params",
    "scale_label_orders",
    "template_hash",
]
