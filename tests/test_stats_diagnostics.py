import math

import pytest

from evalkit.stats import judge_diagnostics, model_family
from tests.stats_helpers import judgment, response


def _first_shown_judge(n: int, **kwargs) -> list:
    """A judge that always picks the response shown first, on n prompts in both orders."""
    return [
        j
        for p in range(n)
        for j in (
            judgment("a", "ab", prompt=f"p{p}", **kwargs),
            judgment("b", "ba", prompt=f"p{p}", **kwargs),
        )
    ]


def test_position_biased_judge_is_flagged():
    [d] = judge_diagnostics(_first_shown_judge(25), [])
    assert (d.judgments, d.pairs) == (50, 25)
    assert (d.position_flip_rate, d.inconsistency_rate, d.first_position_preference) == (1.0, 1.0, 1.0)
    assert d.tie_rate == 0.0
    assert any("position flips" in w for w in d.warnings)
    assert any("position bias" in w for w in d.warnings)


def test_consistent_judge_has_no_flips_and_no_warnings():
    judgments = [
        j
        for p in range(30)
        for j in (judgment("a", "ab", prompt=f"p{p}"), judgment("a", "ba", prompt=f"p{p}"))
    ]
    [d] = judge_diagnostics(judgments, [])
    assert (d.position_flip_rate, d.first_position_preference) == (0.0, 0.5)
    assert d.warnings == ()


def test_unparsed_errors_and_ties_are_counted_separately():
    judgments = [
        judgment("tie", "ab", prompt="p1"),
        judgment("a", "ba", prompt="p1"),
        judgment(None, "ab", prompt="p2"),
        judgment(None, "ba", prompt="p2", error="rate limited"),
        judgment("a", "ab", prompt="p3"),
    ]
    [d] = judge_diagnostics(judgments, [])
    assert (d.judgments, d.unparsed, d.errors) == (5, 1, 1)
    assert d.unparsed_rate == pytest.approx(1 / 5)
    assert d.tie_rate == pytest.approx(1 / 3)
    # Decided judgments: p1 "ba" chose a (shown second), p3 "ab" chose a (shown first).
    assert d.first_position_preference == 0.5
    assert (d.pairs, d.inconsistency_rate, d.position_flip_rate) == (1, 1.0, 0.0)


def test_length_bias_measures():
    judgments = [
        judgment("a", prompt="p1"),
        judgment("b", prompt="p2"),
        judgment("a", prompt="p3"),
        judgment("tie", prompt="p4"),
    ]
    # p1 and p2: the longer won; p3: the shorter won; p4: a tie, not decided.
    lengths = {"p1": (300, 100), "p2": (100, 300), "p3": (100, 500), "p4": (200, 100)}
    responses = [response(p, s, n) for p, pair in lengths.items() for s, n in zip("AB", pair, strict=True)]
    [d] = judge_diagnostics(judgments, responses)
    assert d.longer_wins_rate == pytest.approx(2 / 3)
    assert math.isfinite(d.length_coefficient)
    low, high = d.length_coefficient_ci
    assert low <= high


def test_length_coefficient_is_positive_when_longer_always_wins():
    judgments, responses = [], []
    for p in range(40):
        longer_is_a = p % 2 == 0
        judgments.append(judgment("a" if longer_is_a else "b", prompt=f"p{p}"))
        responses += [
            response(f"p{p}", "A", 400 if longer_is_a else 100 + p),
            response(f"p{p}", "B", 100 + p if longer_is_a else 400),
        ]
    [d] = judge_diagnostics(judgments, responses)
    assert d.longer_wins_rate == 1.0
    assert d.length_coefficient > 1.0 and d.length_coefficient_ci[0] > 0.0
    assert any("length bias" in w for w in d.warnings)


def test_sources_are_diagnosed_separately_and_humans_not_at_all():
    judgments = [
        judgment("a", source="llm:x"),
        judgment(None, source="llm:z"),
        judgment("a", "ba", source="human:y"),  # a person shown one order: no position statistics
    ]
    assert [(d.source, d.unparsed) for d in judge_diagnostics(judgments, [])] == [("llm:x", 0), ("llm:z", 1)]


@pytest.mark.parametrize(
    ("judge", "system", "warned"),
    [
        ("openai/gpt-4o", "openai/gpt-4-turbo", True),
        ("anthropic/claude-3-5-sonnet-latest", "anthropic/claude-2.1", True),
        ("local/gemma-3-270m", "gguf//models/gemma-2-2b-it.gguf", True),
        ("fake/echo", "fake/echo", True),
        ("openai/gpt-4o", "openai/gpt-3.5-turbo", False),
        ("openai/gpt-4o", "anthropic/claude-2", False),
    ],
)
def test_self_preference_warning(judge: str, system: str, warned: bool):
    judgments = [judgment("a", a="cand", b="base", model_spec=judge)]
    [d] = judge_diagnostics(judgments, [], {"cand": system, "base": "vllm//models/mistral-7b"})
    flagged = [w for w in d.warnings if "self-preference" in w]
    assert bool(flagged) == warned
    if warned:
        assert "'cand'" in flagged[0]


def test_self_preference_uses_response_model_ids():
    judgments = [judgment("a", a="cand", b="base", model_spec="openai/gpt-4o")]
    responses = [
        response("p1", "cand", 10, model_id="gpt-4o-2024-08-06"),
        response("p1", "base", 10, model_id="qwen2.5-7b"),
    ]
    [d] = judge_diagnostics(judgments, responses)
    assert [w for w in d.warnings if "self-preference" in w and "'cand'" in w]
    assert not [w for w in d.warnings if "'base'" in w]


@pytest.mark.parametrize(
    ("spec", "family"),
    [
        ("openai/gpt-4o", "gpt-4"),
        ("gpt-4-turbo", "gpt-4"),
        ("gpt4_1106_preview", "gpt-4"),
        ("gpt-3.5-turbo", "gpt-3"),
        ("anthropic/claude-3-5-sonnet", "claude"),
        ("local/gemma-3-270m", "gemma"),
        ("vllm//models/Meta-Llama-3-8B-Instruct", "llama"),
        ("openai-compatible/qwen2.5:7b", "qwen"),
        ("dolphin-2", "dolphin"),
        ("", ""),
    ],
)
def test_model_family(spec: str, family: str):
    assert model_family(spec) == family


def test_self_preference_is_one_warning_per_family_listing_the_systems():
    judgments = [
        judgment("a", a="gpt-a", b="gpt-b", model_spec="openai/gpt-4o"),
        judgment("a", a="gpt-a", b="gpt-c", model_spec="openai/gpt-4o"),
        judgment("a", a="gpt-a", b="claude", model_spec="openai/gpt-4o"),
    ]
    models = {"gpt-a": "openai/gpt-4o", "gpt-b": "openai/gpt-4-turbo", "gpt-c": "openai/gpt-4o-mini"}
    models["claude"] = "anthropic/claude-2.1"
    [d] = judge_diagnostics(judgments, [], models)
    [warning] = [w for w in d.warnings if "self-preference" in w]
    assert "'gpt-a', 'gpt-b', 'gpt-c'" in warning and "claude" not in warning
