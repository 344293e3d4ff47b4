"""Token totals and estimated cost per model and per stage.

Prices are USD per million input/output tokens, from a packaged table
(``evalkit/data/prices.yaml``, dated; prices change) that a config overrides with
``prices: {model_id_or_glob: {input: x, output: y}}``. Models served locally (fake,
local, gguf, vllm, vllm-server, openai-compatible) cost nothing unless the config
prices them, for example a paid host reached through ``openai-compatible``.

The same :class:`CostMeter` counts real usage during a run and estimates before one
(``--dry-run``): feed it the prompt estimate of evalkit.generators.tokens and the
request's ``max_tokens`` for every call the cache cannot answer.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from evalkit.errors import BudgetExceededError, ConfigError
from evalkit.generators.base import Completion, CompletionRequest
from evalkit.generators.tokens import estimate_prompt_tokens

FREE_PROVIDERS = frozenset({"fake", "local", "gguf", "vllm", "vllm-server", "openai-compatible"})
"""Providers that run on the user's own hardware and are free unless the config prices them."""

BATCH_DISCOUNT = 0.5
"""Batch jobs cost half the listed price at both OpenAI and Anthropic (2025-11)."""


@dataclass(frozen=True)
class Price:
    """USD per million tokens.

    Attributes:
        input: Price of a million prompt tokens.
        output: Price of a million generated tokens.
        batch_discount: Share of the price a provider batch job pays (both OpenAI and
            Anthropic charge half).

    """

    input: float
    output: float
    batch_discount: float = BATCH_DISCOUNT

    def cost(self, prompt_tokens: int, completion_tokens: int, *, batch: bool = False) -> float:
        """USD for one call with these token counts (at batch prices when ``batch``)."""
        usd = (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000
        return usd * self.batch_discount if batch else usd


FREE = Price(0.0, 0.0)


@cache
def builtin_prices() -> dict[str, Price]:
    """The packaged price table: model id (or id prefix) -> Price."""
    text = resources.files("evalkit").joinpath("data/prices.yaml").read_text(encoding="utf-8")
    return parse_prices(yaml.safe_load(text)["models"], source="evalkit/data/prices.yaml")


def parse_prices(raw: Mapping[str, Any], *, source: str = "config") -> dict[str, Price]:
    """Validate a ``{model: {input: x, output: y}}`` mapping into Prices.

    Raises:
        ConfigError: An entry is not a mapping with non-negative ``input`` and ``output``.

    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: 'prices' must map model ids or globs to {{input: x, output: y}}")
    return {str(model): _parse_price(model, entry, source) for model, entry in raw.items()}


def _parse_price(model: object, entry: object, source: str) -> Price:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{source}: prices.{model} must be a mapping like {{input: 2.5, output: 10}}")
    values = []
    for field in ("input", "output"):
        value = entry.get(field)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(
                f"{source}: prices.{model}.{field} must be a non-negative number (USD per million tokens)"
            )
        values.append(float(value))
    discount = entry.get("batch_discount", BATCH_DISCOUNT)
    if isinstance(discount, bool) or not isinstance(discount, int | float) or not 0 <= discount <= 1:
        raise ConfigError(f"{source}: prices.{model}.batch_discount must be a number from 0 to 1")
    return Price(values[0], values[1], float(discount))


def _provider_and_name(model: str) -> tuple[str | None, str]:
    provider, sep, name = model.partition("/")
    return (provider, name) if sep else (None, model)


class PriceTable:
    """Looks up the price of a model spec or reported model id.

    User overrides win (exact key first, then the longest matching glob); then local
    providers are free; then the packaged table matches by exact id or by the longest key
    that prefixes the id followed by "-" ("gpt-4o" prices "gpt-4o-2024-08-06").
    """

    def __init__(self, overrides: Mapping[str, Price] | None = None) -> None:
        self.overrides = dict(overrides or {})

    @classmethod
    def from_config(cls, prices: Mapping[str, Any] | None) -> PriceTable:
        """Build a table from the config's ``prices`` section (None: packaged prices only)."""
        return cls(parse_prices(prices) if prices else None)

    def price_for(self, model: str, model_id: str | None = None) -> Price | None:
        """Price of a call to ``model`` (spec or id) that reported ``model_id``; None if unknown."""
        provider, name = _provider_and_name(model)
        names = [n for n in (model, model_id, name) if n]
        override = self.override(names)
        if override is not None:
            return override
        if provider in FREE_PROVIDERS:
            return FREE
        for candidate in names[1:] if provider else names:
            found = _prefix_match(builtin_prices(), candidate)
            if found is not None:
                return found
        return None

    def override(self, names: Iterable[str]) -> Price | None:
        """The config's price for any of these names (spec, reported id, bare name), if it sets one."""
        names = list(names)
        for candidate in names:
            if candidate in self.overrides:
                return self.overrides[candidate]
        for pattern in sorted(self.overrides, key=len, reverse=True):
            if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in names):
                return self.overrides[pattern]
        return None


def _prefix_match(table: Mapping[str, Price], model_id: str) -> Price | None:
    matches = [key for key in table if model_id == key or model_id.startswith(key + "-")]
    return table[max(matches, key=len)] if matches else None


@dataclass
class TokenTotals:
    """Running totals for one model or one stage.

    Attributes:
        calls: Calls counted.
        prompt_tokens: Input tokens.
        completion_tokens: Output tokens.
        usd: Estimated cost of the priced calls.
        unpriced_calls: Calls to models with no known price (not in ``usd``).

    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float = 0.0
    unpriced_calls: int = 0

    def add(self, prompt_tokens: int, completion_tokens: int, usd: float | None) -> None:
        """Count one call (``usd`` None: the model has no known price)."""
        self.calls += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        if usd is None:
            self.unpriced_calls += 1
        else:
            self.usd += usd


class CostMeter:
    """Token totals and estimated USD per model and per stage.

    Attributes:
        prices: The table used to price each call.

    """

    def __init__(self, prices: PriceTable | None = None) -> None:
        self.prices = prices or PriceTable()
        self._models: dict[str, TokenTotals] = {}
        self._stages: dict[str, TokenTotals] = {}

    def add(
        self,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        *,
        stage: str = "generate",
        model_id: str | None = None,
        batch: bool = False,
    ) -> float | None:
        """Count one call and return its cost (None when the model has no known price).

        Args:
            model: The spec ("openai/gpt-4o") or model id the totals are kept under.
            prompt_tokens: Input tokens of the call.
            completion_tokens: Output tokens of the call.
            stage: "generate", "judge", "grade", ... for per-stage totals.
            model_id: The exact id the provider reported, priced when it is more specific.
            batch: The call went through a provider batch job (priced at the batch discount).

        """
        price = self.prices.price_for(model, model_id)
        usd = None if price is None else price.cost(prompt_tokens, completion_tokens, batch=batch)
        for table, key in ((self._models, model), (self._stages, stage)):
            table.setdefault(key, TokenTotals()).add(prompt_tokens, completion_tokens, usd)
        return usd

    def add_completion(
        self, model: str, completion: Completion, *, stage: str = "generate", batch: bool = False
    ) -> float | None:
        """Count a finished call from the usage the provider reported."""
        return self.add(
            model,
            completion.prompt_tokens,
            completion.completion_tokens,
            stage=stage,
            model_id=completion.model_id or None,
            batch=batch,
        )

    def add_estimate(
        self, model: str, request: CompletionRequest, *, stage: str = "generate", batch: bool = False
    ) -> float | None:
        """Count a call not yet made, with estimated input and the full ``max_tokens`` as output."""
        return self.add(
            model, estimate_prompt_tokens(request), request.params.max_tokens, stage=stage, batch=batch
        )

    def estimate(self, model: str, request: CompletionRequest, *, batch: bool = False) -> float:
        """The estimated cost of one call not yet made, without counting it (0 when unpriced)."""
        price = self.prices.price_for(model)
        if price is None:
            return 0.0
        return price.cost(estimate_prompt_tokens(request), request.params.max_tokens, batch=batch)

    @property
    def by_model(self) -> dict[str, TokenTotals]:
        """Totals per model key, as copies."""
        return {k: TokenTotals(**asdict(v)) for k, v in self._models.items()}

    @property
    def by_stage(self) -> dict[str, TokenTotals]:
        """Totals per stage, as copies."""
        return {k: TokenTotals(**asdict(v)) for k, v in self._stages.items()}

    @property
    def total_usd(self) -> float:
        """Estimated cost of every priced call so far."""
        return sum(t.usd for t in self._models.values())

    @property
    def calls(self) -> int:
        """Calls counted so far."""
        return sum(t.calls for t in self._models.values())

    @property
    def unpriced_models(self) -> list[str]:
        """Model keys with calls but no known price (their cost is not in ``total_usd``)."""
        return sorted(k for k, t in self._models.items() if t.unpriced_calls)

    def exceeds(self, max_cost: float | None) -> bool:
        """True once the estimated total has passed ``max_cost`` (None: no limit)."""
        return max_cost is not None and self.total_usd > max_cost

    def summary(self) -> dict[str, Any]:
        """JSON-ready totals for run.json and the report."""
        return {
            "total_usd": self.total_usd,
            "calls": self.calls,
            "by_model": {k: asdict(v) for k, v in sorted(self._models.items())},
            "by_stage": {k: asdict(v) for k, v in sorted(self._stages.items())},
            "unpriced_models": self.unpriced_models,
        }


def budget_exceeded(meter: CostMeter, max_cost: float, not_started: int) -> BudgetExceededError:
    """The error to raise when ``--max-cost`` stopped a run, saying how to go on."""
    return BudgetExceededError(
        f"estimated cost ${meter.total_usd:.4f} passed --max-cost ${max_cost:.4f}; "
        f"{not_started} call(s) were not started. Finished work is saved and cached: "
        "re-run the same command with a higher --max-cost to resume."
    )
