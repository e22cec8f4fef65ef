"""Request ids (X-Request-ID): taken from the client when valid or made, returned on every response
(JSON, errors, SSE, WebSocket frames), forwarded to the upstream, and in every log line of the
request (LOG_FORMAT=json: one JSON object a line)."""

import asyncio
import contextvars
import io
import json
import logging
import re

import httpx
import pytest
import websockets

from config.common import requestlog
from tests.conftest import bearer, connect
from tests.helpers import upload, use_engine, wait_done, ws_url
from tests.server import LiveServer

HELLO = [{"role": "user", "content": "hello there"}]
MADE = re.compile(r"^[0-9a-f]{32}$")  # uuid4 hex


def _chat(api, token, request_id=None, **body):
    headers = {**bearer(token), **({"X-Request-ID": request_id} if request_id is not None else {})}
    return api.post("/api/chat/completions", json={"model": "llama3.1:8b", "messages": HELLO, **body}, headers=headers)


def test_the_clients_id_comes_back_and_reaches_the_upstream(api, admin, ollama):
    connect(ollama)
    response = _chat(api, admin["token"], "trace-abc_123:XYZ/42")
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "trace-abc_123:XYZ/42"
    assert ollama.headers[-1]["x-request-id"] == "trace-abc_123:XYZ/42"
    # the Ollama-compatible proxy forwards it too
    response = api.post("/ollama/api/chat", json={"model": "llama3.1:8b", "messages": HELLO, "stream": False},
                        headers={**bearer(admin["token"]), "X-Request-ID": "via-proxy"})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "via-proxy"
    assert ollama.requests[-1][1] == "/api/chat" and ollama.headers[-1]["x-request-id"] == "via-proxy"


@pytest.mark.parametrize("given", [None, "x" * 129, "tab\tinside", "caf\u00e9"])
def test_an_id_is_made_when_absent_or_invalid(api, admin, ollama, given):
    connect(ollama)
    headers = {**bearer(admin["token"]), **({"X-Request-ID": given.encode("latin-1")} if given else {})}
    first = api.post("/api/chat/completions", json={"model": "llama3.1:8b", "messages": HELLO}, headers=headers)
    second = api.post("/api/chat/completions", json={"model": "llama3.1:8b", "messages": HELLO}, headers=headers)
    made = first.headers["X-Request-ID"]
    assert MADE.match(made) and MADE.match(second.headers["X-Request-ID"]) and made != second.headers["X-Request-ID"]
    assert ollama.headers[-2]["x-request-id"] == made


def test_the_longest_valid_id_is_kept(api):
    given = "~" * 128
    assert api.get("/health", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


def test_a_stream_carries_it(api, admin, ollama):
    connect(ollama)
    with api.stream("POST", "/api/chat/completions", json={"model": "llama3.1:8b", "messages": HELLO, "stream": True},
                    headers={**bearer(admin["token"]), "X-Request-ID": "sse-1"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["X-Request-ID"] == "sse-1"
        assert "[DONE]" in response.read().decode()
    assert ollama.headers[-1]["x-request-id"] == "sse-1"


def test_errors_carry_it(api, admin, ollama):
    assert api.get("/api/no-such-route", headers={"X-Request-ID": "e-404"}).headers["X-Request-ID"] == "e-404"
    unauthorized = api.get("/api/models", headers={"X-Request-ID": "e-401"})
    assert unauthorized.status_code == 401 and unauthorized.headers["X-Request-ID"] == "e-401"
    assert MADE.match(api.get("/api/models").headers["X-Request-ID"])
    connect(ollama)
    api.get("/api/models", headers=bearer(admin["token"]))
    ollama.fail_status = 500
    failed = _chat(api, admin["token"], "e-502")
    assert failed.status_code == 502 and failed.headers["X-Request-ID"] == "e-502"
    assert ollama.headers[-1]["x-request-id"] == "e-502"
    # pages too, outside the API
    assert api.get("/admin/login/", headers={"X-Request-ID": "page"}).headers["X-Request-ID"] == "page"


def test_work_on_other_threads_forwards_it(api, admin, ollama):
    """A retrieval query embeds on a side thread (config.common.db.in_parallel) in the request's context."""
    use_engine(ollama)
    file = upload(api, admin["token"], data=b"The refund window is 14 days.").json()
    assert wait_done(api, admin["token"], file["id"]) == "completed"
    response = api.post("/api/v1/retrieval/query/doc", json={"collection_name": f"file-{file['id']}", "query": "refund"},
                        headers={**bearer(admin["token"]), "X-Request-ID": "side-thread"})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "side-thread"
    assert ollama.requests[-1][1] == "/api/embed" and ollama.headers[-1]["x-request-id"] == "side-thread"
    assert not any("x-request-id" in h for (_, path, _), h in zip(ollama.requests, ollama.headers)
                   if path == "/api/embed" and h is not ollama.headers[-1])  # the worker's: no request


def test_every_websocket_message_carries_one_id_per_client_message(gateway, admin, ollama):
    connect(ollama)

    async def run():
        async with websockets.connect(ws_url(gateway, admin["token"]),
                                      additional_headers={"X-Request-ID": "socket-1"}) as ws:
            received = [json.loads(await ws.recv())]
            for chat_id in ("a", "b"):
                await ws.send(json.dumps({"type": "chat", "id": chat_id, "body": {"model": "llama3.1:8b", "messages": HELLO}}))
                while (message := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "done":
                    received.append(message)
                received.append(message)
            await ws.send(json.dumps({"type": "nonsense", "id": "c"}))
            received.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            return received

    received = asyncio.run(run())
    assert received[0] == {"type": "ready", "request_id": "socket-1"}  # the handshake's id
    ids = {chat_id: {m["request_id"] for m in received if m.get("id") == chat_id} for chat_id in ("a", "b", "c")}
    assert all(len(found) == 1 for found in ids.values()), ids
    a, b, c = (found.pop() for found in ids.values())
    assert len({a, b, c}) == 3 and all(MADE.match(i) for i in (a, b, c))
    assert {m["type"] for m in received if m.get("id") == "a"} == {"chunk", "done"}
    assert [h["x-request-id"] for h in ollama.headers if "x-request-id" in h][-2:] == [a, b]


def _log_a_warning(client, ollama, request_id):
    """A request that logs a warning: query generation is on and the model's answer is broken JSON."""
    update = client.post("/api/v1/retrieval/config/update", json={"ENABLE_RETRIEVAL_QUERY_GENERATION": True})
    assert update.status_code == 200, update.text
    ollama.reply = "{not JSON}"
    response = client.post("/api/chat/completions", headers={"X-Request-ID": request_id}, json={
        "model": "llama3.1:8b", "messages": HELLO, "files": [{"type": "file", "id": "no-such-file"}]})
    assert response.headers["X-Request-ID"] == request_id, response.text
    assert ollama.headers[-1]["x-request-id"] == request_id  # the query generation request


def test_text_log_lines_show_the_request_id_user_and_model(gateway, admin, ollama):
    connect(ollama)
    with httpx.Client(base_url=gateway.url, headers=bearer(admin["token"]), timeout=30) as client:
        _log_a_warning(client, ollama, "text-1")
    assert (f"searching with the last message [request_id=text-1 user_id={admin['id']} model=llama3.1:8b]"
            in gateway.log.read_text())


def test_json_log_lines_carry_the_request_id_user_and_model(database_url, admin, ollama, tmp_path):
    """With LOG_FORMAT=json, every line is a JSON object; the request's carry its id, user and model."""
    connect(ollama)
    server = LiveServer(database_url=database_url, data_dir=tmp_path, env={"LOG_FORMAT": "json"})
    try:
        with httpx.Client(base_url=server.url, headers=bearer(admin["token"]), timeout=30) as client:
            _log_a_warning(client, ollama, "logged-1")
    finally:
        server.stop()
    lines = [line for line in server.log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records and len(records) == len(lines), lines  # every line is one JSON object
    logged = [r for r in records if r["request_id"] == "logged-1"]
    assert logged, records
    warning = next(r for r in logged if "Query generation failed" in r["message"])
    assert warning["level"] == "WARNING" and warning["logger"] == "chat.queries"
    assert warning["user_id"] == str(admin["id"]) and warning["model"] == "llama3.1:8b"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", warning["time"])


def test_a_json_line_holds_the_traceback():
    """The formatter itself (the server's lines are asserted above): exc_info as text, one line."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(requestlog.ContextFilter())
    handler.setFormatter(requestlog.JsonFormatter())
    logger = logging.getLogger("tests.request_ids")
    logger.addHandler(handler)

    def fail():
        requestlog.begin("tb-1")
        requestlog.note_user(7)
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("it failed")

    try:
        contextvars.copy_context().run(fail)
        # an empty context: in-process requests (Django's test client) leave theirs in this thread's
        contextvars.Context().run(logger.warning, "outside a request")
    finally:
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in out.getvalue().splitlines())
    assert inside["message"] == "it failed" and inside["level"] == "ERROR" and inside["request_id"] == "tb-1"
    assert inside["user_id"] == "7" and inside["model"] is None and "RuntimeError: boom" in inside["exc_info"]
    assert outside["request_id"] is None and "exc_info" not in outside
