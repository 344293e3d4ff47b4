from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.cache import CachedCaller, ResponseCache, request_key
from evalkit.generators.base import Completion, CompletionRequest, SamplingParams
from evalkit.generators.fake import create
from evalkit.records import Message


def _request(text: str = "hi", **params: object) -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content=text),), params=SamplingParams(**params))


def test_key_covers_messages_params_template_and_backend() -> None:
    base = request_key({"spec": "x"}, _request())
    assert base == request_key({"spec": "x"}, _request())
    assert base != request_key({"spec": "y"}, _request())
    assert base != request_key({"spec": "x"}, _request("hi!"))
    assert base != request_key({"spec": "x"}, _request(temperature=0.7))
    raw = CompletionRequest(prompt="User: hi\nAssistant:")
    other_template = CompletionRequest(prompt="### Question: hi\n### Answer:")
    assert request_key({"spec": "x"}, raw) != request_key({"spec": "x"}, other_template)


def test_request_needs_exactly_one_input() -> None:
    with pytest.raises(ValueError):
        CompletionRequest()
    with pytest.raises(ValueError):
        CompletionRequest(messages=(Message(role="user", content="a"),), prompt="a")


async def test_second_call_is_served_from_cache(tmp_path: Path) -> None:
    generator = create("echo", {})
    caller = CachedCaller(generator, ResponseCache(tmp_path / "c.sqlite"))
    first = await caller(_request())
    second = await caller(_request())
    assert first == second
    assert (caller.calls, caller.hits) == (1, 1)
    # A new cache object on the same file (a re-run) still hits.
    again = CachedCaller(create("echo", {}), ResponseCache(tmp_path / "c.sqlite"))
    assert await again(_request()) == first
    assert again.calls == 0


async def test_errors_are_not_cached(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    caller = CachedCaller(create("fail", {"message": "boom"}), cache)
    with pytest.raises(Exception, match="boom"):
        await caller(_request())
    assert len(cache) == 0


async def test_complete_many_mixes_hits_and_failures(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    caller = CachedCaller(create("echo", {}), cache)
    await caller(_request("a"))
    results = await caller.complete_many([_request("a"), _request("b")])
    assert [r.text for r in results if isinstance(r, Completion)] == ["Echo: a", "Echo: b"]
    assert (caller.calls, caller.hits) == (2, 1)
    failing = CachedCaller(create("fail", {}), cache)
    [outcome] = await failing.complete_many([_request("z")])
    assert isinstance(outcome, Exception)


def test_clear_empties_the_cache(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.put("k", Completion(text="x"))
    assert cache.get("k") == Completion(text="x")
    assert cache.clear() == 1
    assert cache.get("k") is None


def test_get_many_and_put_many_round_trip(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    items = [(f"k{i}", Completion(text=str(i))) for i in range(1200)]  # more than one lookup chunk
    cache.put_many(items)
    found = cache.get_many(["k5", "absent", "k1100"])
    assert [c.text if c else None for c in found] == ["5", None, "1100"]
    assert len(cache) == 1200
