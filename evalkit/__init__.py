"""evalkit: compare aligned language models with LLM judges, human labels and honest uncertainty.

The public API is ``__all__``; everything else may change between versions.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from evalkit.errors import (
    BudgetExceededError,
    ConfigError,
    EvalkitError,
    GenerationError,
    MissingDependencyError,
    MissingKeyError,
    UnknownSpecError,
)
from evalkit.generators.base import (
    Completion,
    CompletionRequest,
    Generator,
    SamplingParams,
    ScoredContinuation,
    TokenLogprob,
)
from evalkit.generators.registry import create_generator
from evalkit.records import Grade, JudgeProvenance, Judgment, Message, Prompt, Response, RunRecords

if TYPE_CHECKING:
    from evalkit.analysis.shift import analyze_shift
    from evalkit.analysis.shift_records import ShiftAnswer
    from evalkit.api import Run, load_run, run, run_async
    from evalkit.runner.config import JudgeConfig, RunConfig, SystemConfig, load_config

# Heavy modules (pandas, matplotlib, the pipeline) load on first use, so `import evalkit`
# and the CLI start fast and records can be used without them.
_LAZY = {
    "ShiftAnswer": "evalkit.analysis.shift_records",
    "analyze_shift": "evalkit.analysis.shift",
    "Run": "evalkit.api",
    "load_run": "evalkit.api",
    "run": "evalkit.api",
    "run_async": "evalkit.api",
    "JudgeConfig": "evalkit.runner.config",
    "RunConfig": "evalkit.runner.config",
    "SystemConfig": "evalkit.runner.config",
    "load_config": "evalkit.runner.config",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'evalkit' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "BudgetExceededError",
    "Completion",
    "CompletionRequest",
    "ConfigError",
    "EvalkitError",
    "GenerationError",
    "Generator",
    "Grade",
    "JudgeConfig",
    "JudgeProvenance",
    "Judgment",
    "Message",
    "MissingDependencyError",
    "MissingKeyError",
    "Prompt",
    "Response",
    "Run",
    "RunConfig",
    "RunRecords",
    "SamplingParams",
    "ScoredContinuation",
    "ShiftAnswer",
    "SystemConfig",
    "TokenLogprob",
    "UnknownSpecError",
    "__version__",
    "analyze_shift",
    "create_generator",
    "load_config",
    "load_run",
    "run",
    "run_async",
]
