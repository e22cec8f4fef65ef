"""Provider passthrough: /ollama/* (native Ollama formats) and /openai/* (API.md §7). Bodies are
relayed as bytes, streams untouched (Ollama NDJSON stays NDJSON); presets resolve to their base
model with their system prompt and params."""

import asyncio
import json
import random
import time

import httpx
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse

from accounts import access
from accounts.async_views import authenticated
from config import jsonbody
from config.db import db_call
from config.http import endpoint
from models_registry import ollama_format, presets, providers, registry
from models_registry.models import Connection
from models_registry.providers import UpstreamError

OVERHEAD_HEADER = "X-Gateway-Overhead-Ms"


def _error(status: int, detail: str, headers: dict | None = None) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status, headers=headers)


def _upstream_error(exc: UpstreamError) -> JsonResponse:
    return _error(exc.status, exc.detail, exc.headers)


async def _relay(conn: Connection, path: str, body: dict | None, started: float, *, stream: bool, method: str = "POST"):
    """Send to the upstream and give back its answer: whole and valid JSON (else 502), or a stream
    relayed as it arrives."""
    sent = time.perf_counter()
    try:
        if stream:
            upstream = await providers.open_request(conn, method, path, json_body=body)
            response = StreamingHttpResponse(_relayed(upstream), status=upstream.status_code,
                                             content_type=upstream.headers.get("content-type", "application/json"))
            response["X-Accel-Buffering"] = "no"
        else:
            upstream, content = await providers.fetch(conn, method, path, json_body=body)
            providers.json_object(content)
            response = HttpResponse(content, status=upstream.status_code,
                                    content_type=upstream.headers.get("content-type", "application/json"))
    except UpstreamError as exc:
        return _upstream_error(exc)
    response[OVERHEAD_HEADER] = f"{(sent - started) * 1000:.2f}"
    return response


async def _relayed(upstream: httpx.Response):
    """The stream's bytes, whole lines at a time, so that when the upstream fails mid-stream it can
    end with an error line in the stream's own format (SSE `data:` or Ollama's NDJSON)."""
    sse = upstream.headers.get("content-type", "").startswith("text/event-stream")
    pending = b""
    try:
        async for chunk in providers.within(upstream.aiter_bytes()):
            cut = chunk.rfind(b"\n") + 1
            if cut:
                yield pending + chunk[:cut]
                pending = chunk[cut:]
            else:
                pending += chunk
        if pending:
            yield pending
    except (httpx.HTTPError, TimeoutError) as exc:
        detail = providers.transport_error(exc).detail
        yield (b"\ndata: " + json.dumps({"error": {"message": detail}}).encode() + b"\n\n" if sse
               else json.dumps({"error": detail}).encode() + b"\n")
    finally:
        await upstream.aclose()


def _parse(request) -> dict | JsonResponse:
    try:
        body = jsonbody.loads(request.body or b"{}")
    except jsonbody.BadJson as exc:
        return _error(400, str(exc))
    if not isinstance(body, dict):
        return _error(400, "The request body must be a JSON object.")
    return body


async def _connections(kind: str) -> list[Connection]:
    return await db_call(lambda: list(Connection.objects.filter(kind=kind, enabled=True)))()


async def _by_index(kind: str, url_idx: int | None) -> Connection | None:
    connections = await _connections(kind)
    if url_idx is None or not 0 <= url_idx < len(connections):
        return None
    return connections[url_idx]


async def _model_target(request, kind: str, model_id, url_idx: int | None):
    """(entry, connection) for a generation request, or an error response."""
    if not isinstance(model_id, str) or not model_id:
        return _error(400, "model: a model id is required.")
    entry = await registry.resolve(request.user, model_id)
    if entry is None or entry.kind != kind:
        everything = await registry.base_models()
        known = any(m["id"] == model_id for m in everything)
        if entry is None and known:
            return _error(403, "Model not found")
        return _error(400 if kind == "ollama" else 404, f"Model '{model_id}' was not found")
    if url_idx is not None:
        conn = await _by_index(kind, url_idx)
        if conn is None or conn not in entry.connections:
            return _error(403, "Model not served by that connection")
        return entry, conn
    return entry, random.choice(entry.connections)


def _apply_preset(request, entry, body: dict, *, ollama: bool) -> dict:
    body = {**body, "model": entry.upstream_id}
    if entry.row is None:
        return body
    params = {k: v for k, v in entry.row.params.items() if k not in ("system", "stream_response", "function_calling")}
    system = entry.row.params.get("system")
    if system and isinstance(body.get("messages"), list):
        body["messages"] = presets.with_system(body["messages"], presets.render(system, request.user))
    if ollama:
        options = {ollama_format.OPTION_NAMES[k]: v for k, v in params.items() if k in ollama_format.OPTION_NAMES}
        body["options"] = {**options, **(body.get("options") or {})}
    else:
        body = {**{k: v for k, v in params.items() if k not in body}, **body}
    return body


async def _raw_list(request, kind: str, url_idx: int, path: str) -> JsonResponse:
    """One connection's own model list, unfiltered: admins only (API.md §7)."""
    if not access.is_admin(request.user):
        return _error(401, "401 Unauthorized")
    conn = await _by_index(kind, url_idx)
    if conn is None:
        return _error(404, "Connection not found")
    try:
        return JsonResponse(await providers.fetch_json(conn, "GET", path, timeout=conn.list_timeout))
    except UpstreamError as exc:
        return _upstream_error(exc)


# --- /ollama -------------------------------------------------------------------------------------


@endpoint("GET", "HEAD")
async def ollama_status(request):
    return JsonResponse({"status": True})


@endpoint("GET")
@authenticated("user")
async def ollama_tags(request, url_idx: int | None = None):
    if url_idx is not None:
        return await _raw_list(request, "ollama", url_idx, "/api/tags")
    entries = await registry.models_for(request.user)
    return JsonResponse({"models": [{**e.public["ollama"], "name": e.id, "model": e.id} for e in entries
                                    if e.kind == "ollama" and "ollama" in e.public]})


async def _gather_json(path: str, connections: list[Connection] | None = None):
    """The answers of the connections (default: every enabled Ollama one) that answered."""
    connections = await _connections("ollama") if connections is None else connections
    results = await asyncio.gather(*(providers.fetch_json(c, "GET", path, timeout=c.list_timeout) for c in connections),
                                   return_exceptions=True)
    return [r for r in results if isinstance(r, dict)]


@endpoint("GET")
@authenticated("user")
async def ollama_version(request, url_idx: int | None = None):
    if url_idx is not None:
        conn = await _by_index("ollama", url_idx)
        results = await _gather_json("/api/version", [conn] if conn else [])
    else:
        results = await _gather_json("/api/version")
    versions = [r["version"] for r in results if r.get("version")]
    if not versions:
        return _error(502, "No Ollama server answered")
    return JsonResponse({"version": min(versions, key=lambda v: [int(p) if p.isdigit() else 0 for p in v.split(".")])})


@endpoint("GET")
@authenticated("admin")
async def ollama_ps(request):
    return JsonResponse({"models": [m for r in await _gather_json("/api/ps") for m in r.get("models", [])]})


@endpoint("POST")
@authenticated("user")
async def ollama_show(request):
    body = _parse(request)
    if isinstance(body, JsonResponse):
        return body
    target = await _model_target(request, "ollama", body.get("model") or body.get("name"), None)
    if isinstance(target, JsonResponse):
        return target
    entry, conn = target
    return await _relay(conn, "/api/show", {**body, "model": entry.upstream_id}, time.perf_counter(), stream=False)


def generation(kind: str, path: str, *, uses_messages: bool = False, streams: bool | None = None):
    """A relayed generation endpoint: resolve the model (presets to their base), then relay.
    `streams`: whether a body without `stream` streams (None: the endpoint never streams)."""

    @endpoint("POST")
    @authenticated("user")
    async def view(request, url_idx: int | None = None):
        started = time.perf_counter()
        body = _parse(request)
        if isinstance(body, JsonResponse):
            return body
        target = await _model_target(request, kind, body.get("model"), url_idx)
        if isinstance(target, JsonResponse):
            return target
        entry, conn = target
        if uses_messages:
            body = _apply_preset(request, entry, body, ollama=kind == "ollama")
        else:
            body = {**body, "model": entry.upstream_id}
        stream = streams is not None and bool(streams if body.get("stream") is None else body["stream"])
        return await _relay(conn, path, body, started, stream=stream)

    return view


ollama_chat = generation("ollama", "/api/chat", uses_messages=True, streams=True)
ollama_generate = generation("ollama", "/api/generate", streams=True)
ollama_embed = generation("ollama", "/api/embed")
ollama_embeddings = generation("ollama", "/api/embeddings")


# --- /openai -------------------------------------------------------------------------------------


@endpoint("GET")
@authenticated("user")
async def openai_models(request, url_idx: int | None = None):
    if url_idx is not None:
        return await _raw_list(request, "openai", url_idx, "/models")
    entries = await registry.models_for(request.user)
    return JsonResponse({"data": [e.public for e in entries if e.kind == "openai"]})


openai_chat = generation("openai", "/chat/completions", uses_messages=True, streams=False)
openai_embeddings = generation("openai", "/embeddings")
