"""Error hierarchy. Every user-facing error says what went wrong and what to do next."""

from __future__ import annotations


class EvalkitError(Exception):
    """Base class for errors evalkit reports to the user as one clear message."""


class ConfigError(EvalkitError):
    """A config file, prompt set, template or judge definition is invalid.

    Messages name the file, line or field and say how to fix it.
    """


class MissingDependencyError(EvalkitError):
    """An optional package is missing; the message gives the exact pip command."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the '{package}' package, which is not installed. "
            f"Install it with: pip install 'evalkit[{extra}]'"
        )
        self.package = package
        self.extra = extra


class MissingKeyError(EvalkitError):
    """An API key is needed but not set; the message names the environment variable."""

    def __init__(self, env_var: str, provider: str) -> None:
        super().__init__(
            f"{provider} needs an API key: set the environment variable {env_var} "
            "(keys are read from the environment and never written to disk)."
        )
        self.env_var = env_var


class GenerationError(EvalkitError):
    """A model call failed for good (after any retries). Recorded on the item, not raised to the user."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class UnknownSpecError(ConfigError):
    """A model or judge spec names nothing evalkit knows."""


class BudgetExceededError(EvalkitError):
    """The estimated cost passed --max-cost; the run stopped and can be resumed."""


class EndpointUnavailableError(EvalkitError):
    """A backend's endpoint is plainly gone (refused or unanswered many times in a row).

    The run stops at once instead of spending every remaining item's retries; finished
    items are kept and the same command resumes once the endpoint is back.
    """


class RequestInBatch(EvalkitError):
    """A request was written to (or waits in) a provider batch; its item runs again once it is back."""


class BatchesPendingError(EvalkitError):
    """``--detach``: batches were submitted or are still running; running again collects them."""
