"""evalkit: compare aligned language models with LLM judges, human labels and honest uncertainty.

The public API is ``__all__``; everything else may change between versions.
"""

from __future__ import annotations

import typing as _typing
from importlib import import_module as _import_module

from evalkit.errors import (
    BatchesPendingError,
    BudgetExceededError,
    ConfigError,
    EndpointUnavailableError,
    EvalkitError,
    GenerationError,
    MissingDependencyError,
    MissingKeyError,
    UnknownSpecError,
)
from evalkit.generators.base import (
    Capabilities,
    Completion,
    CompletionRequest,
    Generator,
    SamplingParams,
    ScoredContinuation,
    TokenLogprob,
)
from evalkit.generators.options import ProviderOptions
from evalkit.generators.registry import create_generator
from evalkit.records import Grade, JudgeProvenance, Judgment, Message, Prompt, Response

if _typing.TYPE_CHECKING:
    from evalkit.analysis.shift import analyze_shift
    from evalkit.analysis.shift_records import ShiftAnswer
    from evalkit.api import Run, load_run, run, run_async
    from evalkit.distributed.config import ExecutorConfig
    from evalkit.human.app import create_label_app
    from evalkit.human.campaign import Campaign, load_campaign
    from evalkit.interop import export_run, import_run
    from evalkit.interop.compare import compare_runs
    from evalkit.judging.seam import Grader, PairwiseJudge
    from evalkit.prompts import PromptSet, load_prompt_set
    from evalkit.runner.config import JudgeConfig, RunConfig, SystemConfig, load_config
    from evalkit.runner.meta import RunMeta, RunRecords

# Heavy modules (pandas, matplotlib, the pipeline) load on first use, so `import evalkit`
# and the CLI start fast and records can be used without them.
_LAZY = {
    "ShiftAnswer": "evalkit.analysis.shift_records",
    "analyze_shift": "evalkit.analysis.shift",
    "Run": "evalkit.api",
    "load_run": "evalkit.api",
    "run": "evalkit.api",
    "run_async": "evalkit.api",
    "ExecutorConfig": "evalkit.distributed.config",
    "JudgeConfig": "evalkit.runner.config",
    "RunConfig": "evalkit.runner.config",
    "SystemConfig": "evalkit.runner.config",
    "load_config": "evalkit.runner.config",
    "RunMeta": "evalkit.runner.meta",
    "RunRecords": "evalkit.runner.meta",
    "PairwiseJudge": "evalkit.judging.seam",
    "Grader": "evalkit.judging.seam",
    "Campaign": "evalkit.human.campaign",
    "load_campaign": "evalkit.human.campaign",
    "create_label_app": "evalkit.human.app",
    "import_run": "evalkit.interop",
    "export_run": "evalkit.interop",
    "compare_runs": "evalkit.interop.compare",
    "PromptSet": "evalkit.prompts",
    "load_prompt_set": "evalkit.prompts",
}


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        return getattr(_import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'evalkit' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "BatchesPendingError",
    "BudgetExceededError",
    "Campaign",
    "Capabilities",
    "Completion",
    "CompletionRequest",
    "ConfigError",
    "EndpointUnavailableError",
    "EvalkitError",
    "ExecutorConfig",
    "GenerationError",
    "Generator",
    "Grade",
    "Grader",
    "JudgeConfig",
    "JudgeProvenance",
    "Judgment",
    "Message",
    "MissingDependencyError",
    "MissingKeyError",
    "PairwiseJudge",
    "Prompt",
    "PromptSet",
    "ProviderOptions",
    "Response",
    "Run",
    "RunConfig",
    "RunMeta",
    "RunRecords",
    "SamplingParams",
    "ScoredContinuation",
    "ShiftAnswer",
    "SystemConfig",
    "TokenLogprob",
    "UnknownSpecError",
    "__version__",
    "analyze_shift",
    "compare_runs",
    "create_generator",
    "create_label_app",
    "export_run",
    "import_run",
    "load_campaign",
    "load_config",
    "load_prompt_set",
    "load_run",
    "run",
    "run_async",
]
