"""Credentials in a base URL's query string or in headers never reach disk, output or logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from api_helpers import LoopbackServer, Reply, SeenRequest, openai_chat_body, openai_error_body

from evalkit import cli
from evalkit.generators.api.redaction import redact_headers, redact_options, redact_url, scrub

pytest.importorskip("openai", reason="needs the openai SDK: pip install 'evalkit[api]'")

QUERY_SECRET = "QuerySecret-4242"
HEADER_SECRET = "HeaderSecret-9191"
USER_SECRET = "UserPass-7373"


def test_redact_url_hides_userinfo_and_credential_query_values() -> None:
    url = f"https://me:{USER_SECRET}@gw.example/v1?api-key={QUERY_SECRET}&sig=abcd&deployment=gpt&code=zz"
    shown = redact_url(url)
    assert USER_SECRET not in shown and QUERY_SECRET not in shown and "abcd" not in shown
    assert "deployment=gpt" in shown
    assert shown.startswith("https://gw.example/v1?")


def test_redact_headers_and_options() -> None:
    headers = {"Authorization": "Bearer tok-123456", "api-key": "k-123456", "X-Api-Key": "k2", "X-Trace": "1"}
    assert redact_headers(headers) == {
        "Authorization": "[redacted]",
        "api-key": "[redacted]",
        "X-Api-Key": "[redacted]",
        "X-Trace": "1",
    }
    options = {
        "base_url": f"http://h/v1?token={QUERY_SECRET}",
        "headers": headers,
        "api_key_env": "MY_KEY",
        "max_tokens_param": "max_tokens",
        "token": "raw-secret",
    }
    redacted = redact_options(options)
    assert QUERY_SECRET not in str(redacted) and "tok-123456" not in str(redacted)
    assert redacted["api_key_env"] == "MY_KEY"
    assert redacted["max_tokens_param"] == "max_tokens"
    assert redacted["token"] == "[redacted]"


def test_scrub_removes_plain_and_url_encoded_secrets() -> None:
    text = f"bad key {QUERY_SECRET} in https://h/?k={QUERY_SECRET.replace('-', '%2D')} and a+b"
    assert QUERY_SECRET not in scrub(text, [QUERY_SECRET, "a"])
    assert "a+b" in scrub(text, [QUERY_SECRET, "a"])


def _handler(request: SeenRequest) -> Reply:
    if request.method == "GET":
        return Reply(body={"object": "list", "data": [{"id": "good"}, {"id": "bad"}]})
    if request.json().get("model") == "good":
        return Reply(body=openai_chat_body("Fine."))
    url = f"http://127.0.0.1{request.path}"
    return Reply(status=500, body=openai_error_body(f"bad key {QUERY_SECRET} / {HEADER_SECRET} for {url}"))


def test_no_credential_reaches_the_run_folder_output_or_logs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "set.jsonl").write_text('{"id": "p1", "prompt": "Say hi."}\n')
    with LoopbackServer(_handler) as server:
        options = (
            f'{{base_url: "http://me:{USER_SECRET}@127.0.0.1:{server.port}/v1?api-key={QUERY_SECRET}", '
            f'headers: {{x-api-key: "{HEADER_SECRET}"}}, max_attempts: 2, retry_initial_wait: 0, '
            "http_transport: httpx}"
        )
        (tmp_path / "exp.yaml").write_text(
            "name: x\nprompts: set.jsonl\nsystems:\n"
            f"  - {{name: good, model: openai-compatible/good, options: {options}}}\n"
            f"  - {{name: bad, model: openai-compatible/bad, options: {options}}}\n"
            "judges:\n  - {judge: lima-pairwise, model: fake/constant, options: {text: A}}\n"
        )
        with caplog.at_level(logging.DEBUG):
            assert cli.main(["run", "exp.yaml", "--quiet"]) == 0
        seen = list(server.requests)
    completions = [r for r in seen if r.method == "POST"]
    assert completions and all(f"api-key={QUERY_SECRET}" in r.path for r in completions)
    assert all(r.headers.get("x-api-key") == HEADER_SECRET for r in completions)
    written = {
        p: p.read_text(encoding="utf-8") for p in (tmp_path / "reports" / "x").iterdir() if p.is_file()
    }
    assert "report.html" in {p.name for p in written}
    assert any("HTTP 500" in text for text in written.values())  # the failure itself is recorded
    out = capsys.readouterr()
    shown = [*written.values(), out.out, out.err, caplog.text]
    for secret in (QUERY_SECRET, HEADER_SECRET, USER_SECRET):
        assert not [text for text in shown if secret in text]
