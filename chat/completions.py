"""POST /api/chat/completions: resolve the model, apply the preset, call the upstream, and give
back JSON or a stream of chunk payloads. Shared by the SSE view and the WebSocket consumer."""

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

from chat import context, queries, validation
from config import runtime
from config.db import db_call
from knowledge import rag_config
from models_registry import ollama_format, presets, providers, registry
from models_registry.models import Connection
from models_registry.providers import UpstreamError

# Open WebUI-only params, never sent upstream (API.md §3.3)
WEBUI_ONLY = {
    "stream_response", "stream_delta_chunk_size", "function_calling", "reasoning_tags", "compact_token_threshold",
    "system", "note_id", "tool_approval_mode", "model_controls", "custom_params",
}
# Web-UI bookkeeping fields and our own extras, never forwarded (DECISIONS #18)
NOT_FORWARDED = {
    "params", "files", "features", "tool_ids", "variables", "chat_id", "id", "session_id", "parent_id",
    "user_message", "assistant_message_id", "message_ids", "background_tasks", "folder_id", "filter_ids",
    "tool_servers", "terminal_id", "skill_ids", "metadata", "model_item",
}
STREAM_FAILED = json.dumps({"error": {"message": "Chat completion stream failed"}})


class BadRequest(Exception):
    status = 400

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


@dataclass
class Prepared:
    entry: registry.Entry
    connection: Connection
    path: str
    payload: dict
    stream: bool
    sources: list = field(default_factory=list)


def validate(body) -> None:
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequest("model: a model id is required.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise BadRequest("messages: a non-empty list of message objects is required.")
    if not isinstance(body.get("params", {}) or {}, dict):
        raise BadRequest("params must be an object.")
    error = validation.request_error(body)
    if error:
        raise BadRequest(error)


async def prepare(user, body, *, force_stream: bool | None = None, retrieval: bool = True) -> Prepared:
    """`force_stream` turns streaming on or off whatever was asked (the WebSocket always streams);
    `retrieval=False` leaves out files and a preset's knowledge (the server's own task requests)."""
    validate(body)
    entry = await registry.resolve(user, body["model"])
    if entry is None:
        raise BadRequest("Model not found")
    params = presets.merged_params(entry, body)
    stream = bool(body.get("stream", False))
    if entry.row and entry.row.params.get("stream_response") is not None:
        stream = bool(entry.row.params["stream_response"])
    if force_stream is not None:
        stream = force_stream
    messages = body["messages"]
    sources, template = await _sources(user, body, entry) if retrieval else ([], "")
    if sources:
        messages = context.inject(messages, sources, template)
    system = entry.row.params.get("system") if entry.row else None
    if system:
        messages = presets.with_system(messages, presets.render(system, user))
    generation = {k: v for k, v in params.items() if k not in WEBUI_ONLY}
    forwarded = {k: v for k, v in body.items() if k not in NOT_FORWARDED}
    forwarded.update(messages=messages, stream=stream)
    connection = random.choice(entry.connections)
    if entry.kind == Connection.Kind.OLLAMA:
        payload = ollama_format.to_ollama(forwarded, entry.upstream_id, generation)
        return Prepared(entry, connection, "/api/chat", payload, stream, sources)
    payload = {**{k: v for k, v in generation.items() if k not in forwarded}, **forwarded, "model": entry.upstream_id}
    if not stream:
        payload.pop("stream_options", None)
    elif (entry.row and (entry.row.meta.get("capabilities") or {}).get("usage")) and "stream_options" not in payload:
        payload["stream_options"] = {"include_usage": True}
    return Prepared(entry, connection, "/chat/completions", payload, stream, sources)


async def _sources(user, body: dict, entry: registry.Entry) -> tuple[list[dict], str]:
    """Retrieved context for the request's files and the preset's knowledge (DECISIONS #6), and the
    RAG template to put it in."""
    preset_knowledge = (entry.row.meta.get("knowledge") or []) if entry.row else []
    if not body.get("files") and not preset_knowledge:
        return [], ""
    if body.get("files") is not None and not isinstance(body["files"], list):
        raise BadRequest("files must be a list.")
    config = runtime.cached_snapshot() or await db_call(runtime.snapshot)()
    texts = await queries.queries_for(user, entry, body, preset_knowledge, config)
    try:  # the files in scope are looked up while the query is embedded
        resolved, embedded = await asyncio.gather(db_call(context.resolve)(user, body, preset_knowledge),
                                                  context.embed(texts, config))
    except context.UnknownSource as exc:
        raise BadRequest(exc.detail)
    return await db_call(context.collect)(resolved, embedded, config), rag_config.template(config)


async def complete(prepared: Prepared) -> bytes:
    """A non-streamed completion as JSON bytes (OpenAI's body unchanged; Ollama's converted): whole
    and valid within the connection's deadline, else UpstreamError."""
    _, body = await providers.fetch(prepared.connection, "POST", prepared.path, json_body=prepared.payload)
    data = providers.json_object(body)
    if prepared.entry.kind == Connection.Kind.OPENAI and not prepared.sources:
        return body
    if prepared.entry.kind == Connection.Kind.OLLAMA:
        try:
            data = ollama_format.from_ollama(data, prepared.entry.id)
        except (AttributeError, TypeError, ValueError):  # fields of the wrong type
            raise UpstreamError(502, "Upstream returned an unexpected answer") from None
    if prepared.sources:
        data["sources"] = prepared.sources
    return json.dumps(data).encode()


async def open_stream(prepared: Prepared, *, sources_event: bool = True) -> AsyncIterator[str]:
    """Start the upstream stream (so failures before the first byte keep their status) and return
    an iterator of event payloads: chunk JSON texts, then "[DONE]". Closing the iterator (client
    gone) closes the upstream connection."""
    response = await providers.open_request(prepared.connection, "POST", prepared.path, json_body=prepared.payload)
    if prepared.entry.kind == Connection.Kind.OLLAMA:
        events = _ollama_events(response, prepared.entry.id)
    else:
        events = _openai_events(response)
    return _with_sources(events, prepared.sources) if prepared.sources and sources_event else events


async def _with_sources(events: AsyncIterator[str], sources: list[dict]) -> AsyncIterator[str]:
    """The sources go first, as their own event (API.md §3.5)."""
    try:
        yield json.dumps({"sources": sources})
        async for payload in events:
            yield payload
    finally:
        await events.aclose()


# What ends a stream early: the upstream failed, fell silent, ran too long or sent what is not a
# chunk. The client then gets STREAM_FAILED and [DONE].
STREAM_BROKEN = (httpx.HTTPError, TimeoutError, ValueError, TypeError, AttributeError)


async def _openai_events(response: httpx.Response) -> AsyncIterator[str]:
    done = False
    try:
        async for line in providers.within(response.aiter_lines()):
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                done = True
                break
            providers.json_object(data.encode())  # never relay a line that is not a chunk
            yield data
    except (*STREAM_BROKEN, UpstreamError):
        pass
    finally:
        await response.aclose()
    if not done:
        yield STREAM_FAILED
    yield "[DONE]"


async def _ollama_events(response: httpx.Response, model: str) -> AsyncIterator[str]:
    converter = ollama_format.ChunkConverter(model)
    done = False
    try:
        async for line in providers.within(response.aiter_lines()):
            if not line.strip():
                continue
            data = json.loads(line)
            if "error" in data:
                break
            yield json.dumps(converter.convert(data))
            if data.get("done"):
                done = True
                break
    except STREAM_BROKEN:
        pass
    finally:
        await response.aclose()
    if not done:
        yield STREAM_FAILED
    yield "[DONE]"


def now_ms() -> float:
    return time.perf_counter() * 1000
