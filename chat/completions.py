"""POST /api/chat/completions: resolve the model, apply the preset, gather retrieved context and
hand the request to the model's provider, giving back JSON or a stream of chunk payloads. Shared by
the SSE view and the WebSocket consumer; every upstream-format difference lives in the provider."""

import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from chat import context, queries, validation
from config import runtime
from config.common import metrics, requestlog
from config.common.db import db_call
from config.common.errors import ApplicationError
from knowledge import rag_config
from models_registry import presets, providers, registry

# Web-UI bookkeeping fields and our own extras, never forwarded (DECISIONS #18)
NOT_FORWARDED = {
    "params", "files", "features", "tool_ids", "variables", "chat_id", "id", "session_id", "parent_id",
    "user_message", "assistant_message_id", "message_ids", "background_tasks", "folder_id", "filter_ids",
    "tool_servers", "terminal_id", "skill_ids", "metadata", "model_item",
}


def bad_request(detail: str) -> ApplicationError:
    return ApplicationError(400, detail)


@dataclass
class Prepared:
    entry: registry.Entry
    provider: providers.Provider
    payload: dict
    stream: bool
    sources: list = field(default_factory=list)


def validate(body) -> None:
    """The body as chat.validation.ChatRequest declares it, else a 400."""
    error = validation.request_error(body)
    if error:
        raise bad_request(error)


async def prepare(user, body, *, force_stream: bool | None = None, retrieval: bool = True) -> Prepared:
    """`force_stream` turns streaming on or off whatever was asked (the WebSocket always streams);
    `retrieval=False` leaves out files and a preset's knowledge (the server's own task requests)."""
    validate(body)
    requestlog.note_model(body["model"])
    entry = await registry.resolve(user, body["model"])
    if entry is None:
        raise bad_request("Model not found")
    applied = presets.apply(entry, body, user)
    stream = bool(body.get("stream", False)) if applied.stream is None else applied.stream
    if force_stream is not None:
        stream = force_stream
    messages = applied.messages
    sources, template = await _sources(user, body, entry) if retrieval else ([], "")
    if sources:
        messages = context.inject(messages, sources, template)
    forwarded = {k: v for k, v in body.items() if k not in NOT_FORWARDED}
    forwarded.update(messages=messages, stream=stream)
    provider = providers.provider_for(random.choice(entry.connections))
    usage = bool(entry.row and (entry.row.meta.get("capabilities") or {}).get("usage"))
    payload = provider.chat_request(forwarded, applied.params, entry.upstream_id, usage=usage)
    return Prepared(entry, provider, payload, stream, sources)


async def _sources(user, body: dict, entry: registry.Entry) -> tuple[list[dict], str]:
    """Retrieved context for the request's files and the preset's knowledge (DECISIONS #6), and the
    RAG template to put it in."""
    preset_knowledge = (entry.row.meta.get("knowledge") or []) if entry.row else []
    if not body.get("files") and not preset_knowledge:
        return [], ""
    config = runtime.cached_snapshot() or await db_call(runtime.snapshot)()
    texts = await queries.queries_for(user, entry, body, preset_knowledge, config)
    embedded = context.embed(texts, config)  # the files in scope are looked up, and keywords searched, meanwhile
    try:
        resolved = await db_call(context.resolve)(user, body, preset_knowledge)
        return await context.collect(resolved, embedded, config), rag_config.template(config)
    except context.UnknownSource as exc:
        raise bad_request(exc.detail)
    finally:
        embedded.cancel()


async def complete(prepared: Prepared) -> bytes:
    """A non-streamed completion as chat.completion JSON bytes: whole and valid within the
    connection's deadline, else UpstreamError."""
    started = time.perf_counter()
    body = await prepared.provider.complete(prepared.payload, prepared.entry.id, prepared.sources)
    metrics.DURATION.labels(prepared.entry.id, metrics.connection_label(prepared.provider.conn), "false").observe(
        time.perf_counter() - started)
    return body


async def open_stream(prepared: Prepared, *, sources_event: bool = True) -> AsyncIterator[str]:
    """Start the upstream stream (so failures before the first byte keep their status) and return
    an iterator of event payloads: chunk JSON texts, then "[DONE]". Closing the iterator (client
    gone) closes the upstream connection."""
    opened = time.perf_counter()
    events = metrics.timed_stream(await prepared.provider.stream(prepared.payload, prepared.entry.id),
                                  prepared.entry.id, prepared.provider.conn, opened)
    return _with_sources(events, prepared.sources) if prepared.sources and sources_event else events


async def _with_sources(events: AsyncIterator[str], sources: list[dict]) -> AsyncIterator[str]:
    """The sources go first, as their own event (API.md §3.5)."""
    try:
        yield json.dumps({"sources": sources})
        async for payload in events:
            yield payload
    finally:
        await events.aclose()
