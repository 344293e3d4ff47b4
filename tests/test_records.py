from __future__ import annotations

import pydantic
import pytest

import evalkit
from evalkit.records import Judgment, Prompt, Response, swap_outcome


def test_records_are_frozen_and_strict() -> None:
    prompt = Prompt(id="p1", turns=("Hi",))
    with pytest.raises(pydantic.ValidationError):
        prompt.id = "p2"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        Prompt(id="p1", turns=("Hi",), colour="red")  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        Prompt(id="p1", turns=())


def test_response_helpers() -> None:
    response = Response(prompt_id="p", system="s", outputs=("one", "two"), finish_reasons=("stop", "length"))
    assert response.text == "two"
    assert response.truncated
    assert response.key == ("p", "s", 0)
    assert Response.model_validate_json(response.model_dump_json()) == response


def test_outcomes_are_literals_and_swap() -> None:
    assert [swap_outcome(o) for o in ("a", "b", "tie", None)] == ["b", "a", "tie", None]
    with pytest.raises(pydantic.ValidationError):
        Judgment(prompt_id="p", model_a="x", model_b="y", order="ab", source="human:ann", outcome=1.5)  # type: ignore[arg-type]


def test_public_api_is_all_and_resolves() -> None:
    for name in evalkit.__all__:
        assert getattr(evalkit, name) is not None, name
    assert {"run", "run_async", "load_run", "Run", "Prompt", "Judgment", "Grade"} <= set(evalkit.__all__)
    assert sorted(evalkit.__all__) == list(evalkit.__all__)
