import asyncio
import json

import websockets

from models_registry.models import Model
from tests.conftest import bearer, connect
from tests.helpers import QUESTION, upload
from tests.helpers import create_knowledge as create
from tests.helpers import ready_file as _ready_file


def test_chat_with_a_file_injects_the_right_chunk_and_returns_sources(api, admin, ollama):
    connect(ollama)
    file = _ready_file(api, admin["token"], "MARKER-FILE-7")
    response = api.post("/api/chat/completions", headers=bearer(admin["token"]), json={
        "model": "llama3.1:8b", "messages": QUESTION, "files": [{"type": "file", "id": file["id"]}]})
    assert response.status_code == 200
    sent = ollama.last("/api/chat")["messages"][-1]["content"]
    assert "MARKER-FILE-7" in sent and sent.endswith("How many days does a refund take?")
    assert '<source id="1" name="refunds.md">' in sent
    sources = response.json()["sources"]
    assert sources[0]["source"] == {"type": "file", "id": file["id"]}
    assert any("MARKER-FILE-7" in d for d in sources[0]["document"])
    assert sources[0]["metadata"][0]["file_id"] == file["id"] and sources[0]["distances"][0] > 0


def test_streamed_chat_with_a_collection_sends_sources_first(api, admin, openai_upstream):
    connect(openai_upstream)
    kb = create(api, admin["token"]).json()
    file = _ready_file(api, admin["token"], "MARKER-KB-3")
    api.post(f"/api/v1/knowledge/{kb['id']}/file/add", json={"file_id": file["id"]}, headers=bearer(admin["token"]))
    with api.stream("POST", "/api/chat/completions", headers=bearer(admin["token"]), json={
            "model": "gpt-4o", "stream": True, "messages": QUESTION, "files": [{"type": "collection", "id": kb["id"]}]}) as r:
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    first = json.loads(events[0])
    assert first["sources"][0]["source"]["id"] == kb["id"] and events[-1] == "[DONE]"
    assert "MARKER-KB-3" in openai_upstream.last("/v1/chat/completions")["messages"][-1]["content"]


def test_preset_knowledge_is_always_searched(api, admin, ollama):
    connect(ollama)
    kb = create(api, admin["token"]).json()
    file = _ready_file(api, admin["token"], "MARKER-PRESET-9")
    api.post(f"/api/v1/knowledge/{kb['id']}/file/add", json={"file_id": file["id"]}, headers=bearer(admin["token"]))
    Model.objects.create(id="helpdesk", base_model_id="llama3.1:8b", name="Helpdesk", user_id=admin["id"],
                         meta={"knowledge": [{"type": "collection", "id": kb["id"], "name": "Handbook"}]})
    api.post("/api/chat/completions", json={"model": "helpdesk", "messages": QUESTION}, headers=bearer(admin["token"]))
    assert "MARKER-PRESET-9" in ollama.last("/api/chat")["messages"][-1]["content"]


def test_unknown_or_foreign_sources_are_400_with_the_same_message(api, admin, make_user, ollama):
    connect(ollama)
    alice, bob = make_user("Alice"), make_user("Bob")
    Model.objects.create(id="llama3.1:8b", name="Llama", user_id=admin["id"])
    from accounts.models import AccessGrant

    AccessGrant.objects.create(resource_type="model", resource_id="llama3.1:8b", principal_id="*", permission="read")
    private = upload(api, alice["token"]).json()
    for item, message in [({"type": "file", "id": private["id"]}, f"File not found: {private['id']}"),
                          ({"type": "file", "id": "00000000-0000-0000-0000-000000000000"}, "File not found: 00000000-0000-0000-0000-000000000000"),
                          ({"type": "collection", "id": "nope"}, "Knowledge not found: nope")]:
        response = api.post("/api/chat/completions", headers=bearer(bob["token"]),
                            json={"model": "llama3.1:8b", "messages": QUESTION, "files": [item]})
        assert response.status_code == 400
        assert response.json() == {"detail": message}
    assert not any(p == "/api/chat" for _, p, _ in ollama.requests)


def test_full_context_and_inline_text(api, admin, ollama):
    connect(ollama)
    file = _ready_file(api, admin["token"], "MARKER-FULL")
    api.post("/api/chat/completions", headers=bearer(admin["token"]), json={
        "model": "llama3.1:8b", "messages": QUESTION,
        "files": [{"type": "file", "id": file["id"], "context": "full"}, {"type": "text", "name": "note", "content": "INLINE-NOTE"}]})
    sent = ollama.last("/api/chat")["messages"][-1]["content"]
    assert "MARKER-FULL" in sent and "INLINE-NOTE" in sent and "Parking is behind building C" in sent


def test_websocket_carries_sources(gateway, api, admin, ollama):
    connect(ollama)
    file = _ready_file(api, admin["token"], "MARKER-WS")

    async def run():
        async with websockets.connect(gateway.url.replace("http", "ws") + f"/ws/chat/?token={admin['token']}") as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "chat", "id": "s", "body": {
                "model": "llama3.1:8b", "messages": QUESTION, "files": [{"type": "file", "id": file["id"]}]}}))
            messages = []
            while not messages or messages[-1]["type"] != "done":
                messages.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            return messages

    messages = asyncio.run(run())
    assert messages[0]["type"] == "sources" and messages[0]["data"][0]["source"]["id"] == file["id"]


def test_collections_are_searched_as_their_reader_may(api, admin, make_user, ollama):
    """A collection shared with the user is searched, an empty one adds nothing, and one it may not
    read is unknown, as a missing one is."""
    from accounts.models import AccessGrant

    connect(ollama)
    bob = make_user("Bob")
    Model.objects.create(id="llama3.1:8b", name="Llama", user_id=admin["id"])
    AccessGrant.objects.create(resource_type="model", resource_id="llama3.1:8b", principal_id="*", permission="read")
    shared, private, empty = (create(api, admin["token"], name=n).json() for n in ("Shared", "Private", "Empty"))
    file = _ready_file(api, admin["token"], "MARKER-SHARED-5")
    for kb in (shared, private):
        api.post(f"/api/v1/knowledge/{kb['id']}/file/add", json={"file_id": file["id"]}, headers=bearer(admin["token"]))
    for kb in (shared, empty):
        AccessGrant.objects.create(resource_type="knowledge", resource_id=kb["id"], principal_id=bob["id"], permission="read")

    def chat(*kbs):
        return api.post("/api/chat/completions", headers=bearer(bob["token"]), json={
            # the marker's words, rare whatever other tests left in the term statistics
            "model": "llama3.1:8b", "messages": [{"role": "user", "content": "Where is MARKER-SHARED-5?"}],
            "files": [{"type": "collection", "id": kb["id"]} for kb in kbs]})

    response = chat(shared, empty)
    assert response.status_code == 200, response.content
    assert [s["source"]["id"] for s in response.json()["sources"]] == [shared["id"]]
    assert "MARKER-SHARED-5" in ollama.last("/api/chat")["messages"][-1]["content"]
    response = chat(shared, private)
    assert response.status_code == 400 and response.json() == {"detail": f"Knowledge not found: {private['id']}"}
