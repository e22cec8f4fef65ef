"""Provider passthrough: /ollama/* (native Ollama formats) and /openai/* (API.md §7). Bodies are
relayed as bytes, streams untouched (Ollama NDJSON stays NDJSON); presets resolve to their base
model with their system prompt and params. Each route family serves the connections of the kind its
URL prefix names; errors are raised as ApplicationError and rendered by `authenticated`."""

import asyncio
import random
import time

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from pydantic import BaseModel

from accounts import access
from accounts.async_views import authenticated
from config import drain
from config.common import jsonbody, metrics, requestlog
from config.common import wire_schema as wire
from config.common.db import db_call
from config.common.errors import ApplicationError
from config.common.forms import first_error
from config.common.http import endpoint
from config.common.schema import documented
from models_registry import presets, providers, registry
from models_registry.models import Connection
from models_registry.providers import Provider
from models_registry.serializers import ModelNameIn, RelayedIn

OVERHEAD_HEADER = "X-Gateway-Overhead-Ms"
OLLAMA, OPENAI = providers.KINDS["ollama"], providers.KINDS["openai"]  # the /ollama/ and /openai/ routes


async def relay(provider: Provider, path: str, body: dict | None, started: float, *, stream: bool, model: str,
                method: str = "POST"):
    """Send to the upstream and give back its answer: whole and valid JSON (else 502), or a stream
    relayed as it arrives."""
    sent = time.perf_counter()
    upstream, content = await provider.passthrough(method, path, body, stream=stream, model=model)
    content_type = upstream.headers.get("content-type", "application/json")
    if stream:
        content = metrics.timed_stream(content, model, provider.conn, sent)
        ending = drain.sse_ending(done=False) if content_type.startswith("text/event-stream") else drain.ndjson_ending
        response = StreamingHttpResponse(drain.guarded(content, ending), status=upstream.status_code,
                                         content_type=content_type)
        response["X-Accel-Buffering"] = "no"
    else:
        response = HttpResponse(content, status=upstream.status_code, content_type=content_type)
    response[OVERHEAD_HEADER] = f"{(sent - started) * 1000:.2f}"
    metrics.observe_overhead(model, provider.conn, sent - started)
    return response


def parse(request, form: type[BaseModel] = RelayedIn) -> dict:
    """The body, checked by `form` (it is relayed as sent, not as the form would rebuild it)."""
    try:
        body = jsonbody.loads(request.body or b"{}")
    except jsonbody.BadJson as exc:
        raise ApplicationError(400, str(exc))
    error = first_error(form, body)
    if error:
        raise ApplicationError(400, error)
    return body


async def connections_of(family: type[Provider]) -> list[Connection]:
    return await db_call(lambda: list(Connection.objects.filter(kind=family.kind, enabled=True)))()


async def by_index(family: type[Provider], url_idx: int | None) -> Connection | None:
    connections = await connections_of(family)
    if url_idx is None or not 0 <= url_idx < len(connections):
        return None
    return connections[url_idx]


def serves(family: type[Provider], entry: registry.Entry) -> bool:
    """Whether a model is one of this route family's (served by connections of its kind)."""
    return entry.kind == family.kind


async def _model_target(request, family: type[Provider], model_id: str, url_idx: int | None):
    """(entry, provider) for a generation request."""
    requestlog.note_model(model_id)
    entry = await registry.resolve(request.user, model_id)
    if entry is None or not serves(family, entry):
        everything = await registry.base_models()
        known = any(m["id"] == model_id for m in everything)
        if entry is None and known:
            raise ApplicationError(403, "Model not found")
        raise ApplicationError(family.model_not_found_status, f"Model '{model_id}' was not found")
    if url_idx is not None:
        conn = await by_index(family, url_idx)
        if conn is None or conn not in entry.connections:
            raise ApplicationError(403, "Model not served by that connection")
        return entry, providers.provider_for(conn)
    return entry, providers.provider_for(random.choice(entry.connections))


def _with_preset(request, entry: registry.Entry, dialect: type[Provider], body: dict) -> dict:
    """The request for the preset's base model, with its system prompt and params (presets.apply) in
    the request format of `dialect`."""
    applied = presets.apply(entry, body, request.user)
    body = {**body, "model": entry.upstream_id}
    if applied.messages is not None:
        body["messages"] = applied.messages
    return dialect.with_params(body, applied.params)


async def raw_models(request, family: type[Provider], url_idx: int) -> dict:
    """One connection's own model list, unfiltered: admins only (API.md §7)."""
    if not access.is_admin(request.user):
        raise ApplicationError(401, "401 Unauthorized")
    conn = await by_index(family, url_idx)
    if conn is None:
        raise ApplicationError(404, "Connection not found")
    return await providers.provider_for(conn).get_json(family.list_path)


# --- /ollama -------------------------------------------------------------------------------------


@documented(get={"responses": {200: wire.Status}, "auth": [], "summary": "Ollama's liveness route"})
@endpoint("GET", "HEAD")
async def ollama_status(request):
    return JsonResponse({"status": True})


@documented(get={"responses": wire.answers(wire.OllamaTags),
                  "summary": "The caller's Ollama models (with `url_idx`: that connection's own list, admin)"})
@endpoint("GET")
@authenticated("user")
async def ollama_tags(request, url_idx: int | None = None):
    if url_idx is not None:
        return JsonResponse(await raw_models(request, OLLAMA, url_idx))
    entries = await registry.models_for(request.user)
    return JsonResponse({"models": [{**e.public["ollama"], "name": e.id, "model": e.id} for e in entries
                                    if serves(OLLAMA, e) and "ollama" in e.public]})


async def _gather_json(path: str, connections: list[Connection] | None = None):
    """The answers of the connections (default: every enabled Ollama one) that answered."""
    connections = await connections_of(OLLAMA) if connections is None else connections
    results = await asyncio.gather(*(providers.provider_for(c).get_json(path) for c in connections),
                                   return_exceptions=True)
    return [r for r in results if isinstance(r, dict)]


@documented(get={"responses": wire.answers(wire.OllamaVersion), "summary": "The lowest version the Ollama servers report"})
@endpoint("GET")
@authenticated("user")
async def ollama_version(request, url_idx: int | None = None):
    if url_idx is not None:
        conn = await by_index(OLLAMA, url_idx)
        results = await _gather_json("/api/version", [conn] if conn else [])
    else:
        results = await _gather_json("/api/version")
    versions = [r["version"] for r in results if r.get("version")]
    if not versions:
        raise ApplicationError(502, "No Ollama server answered")
    return JsonResponse({"version": min(versions, key=lambda v: [int(p) if p.isdigit() else 0 for p in v.split(".")])})


@documented(get={"responses": wire.answers(wire.OllamaTags), "summary": "Models loaded in memory (admin)"})
@endpoint("GET")
@authenticated("admin")
async def ollama_ps(request):
    return JsonResponse({"models": [m for r in await _gather_json("/api/ps") for m in r.get("models", [])]})


@documented(post={"request": wire.OllamaShowRequest, "responses": wire.answers(OpenApiTypes.OBJECT),
                   "summary": "A model's details, as its Ollama server answers"})
@endpoint("POST")
@authenticated("user")
async def ollama_show(request):
    body = parse(request, ModelNameIn)
    entry, provider = await _model_target(request, OLLAMA, body.get("model") or body["name"], None)
    return await relay(provider, "/api/show", {**body, "model": entry.upstream_id}, time.perf_counter(), stream=False,
                       model=entry.id)


def generation(family: type[Provider], path: str, *, uses_messages: bool = False, streams: bool | None = None,
               dialect: type[Provider] | None = None):
    """A relayed generation endpoint: resolve the model (presets to their base), then relay.
    `streams`: whether a body without `stream` streams (None: the endpoint never streams);
    `dialect`: the request format when it is not the family's own (Ollama's OpenAI-compatible API)."""

    @endpoint("POST")
    @authenticated("user")
    async def view(request, url_idx: int | None = None):
        started = time.perf_counter()
        body = parse(request)
        entry, provider = await _model_target(request, family, body["model"], url_idx)
        if uses_messages:
            body = _with_preset(request, entry, dialect or family, body)
        else:
            body = {**body, "model": entry.upstream_id}
        stream = streams is not None and bool(streams if body.get("stream") is None else body["stream"])
        return await relay(provider, path, body, started, stream=stream, model=entry.id)

    return view


ollama_chat = documented(post={"request": wire.OllamaChatRequest, "summary": "Ollama chat (NDJSON stream unless `stream` is false)",
                               "responses": wire.answers(wire.OllamaChatResponse, stream="ndjson")})(
    generation(OLLAMA, "/api/chat", uses_messages=True, streams=True))
ollama_generate = documented(post={"request": wire.OllamaGenerateRequest, "summary": "Ollama generate (NDJSON stream unless `stream` is false)",
                                   "responses": wire.answers(wire.OllamaGenerateResponse, stream="ndjson")})(
    generation(OLLAMA, "/api/generate", streams=True))
ollama_embed = documented(post={"request": wire.OllamaEmbedRequest, "responses": wire.answers(wire.OllamaEmbedResponse)})(
    generation(OLLAMA, "/api/embed"))
ollama_embeddings = documented(post={"request": wire.OllamaEmbeddingsRequest, "summary": "Ollama's older embeddings route",
                                     "responses": wire.answers(wire.OllamaEmbeddingsResponse)})(
    generation(OLLAMA, "/api/embeddings"))

# Ollama's OpenAI- and Anthropic-compatible API (/v1/*), relayed as it answers
ollama_v1_chat = documented(post={"request": wire.ChatCompletionRequest, "responses": wire.answers(wire.ChatCompletion, stream="sse")})(
    generation(OLLAMA, "/v1/chat/completions", uses_messages=True, streams=False, dialect=OPENAI))
ollama_v1_completions = documented(post={"request": wire.CompletionRequest, "responses": wire.answers(wire.Completion, stream="sse")})(
    generation(OLLAMA, "/v1/completions", streams=False))
ollama_v1_embeddings = documented(post={"request": wire.EmbeddingsRequest, "responses": wire.answers(wire.EmbeddingsResponse)})(
    generation(OLLAMA, "/v1/embeddings"))
ollama_v1_messages = documented(post={"request": wire.MessagesRequest, "summary": "Ollama's Anthropic-compatible Messages API",
                                      "responses": {**wire.answers(wire.AnthropicResponse),
                                                    (200, "text/event-stream"): wire.ANTHROPIC_SSE}})(
    generation(OLLAMA, "/v1/messages", streams=False))
ollama_v1_responses = documented(post={"request": wire.ResponsesRequest, "summary": "Ollama's Responses API",
                                       "responses": {**wire.answers(wire.ResponsesResponse),
                                                     (200, "text/event-stream"): wire.RESPONSES_SSE}})(
    generation(OLLAMA, "/v1/responses", streams=False))


@documented(get={"responses": wire.answers(wire.BareModelList),
                  "summary": "Ollama models in OpenAI's list format (with `url_idx`: that server's own, admin)"})
@endpoint("GET")
@authenticated("user")
async def ollama_v1_models(request, url_idx: int | None = None):
    """The models in OpenAI's list format: those the user may use, or one server's (admins)."""
    if url_idx is not None:
        ids = [m.get("model") or m.get("name") for m in (await raw_models(request, OLLAMA, url_idx)).get("models") or []
               if isinstance(m, dict)]
    else:
        ids = [e.id for e in await registry.models_for(request.user) if serves(OLLAMA, e)]
    created = int(time.time())
    return JsonResponse({"object": "list", "data": [{"id": i, "object": "model", "created": created, "owned_by": "openai"}
                                                    for i in ids if isinstance(i, str)]})


# --- /openai -------------------------------------------------------------------------------------


@documented(get={"responses": wire.answers(wire.OpenAIModelList),
                  "summary": "The caller's OpenAI-connection models (with `url_idx`: that connection's own list, admin)"})
@endpoint("GET")
@authenticated("user")
async def openai_models(request):
    entries = await registry.models_for(request.user)
    return JsonResponse({"data": [e.public for e in entries if serves(OPENAI, e)]})


openai_chat = documented(post={"request": wire.ChatCompletionRequest, "summary": "Relayed to an OpenAI connection as sent",
                               "responses": wire.answers(wire.ChatCompletion, stream="sse")})(
    generation(OPENAI, "/chat/completions", uses_messages=True, streams=False))
openai_embeddings = documented(post={"request": wire.EmbeddingsRequest, "responses": wire.answers(wire.EmbeddingsResponse)})(
    generation(OPENAI, "/embeddings"))
openai_responses = documented(post={"request": wire.ResponsesRequest, "summary": "The Responses API, relayed as it answers",
                                    "responses": {**wire.answers(wire.ResponsesResponse),
                                                  (200, "text/event-stream"): wire.RESPONSES_SSE}})(
    generation(OPENAI, "/responses", streams=False))


@documented(**wire.not_offered(("get", "post", "put", "delete"), (403,),
                              "Open WebUI's catch-all relay (off there by default): not offered, always 403"))
@endpoint("GET", "POST", "PUT", "DELETE")
@authenticated("user")
async def openai_passthrough(request, path: str):
    """Open WebUI's deprecated catch-all /openai/{path} relay, off there by default: not offered."""
    raise ApplicationError(403, "Direct API passthrough is disabled; use the documented /openai routes.")
