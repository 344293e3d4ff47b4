"""Price lookups, token estimates and the cost meter, on hand-worked numbers."""

from __future__ import annotations

import pytest

from evalkit.costs import (
    FREE,
    CostMeter,
    Price,
    PriceTable,
    budget_exceeded,
    builtin_prices,
    parse_prices,
)
from evalkit.errors import BudgetExceededError, ConfigError
from evalkit.generators.base import Completion, CompletionRequest, SamplingParams
from evalkit.generators.tokens import estimate_prompt_tokens, estimate_request_tokens
from evalkit.records import Message


def test_price_of_one_call():
    assert Price(2.5, 10.0).cost(1_000, 500) == pytest.approx(0.0025 + 0.005)


@pytest.mark.parametrize(
    ("model", "model_id", "expected"),
    [
        ("openai/gpt-4o", None, Price(2.5, 10.0)),
        ("openai/gpt-4o", "gpt-4o-2024-08-06", Price(2.5, 10.0)),
        ("openai/gpt-4o", "gpt-4o-2024-05-13", Price(5.0, 15.0)),
        ("openai/gpt-4o-mini", "gpt-4o-mini-2024-07-18", Price(0.15, 0.6)),
        ("gpt-4.1-nano-2025-04-14", None, Price(0.1, 0.4)),
        ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5-20250929", Price(3.0, 15.0)),
        ("anthropic/claude-3-5-haiku-latest", None, Price(0.8, 4.0)),
        ("anthropic/claude-opus-4-1-20250805", None, Price(15.0, 75.0)),
    ],
)
def test_packaged_prices_match_by_longest_prefix(model, model_id, expected):
    assert PriceTable().price_for(model, model_id) == expected


def test_local_models_are_free_and_unknown_paid_models_are_unpriced():
    table = PriceTable()
    for spec in ("fake/echo", "local/gemma-3-270m", "gguf/x.gguf", "vllm/m", "openai-compatible/vllm/gpt-4o"):
        assert table.price_for(spec) == FREE
    assert table.price_for("openai/some-future-model") is None
    assert table.price_for("openai/gpt-4omni") is None  # a prefix must end at a "-"


def test_config_overrides_win_exact_then_longest_glob():
    table = PriceTable.from_config(
        {
            "gpt-4o*": {"input": 1, "output": 2},
            "gpt-4o-mini*": {"input": 0.1, "output": 0.2},
            "openai/gpt-4o": {"input": 9, "output": 9},
            "openai-compatible/together/*": {"input": 0.5, "output": 0.5},
        }
    )
    assert table.price_for("openai/gpt-4o", "gpt-4o-2024-08-06") == Price(9, 9)
    assert table.price_for("openai/gpt-4o-mini", "gpt-4o-mini-2024-07-18") == Price(0.1, 0.2)
    assert table.price_for("openai/gpt-4o-2024-11-20") == Price(1, 2)
    assert table.price_for("openai-compatible/together/llama-70b") == Price(0.5, 0.5)
    assert table.price_for("anthropic/claude-3-haiku-20240307") == Price(0.25, 1.25)


@pytest.mark.parametrize(
    ("prices", "field"),
    [({"m": {"input": -1, "output": 1}}, "prices.m.input"), ({"m": {"input": 1}}, "prices.m.output"),
     ({"m": {"input": True, "output": 1}}, "prices.m.input"), ({"m": 3}, "prices.m must be a mapping")],
)  # fmt: skip
def test_bad_price_overrides_name_the_field(prices, field):
    with pytest.raises(ConfigError, match=field):
        parse_prices(prices)


def test_packaged_table_is_complete():
    table = builtin_prices()
    assert {"gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "claude-3-5-haiku"} <= set(table)
    assert all(p.output >= p.input > 0 for p in table.values())


def test_token_estimates_are_characters_over_four_plus_message_overhead():
    chat = CompletionRequest(
        messages=(Message(role="system", content="x" * 10), Message(role="user", content="y" * 31)),
        params=SamplingParams(max_tokens=100),
    )
    assert estimate_prompt_tokens(chat) == 11 + 2 * 4  # ceil(41 / 4) + 4 per message
    assert estimate_request_tokens(chat) == 19 + 100
    raw = CompletionRequest(prompt="z" * 9, params=SamplingParams(max_tokens=1))
    assert (estimate_prompt_tokens(raw), estimate_request_tokens(raw)) == (3, 4)


def test_meter_totals_per_model_and_stage():
    meter = CostMeter()
    assert meter.add("openai/gpt-4o", 1_000_000, 0, stage="generate") == pytest.approx(2.5)
    meter.add("openai/gpt-4o", 0, 100_000, stage="judge", model_id="gpt-4o-2024-08-06")
    meter.add("local/gemma-3-270m", 500, 50, stage="generate")
    assert meter.add("openai/mystery", 10, 10, stage="judge") is None
    assert meter.total_usd == pytest.approx(2.5 + 1.0)
    assert meter.calls == 4
    by_model, by_stage = meter.by_model, meter.by_stage
    assert (by_model["openai/gpt-4o"].calls, by_model["openai/gpt-4o"].usd) == (2, pytest.approx(3.5))
    assert (by_model["local/gemma-3-270m"].prompt_tokens, by_model["local/gemma-3-270m"].usd) == (500, 0.0)
    assert by_stage["generate"].usd == pytest.approx(2.5) and by_stage["judge"].usd == pytest.approx(1.0)
    assert by_stage["judge"].unpriced_calls == 1
    assert meter.unpriced_models == ["openai/mystery"]
    summary = meter.summary()
    assert summary["total_usd"] == pytest.approx(3.5)
    assert summary["by_stage"]["generate"]["completion_tokens"] == 50


def test_meter_counts_completions_by_their_reported_model():
    meter = CostMeter()
    completion = Completion(
        text="x", model_id="gpt-4o-2024-05-13", prompt_tokens=1_000, completion_tokens=1_000
    )
    assert meter.add_completion("openai/gpt-4o", completion, stage="judge") == pytest.approx(0.005 + 0.015)


def test_dry_run_estimates_use_max_tokens_as_output():
    meter = CostMeter()
    request = CompletionRequest(
        messages=(Message(role="user", content="q" * 396),), params=SamplingParams(max_tokens=1_000)
    )
    usd = meter.add_estimate("openai/gpt-4o-mini", request, stage="judge")
    assert usd == pytest.approx((103 * 0.15 + 1_000 * 0.6) / 1_000_000)


def test_budget():
    meter = CostMeter()
    assert not meter.exceeds(None) and not meter.exceeds(0.0)
    meter.add("openai/gpt-4o", 400_000, 0)
    assert meter.exceeds(0.5) and not meter.exceeds(1.0) and not meter.exceeds(None)
    error = budget_exceeded(meter, 0.5, not_started=7)
    assert isinstance(error, BudgetExceededError)
    assert "$1.0000" in str(error) and "$0.5000" in str(error) and "7 call(s)" in str(error)
