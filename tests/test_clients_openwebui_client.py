"""`openwebui-client` (PyPI), the OpenAI SDK subclass for Open WebUI, against the live server with
`base_url=<server>/api`: the model list with names, chat completions whole and streamed, a processed
file attached to a completion (`files: [{type: file, id}]`, sent by the client with `requests`), and
its tool-calling loop (client-side tools, driven through plain chat completions)."""

from openai.types import FileObject
from openwebui_client import OpenWebUIClient

from tests.conftest import connect
from tests.helpers import FILLER, upload, wait_done

HELLO = [{"role": "user", "content": "hello there"}]


def owui(gateway, token) -> OpenWebUIClient:
    return OpenWebUIClient(api_key=token, base_url=f"{gateway.url}/api", default_model="llama3.1:8b", max_retries=0)


def test_models_are_listed_with_their_names(gateway, admin, ollama):
    connect(ollama)
    models = owui(gateway, admin["token"]).models.list()
    assert {(m.id, m.name) for m in models} == {("llama3.1:8b", "llama3.1:8b"), ("qwen3:4b", "qwen3:4b")}


def test_chat_completion_whole_and_streamed(gateway, admin, ollama):
    connect(ollama)
    client = owui(gateway, admin["token"])
    reply = client.chat.completions.create(model="llama3.1:8b", messages=HELLO)
    assert reply.choices[0].message.content == "Echo: hello there"
    stream = client.chat.completions.create(model="llama3.1:8b", messages=HELLO, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Echo: hello there"


def test_an_uploaded_file_gives_the_completion_its_context(gateway, api, admin, ollama):
    """`files.from_path` is not used: it reads the upload answer's `status` as OpenAI's file status,
    and Open WebUI 0.12.4 (as we do) answers `status: true` there, so it fails against Open WebUI too."""
    connect(ollama)
    text = f"{FILLER}\n\nRefunds are processed within 14 days. MARKER-OWC\n\n{FILLER}"
    body = upload(api, admin["token"], name="refunds.md", data=text.encode(), content_type="text/markdown").json()
    assert wait_done(api, admin["token"], body["id"]) == "completed"
    uploaded = FileObject(id=body["id"], bytes=len(text), created_at=body["created_at"], filename=body["filename"],
                          object="file", purpose="assistants", status="processed")
    client = owui(gateway, admin["token"])
    reply = client.chat.completions.create(model="llama3.1:8b", files=[uploaded],
                                           messages=[{"role": "user", "content": "How long do refunds take?"}])
    assert reply.choices[0].message.content
    sent = ollama.last("/api/chat")["messages"]
    assert any("MARKER-OWC" in m["content"] for m in sent)


def test_tool_loop_answers_without_tools_called(gateway, admin, ollama):
    connect(ollama)
    client = owui(gateway, admin["token"])

    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"Sunny in {city}"

    client.tool_registry.register(get_weather)
    assert client.chat_with_tools(messages=HELLO) == "Echo: hello there"
    assert ollama.last("/api/chat")["tools"][0]["function"]["name"] == "get_weather"
