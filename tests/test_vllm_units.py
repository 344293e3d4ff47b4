"""The vLLM backends' pure parts: options, name mapping, templates, batching, server process.

None of these need vLLM itself, so they run in the main test suite too.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest

from evalkit.errors import ConfigError, EvalkitError, GenerationError, MissingDependencyError
from evalkit.generators.base import Completion, CompletionRequest, SamplingParams
from evalkit.generators.vllm import engine as vllm_engine
from evalkit.generators.vllm.config import PACKAGED_DEFAULTS, VllmOptions, directory_fingerprint
from evalkit.generators.vllm.hf_convert import GEMMA_CHAT_TEMPLATE, hf_tensor_name
from evalkit.generators.vllm.runtime import MicroBatcher, derived_seed, to_completion, token_logprobs
from evalkit.generators.vllm.scoring import score_on_server, scored_continuation, vocabulary_fingerprint
from evalkit.generators.vllm.server import ServerProcess, _api_root, free_port, server_command
from evalkit.records import Message
from tests.vllm_helpers import leading_agreement


def test_leading_agreement_counts_tokens_before_the_first_difference() -> None:
    assert leading_agreement([1, 2, 3, 4], [1, 2, 9, 4], 4) == 0.5
    assert leading_agreement([1, 2, 3, 4, 5], [1, 2, 3, 4, 6], 4) == 1.0
    assert leading_agreement([7], [8], 20) == 0.0
    assert leading_agreement([1, 2], [1, 2], 20) == 1.0  # both stopped after the same two tokens
    assert leading_agreement([1, 2], [1, 2, 3], 20) == 0.1


@pytest.mark.parametrize(
    ("gguf", "hf"),
    [
        ("token_embd.weight", "model.embed_tokens.weight"),
        ("output_norm.weight", "model.norm.weight"),
        ("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight"),
        ("blk.17.attn_k_norm.weight", "model.layers.17.self_attn.k_norm.weight"),
        ("blk.3.ffn_norm.weight", "model.layers.3.pre_feedforward_layernorm.weight"),
        ("blk.3.post_ffw_norm.weight", "model.layers.3.post_feedforward_layernorm.weight"),
        ("blk.12.ffn_down.weight", "model.layers.12.mlp.down_proj.weight"),
    ],
)
def test_gguf_tensor_names_map_to_transformers_names(gguf: str, hf: str) -> None:
    assert hf_tensor_name(gguf) == hf


def test_unknown_tensor_names_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"blk\.0\.mystery\.weight"):
        hf_tensor_name("blk.0.mystery.weight")


def _render(messages: list[dict[str, str]], generation_prompt: bool = True) -> str:
    template = jinja2.Environment().from_string(GEMMA_CHAT_TEMPLATE)
    return template.render(bos_token="<bos>", messages=messages, add_generation_prompt=generation_prompt)


def test_chat_template_renders_gemma_turns_with_the_system_message_in_the_first_user_turn() -> None:
    rendered = _render(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Bye"},
        ]
    )
    assert rendered == (
        "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello<end_of_turn>\n"
        "<start_of_turn>user\nBye<end_of_turn>\n"
        "<start_of_turn>model\n"
    )


def test_chat_template_matches_the_llamacpp_backend_rendering() -> None:
    llama_cpp = pytest.importorskip("llama_cpp", reason="compares with llama-cpp-python's gemma format")
    from evalkit.generators.llamacpp.chat import ChatRenderer

    renderer = ChatRenderer("gemma", llama_cpp.llama_chat_format.format_gemma, merge_system=True)
    messages = (Message(role="system", content="S"), Message(role="user", content="Q"))
    text, _ = renderer.render(messages)
    assert _render([m.model_dump() for m in messages]) == "<bos>" + text


def test_options_merge_defaults_user_values_and_engine_args() -> None:
    options = VllmOptions.parse(
        "vllm/x",
        {"dtype": "bfloat16", "engine_args": {"swap_space": 1}, "batch_window_ms": 5},
        PACKAGED_DEFAULTS,
    )
    assert options.engine_args == {"dtype": "bfloat16", "max_model_len": 4096, "swap_space": 1}
    assert options.batch_window_s == 0.005


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dtpye": "float32"}, "unknown option.*dtpye"),
        ({"max_model_len": "4096"}, "'max_model_len' must be int"),
        ({"enforce_eager": 1}, "'enforce_eager' must be bool"),
        ({"max_model_len": True}, "'max_model_len' must be int"),
        ({"engine_args": [1]}, "engine_args"),
        ({"batch_window_ms": -1}, "batch_window_ms"),
    ],
)
def test_bad_options_are_named(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        VllmOptions.parse("vllm/x", options, {})


def test_missing_vllm_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vllm_engine.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'evalkit\[vllm\]'"):
        vllm_engine.create("gemma-3-270m", {})


def test_directory_fingerprint_follows_the_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    first = directory_fingerprint(tmp_path)
    assert directory_fingerprint(tmp_path) == first
    (tmp_path / "config.json").write_text('{"hidden_size": 16}')
    assert directory_fingerprint(tmp_path)["model_dir_sha256"] != first["model_dir_sha256"]


def test_derived_seeds_are_stable_and_depend_on_request_and_engine_seed() -> None:
    request = CompletionRequest(prompt="hi", params=SamplingParams(temperature=0.7))
    other = CompletionRequest(prompt="ho", params=SamplingParams(temperature=0.7))
    assert derived_seed(request, 0) == derived_seed(request, 0)
    assert len({derived_seed(request, 0), derived_seed(request, 1), derived_seed(other, 0)}) == 3
    assert 0 <= derived_seed(request, 0) < 2**31


def _entry(logprob: float, rank: int, text: str) -> SimpleNamespace:
    return SimpleNamespace(logprob=logprob, rank=rank, decoded_token=text)


def test_token_logprobs_list_the_best_alternatives_by_rank() -> None:
    steps = [
        {5: _entry(-0.1, 1, " Paris"), 6: _entry(-2.5, 2, " Lyon")},
        # the sampled token ranked third, so vLLM added it beside the two best
        {9: _entry(-3.0, 3, "!"), 7: _entry(-0.2, 1, "."), 8: _entry(-1.9, 2, ",")},
    ]
    result = token_logprobs([5, 9], steps, 2)
    assert result[0].token == " Paris" and result[0].logprob == -0.1
    assert result[0].top == ((" Paris", -0.1), (" Lyon", -2.5))
    assert result[1].token == "!" and result[1].logprob == -3.0
    assert result[1].top == ((".", -0.2), (",", -1.9))


def test_to_completion_copies_counts_and_finish_reason() -> None:
    sample = SimpleNamespace(text=" Paris.", token_ids=[5, 7], finish_reason="length", logprobs=None)
    output = SimpleNamespace(outputs=[sample], prompt_token_ids=[2, 10, 11])
    done = to_completion(output, model_id="m", rendered="<bos>x", latency_s=1.5, top_logprobs=None)
    assert (done.text, done.finish_reason, done.prompt_tokens, done.completion_tokens) == (
        " Paris.",
        "length",
        3,
        2,
    )
    assert done.rendered_prompt == "<bos>x" and done.logprobs is None and done.latency_s == 1.5


async def test_micro_batcher_sends_concurrent_requests_as_one_batch() -> None:
    batches: list[int] = []

    def run(requests: list[CompletionRequest]) -> list[Completion | BaseException]:
        batches.append(len(requests))
        return [
            GenerationError("bad") if r.prompt == "fail" else Completion(text=(r.prompt or "").upper())
            for r in requests
        ]

    batcher = MicroBatcher(asyncio.get_running_loop(), run, window_s=0.05)
    prompts = ["a", "b", "fail", "c"]
    results = await asyncio.gather(
        *(batcher.submit(CompletionRequest(prompt=p)) for p in prompts), return_exceptions=True
    )
    assert batches == [4]
    assert [r.text if isinstance(r, Completion) else type(r).__name__ for r in results] == [
        "A",
        "B",
        "GenerationError",
        "C",
    ]


async def test_micro_batcher_reports_an_engine_failure_to_every_waiter() -> None:
    def broken(requests: list[CompletionRequest]) -> list[Completion | BaseException]:
        raise EvalkitError("engine would not start")

    batcher = MicroBatcher(asyncio.get_running_loop(), broken, window_s=0.0)
    results = await asyncio.gather(
        *(batcher.submit(CompletionRequest(prompt=p)) for p in "xy"), return_exceptions=True
    )
    assert [str(r) for r in results] == ["engine would not start"] * 2


def test_server_command_spells_engine_options_as_flags() -> None:
    command = server_command("/m", "gemma", 8123, {"dtype": "float32", "enforce_eager": True, "x_y": False})
    assert command[:3] == [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]
    assert command[3:] == [
        "--model", "/m", "--served-model-name", "gemma", "--host", "127.0.0.1", "--port", "8123",
        "--dtype", "float32", "--enforce-eager", "--no-x-y",
    ]  # fmt: skip


def test_api_root_accepts_urls_with_or_without_v1() -> None:
    assert _api_root("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert _api_root("http://127.0.0.1:8000/v1/") == "http://127.0.0.1:8000/v1"


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_server_that_exits_reports_its_last_log_lines() -> None:
    server = ServerProcess(_python("import sys; print('boom: no model'); sys.exit(3)"), free_port(), {})
    with pytest.raises(EvalkitError, match=r"exited with status 3(.|\n)*boom: no model"):
        server.wait_healthy(30)
    assert server.log_path.is_file()  # kept for the user to read
    server.log_path.unlink()


def test_server_that_never_gets_healthy_is_stopped_after_the_timeout() -> None:
    server = ServerProcess(
        _python("import time; print('loading', flush=True); time.sleep(120)"), free_port(), {}
    )
    with pytest.raises(EvalkitError, match=r"not healthy after 1s(.|\n)*loading"):
        server.wait_healthy(1)
    assert server.process.poll() is not None
    server.log_path.unlink()


HEALTH_SERVER = """
import http.server, sys
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
"""


def test_healthy_server_is_waited_for_and_stopped() -> None:
    port = free_port()
    server = ServerProcess([*_python(HEALTH_SERVER), str(port)], port, {})
    server.wait_healthy(60)
    assert server.base_url == f"http://127.0.0.1:{port}/v1"
    server.stop(grace_s=10)
    assert server.process.poll() is not None
    assert not server.log_path.exists()


def test_conversion_runs_once_per_gguf_and_lands_under_the_cache_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalkit.generators.vllm import hf_convert

    calls: list[Path] = []

    def fake_convert(gguf: Path, out_dir: Path) -> None:
        calls.append(gguf)
        (out_dir / "config.json").write_text("{}")

    monkeypatch.setattr(hf_convert, "convert_gguf", fake_convert)
    monkeypatch.setenv("EVALKIT_HF_CACHE", str(tmp_path / "cache"))
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + bytes(60))
    first = hf_convert.ensure_hf_model(gguf)
    assert first.parent == tmp_path / "cache"
    assert first.name == "tiny-v1-" + hashlib.sha256(gguf.read_bytes()).hexdigest()[:16]
    assert (first / "config.json").is_file() and len(calls) == 1
    assert hf_convert.ensure_hf_model(gguf) == first and len(calls) == 1
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.name]  # no scratch left behind


def test_a_failed_conversion_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalkit.generators.vllm import hf_convert

    def broken(gguf: Path, out_dir: Path) -> None:
        (out_dir / "model.safetensors").write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(hf_convert, "convert_gguf", broken)
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + bytes(60))
    with pytest.raises(OSError, match="disk full"):
        hf_convert.ensure_hf_model(gguf, root=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


class _Pieces:
    """A tokenizer over a fixed list of token texts (ids are list positions)."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces

    def __len__(self) -> int:
        return len(self.pieces)

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        return "".join(self.pieces[i] for i in ids).replace("\u2581", " ")

    def convert_ids_to_tokens(self, ids: list[int]) -> list[str]:
        return [self.pieces[i] for i in ids]


def _scored_entry(logprob: float, rank: int) -> SimpleNamespace:
    return SimpleNamespace(logprob=logprob, rank=rank, decoded_token=None)


def test_prompt_logprobs_become_ranks_logprobs_and_top_choices() -> None:
    tokenizer = _Pieces(["<bos>", "\u2581Hi", "\u2581there", "!", "\u2581you"])
    steps = [
        None,  # the first prompt token has no prediction
        {1: _scored_entry(-0.5, 1)},
        {2: _scored_entry(-2.0, 3), 4: _scored_entry(-0.2, 1)},  # the answer's first token ranks 3rd
        {3: _scored_entry(-0.1, 1)},  # its second is the top choice
    ]
    scored = scored_continuation([0, 1], [2, 3], steps, lambda token: tokenizer.decode([token]))
    assert scored.tokens == (" there", "!")
    assert scored.ranks == (3, 1)
    assert scored.logprobs == (-2.0, -0.1)
    assert scored.top_tokens == (" you", "!")
    assert scored.prompt_tokens == 2


def test_prompt_logprobs_that_miss_positions_or_tokens_are_an_error() -> None:
    with pytest.raises(GenerationError, match="2 of 3 positions"):
        scored_continuation([0, 1], [2], [None, {1: _scored_entry(-1.0, 1)}], str)
    with pytest.raises(GenerationError, match="lack the actual token at position 2"):
        scored_continuation(
            [0, 1], [2], [None, {1: _scored_entry(-1.0, 1)}, {1: _scored_entry(-0.3, 1)}], str
        )


def test_vocabulary_digest_spells_spaces_as_sentencepiece_does() -> None:
    spaced = vocabulary_fingerprint(_Pieces(["<bos>", "\u2581the", "  "]))
    assert spaced == vocabulary_fingerprint(_Pieces(["<bos>", "\u2581the", "\u2581\u2581"]))
    assert spaced != vocabulary_fingerprint(_Pieces(["<bos>", "\u2581the", "\u2581"]))


class _OddServer(BaseHTTPRequestHandler):
    """Answers every POST with the body the test sets: a server that is not the vLLM it claims to be."""

    body = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def odd_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OddServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("body", "url"),
    [
        (b"not json", "/tokenize"),
        (b'{"detail": "no such route"}', "/tokenize"),
        (b'{"tokens": [1]}', "/v1/completions"),
    ],
)
async def test_a_server_reply_of_the_wrong_shape_is_a_generation_error(
    odd_server: ThreadingHTTPServer, body: bytes, url: str
) -> None:
    _OddServer.body = body
    base_url = f"http://127.0.0.1:{odd_server.server_address[1]}/v1"
    request = CompletionRequest(prompt="Hi", params=SamplingParams(max_tokens=1))
    with pytest.raises(GenerationError, match=f"{url} answered without the expected fields"):
        await score_on_server(base_url, "m", request, " there", timeout_s=5.0)
