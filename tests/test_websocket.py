import asyncio
import json

import websockets

from tests.conftest import PASSWORD, bearer, connect
from tests.helpers import ws_frame, ws_url

HELLO = [{"role": "user", "content": "hello there"}]


async def _until(ws, kind, request_id=None):
    received = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        received.append(message)
        if message["type"] == kind and (request_id is None or message.get("id") == request_id):
            return received


def test_streams_the_same_chunks_as_sse(gateway, admin, ollama):
    connect(ollama)

    async def run():
        async with websockets.connect(ws_url(gateway, admin["token"])) as ws:
            assert ws_frame(await ws.recv()) == {"type": "ready"}
            await ws.send(json.dumps({"type": "chat", "id": "a", "body": {"model": "llama3.1:8b", "messages": HELLO}}))
            return await _until(ws, "done", "a")

    messages = asyncio.run(run())
    chunks = [m["data"] for m in messages if m["type"] == "chunk"]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Echo: hello there"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_auth_by_first_message_and_two_generations_at_once(gateway, admin, ollama, openai_upstream):
    connect(ollama)
    connect(openai_upstream)

    async def run():
        async with websockets.connect(ws_url(gateway)) as ws:
            await ws.send(json.dumps({"type": "auth", "token": admin["token"]}))
            assert json.loads(await ws.recv())["type"] == "ready"
            await ws.send(json.dumps({"type": "chat", "id": "1", "body": {"model": "llama3.1:8b", "messages": HELLO}}))
            await ws.send(json.dumps({"type": "chat", "id": "2", "body": {"model": "gpt-4o", "messages": HELLO}}))
            messages = []
            while sum(m["type"] == "done" for m in messages) < 2:
                messages.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            return messages

    messages = asyncio.run(run())
    for request_id in ("1", "2"):
        text = "".join(m["data"]["choices"][0]["delta"].get("content", "") for m in messages
                       if m["type"] == "chunk" and m["id"] == request_id and m["data"]["choices"])
        assert text == "Echo: hello there"


def test_cancel_stops_the_generation_and_the_upstream(gateway, admin, ollama):
    connect(ollama)
    ollama.tokens, ollama.token_delay = 200, 0.05

    async def run():
        async with websockets.connect(ws_url(gateway, admin["token"])) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "chat", "id": "x", "body": {"model": "llama3.1:8b", "messages": HELLO}}))
            await _until(ws, "chunk", "x")
            await ws.send(json.dumps({"type": "cancel", "id": "x"}))
            return await _until(ws, "cancelled", "x")

    messages = asyncio.run(run())
    assert not any(m["type"] == "done" for m in messages)
    assert ollama.disconnected.wait(5)


def test_bad_token_closes_the_socket(gateway):
    async def run():
        async with websockets.connect(ws_url(gateway, "garbage")) as ws:
            message = json.loads(await ws.recv())
            try:
                await ws.recv()
            except websockets.ConnectionClosed as closed:
                return message, closed.rcvd.code

    message, code = asyncio.run(run())
    assert message["type"] == "error" and message["status"] == 401
    assert code == 4401


def test_errors_are_reported_per_request(gateway, admin, ollama):
    connect(ollama)

    async def run():
        async with websockets.connect(ws_url(gateway, admin["token"])) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "chat", "id": "m", "body": {"model": "missing", "messages": HELLO}}))
            await ws.send("not json")
            first = ws_frame(await ws.recv())
            second = ws_frame(await ws.recv())
            return first, second

    first, second = asyncio.run(run())
    errors = sorted([first, second], key=lambda m: m.get("id", ""))
    assert errors[0]["status"] == 400
    assert {"type": "error", "id": "m", "status": 400, "detail": "Model not found"} in errors


def _share(api, admin, model="llama3.1:8b"):
    grants = [{"principal_type": "user", "principal_id": "*", "permission": "read"}]
    response = api.post("/api/v1/models/model/access/update", json={"id": model, "access_grants": grants},
                        headers=bearer(admin["token"]))
    assert response.status_code == 200, response.text


def _chat_then_revoke(gateway, token, revoke):
    """Chat once on an open socket, revoke its credential over HTTP, then try to chat again."""

    async def run():
        async with websockets.connect(ws_url(gateway, token)) as ws:
            assert ws_frame(await ws.recv()) == {"type": "ready"}
            await ws.send(json.dumps({"type": "chat", "id": "1", "body": {"model": "llama3.1:8b", "messages": HELLO}}))
            first = await _until(ws, "done", "1")
            revoke()
            await ws.send(json.dumps({"type": "chat", "id": "2", "body": {"model": "llama3.1:8b", "messages": HELLO}}))
            after = []
            try:
                while True:
                    after.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            except websockets.ConnectionClosed as closed:
                return first, after, closed.rcvd.code

    first, after, code = asyncio.run(run())
    assert any(m["type"] == "chunk" for m in first)
    assert [m["type"] for m in after] == ["error"] and after[0]["status"] == 401
    assert code == 4401


def test_a_deleted_api_key_closes_its_open_socket(gateway, api, admin, ollama):
    connect(ollama)
    key = api.post("/api/v1/auths/api_key", headers=bearer(admin["token"])).json()["api_key"]
    _chat_then_revoke(gateway, key, lambda: api.delete("/api/v1/auths/api_key", headers=bearer(admin["token"])))


def test_a_signed_out_session_closes_its_open_socket(gateway, api, admin, ollama):
    connect(ollama)
    session = api.post("/api/v1/auths/signin", json={"email": admin["email"], "password": PASSWORD}).json()
    _chat_then_revoke(gateway, session["token"],
                      lambda: api.post("/api/v1/auths/signout", headers=bearer(session["token"])))
    assert api.get("/api/v1/auths/", headers=bearer(admin["token"])).status_code == 200  # only that session


def test_a_user_demoted_to_pending_is_closed_out(gateway, api, admin, user, ollama):
    connect(ollama)
    _share(api, admin)

    def demote():
        response = api.post(f"/api/v1/users/{user['id']}/update", json={"role": "pending"}, headers=bearer(admin["token"]))
        assert response.status_code == 200

    _chat_then_revoke(gateway, user["token"], demote)
