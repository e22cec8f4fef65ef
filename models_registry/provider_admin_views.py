"""The admins' provider routes (API.md §7): checking a URL and key before a connection is saved
(/ollama/verify, /openai/verify) and Ollama's model management (/ollama/api/pull, push, create,
copy, delete, unload), relayed to one server: the one at `url_idx` (Open WebUI's order: the enabled
connections of the kind), else the first serving the model (push, copy, delete) or the first one
(pull, create). Routes Open WebUI serves only for set-ups we do not have answer what it answers
there: OpenAI-side model management (llama.cpp, LM Studio) is for no connection of ours; Ollama
model file downloads and uploads are not offered (pull instead)."""

import asyncio
import time
import uuid

from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

from accounts import access
from accounts.async_views import authenticated
from config.common import wire_schema as wire
from config.common.errors import ApplicationError
from config.common.http import endpoint
from config.common.schema import documented
from models_registry import providers, registry
from models_registry.providers import Provider, UpstreamError
from models_registry.proxy_views import OLLAMA, OPENAI, by_index, parse, raw_models, relay, serves
from models_registry.serializers import CopyIn, ModelNameIn, RelayedIn, VerifyIn


def verify(family: type[Provider]):
    """POST /ollama/verify, /openai/verify: what the upstream answers for its version (Ollama) or
    model list (OpenAI), as Open WebUI returns it."""

    @endpoint("POST")
    @authenticated("admin")
    async def view(request):
        body = parse(request, VerifyIn)
        name = f"verify-{uuid.uuid4()}"  # a client of its own, closed when done
        provider = providers.endpoint(name, family.kind, body["url"].rstrip("/"), body.get("key") or "")
        try:
            return JsonResponse(await provider.get_json(family.verify_path))
        finally:
            providers.forget([name])

    verified = OpenApiResponse(OpenApiTypes.OBJECT, description="The upstream's own answer: its version (Ollama) or "
                               "its model list (OpenAI)")
    return documented(post={"request": wire.Verify, "responses": wire.answers(verified),
                            "summary": "Check a server's URL and key before saving the connection (admin)"})(view)


async def _server(request, url_idx: int | None, model: str | None = None) -> tuple[Provider, str | None]:
    """The Ollama server to manage and the model's name there: the one at `url_idx`, else the first
    serving `model` (when given), else the first server."""
    if url_idx is None and model is not None:
        entry = await registry.resolve(request.user, model)
        if entry is None or not serves(OLLAMA, entry):
            raise ApplicationError(400, f"Model '{model}' was not found")
        return providers.provider_for(entry.connections[0]), entry.upstream_id
    conn = await by_index(OLLAMA, url_idx or 0)
    if conn is None:
        raise ApplicationError(404, "Connection not found")
    return providers.provider_for(conn), model


def streamed(path: str, *, by_model: bool, form: type[RelayedIn] = ModelNameIn, methods: tuple = ("POST",)):
    """pull, push, create: Ollama's progress stream (NDJSON) relayed, or its last line when `stream`
    is false."""

    @endpoint(*methods)
    @authenticated("admin")
    async def view(request, url_idx: int | None = None):
        started = time.perf_counter()
        body = parse(request, form)
        model = form.model_validate(body).model
        provider, name = await _server(request, url_idx, model if by_model else None)
        registry.forget_models(provider.conn)
        body = {**body, "model": name or model}
        return await relay(provider, path, body, started, stream=body.get("stream") is not False, model=body["model"])

    return view


PROGRESS = wire.answers(wire.OllamaProgress, stream="ndjson")  # the last line when `stream` is false
PUSH = {"request": wire.OllamaModelRequest, "responses": PROGRESS, "summary": "Push a model to its registry (admin)"}

ollama_pull = documented(post={"request": wire.OllamaModelRequest, "responses": PROGRESS, "summary": "Pull a model (admin)"})(
    streamed("/api/pull", by_model=False))
ollama_push = documented(post=PUSH, delete=PUSH)(
    streamed("/api/push", by_model=True, methods=("DELETE", "POST")))  # Open WebUI's is DELETE
ollama_create = documented(post={"request": wire.OllamaCreateRequest, "responses": PROGRESS, "summary": "Create a model (admin)"})(
    streamed("/api/create", by_model=False, form=RelayedIn))


@documented(post={"request": wire.OllamaCopyRequest, "responses": wire.answers(OpenApiTypes.BOOL), "summary": "Copy a model (admin)"})


@endpoint("POST")
@authenticated("admin")
async def ollama_copy(request, url_idx: int | None = None):
    body = parse(request, CopyIn)
    provider, source = await _server(request, url_idx, body["source"])
    await provider.fetch("POST", "/api/copy", {**body, "source": source})
    registry.forget_models(provider.conn)
    return JsonResponse(True, safe=False)


@documented(delete={"request": wire.OllamaModelRequest, "responses": wire.answers(OpenApiTypes.BOOL),
                     "summary": "Delete a model (admin)"})
@endpoint("DELETE")
@authenticated("admin")
async def ollama_delete(request, url_idx: int | None = None):
    body = parse(request, ModelNameIn)
    provider, name = await _server(request, url_idx, ModelNameIn.model_validate(body).model)
    await provider.fetch("DELETE", "/api/delete", {**body, "model": name})
    registry.forget_models(provider.conn)
    return JsonResponse(True, safe=False)


@documented(post={"request": wire.OllamaModelRequest, "responses": wire.answers(wire.Status),
                   "summary": "Unload a model from every server holding it (admin)"})
@endpoint("POST")
@authenticated("admin")
async def ollama_unload(request):
    """Every server holding the model lets it go now (a generate request with keep_alive 0)."""
    model = ModelNameIn.model_validate(parse(request, ModelNameIn)).model
    entry = await registry.resolve(request.user, model)
    if entry is None or not serves(OLLAMA, entry):
        raise ApplicationError(400, f"Model '{model}' was not found")
    unload = {"model": entry.upstream_id, "keep_alive": 0, "prompt": "", "stream": False}
    results = await asyncio.gather(*(providers.provider_for(c).fetch("POST", "/api/generate", unload) for c in entry.connections),
                                   return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    for failure in failed:
        if not isinstance(failure, UpstreamError):
            raise failure
    if failed:
        raise ApplicationError(502, f"Failed to unload the model on {len(failed)} server(s): {failed[0]}")
    return JsonResponse({"status": True})


@documented(**wire.not_offered(("post",), (501,), "Model file downloads and uploads: not offered, always 501 "
                                                  "(pull the model with /ollama/api/pull)"))
@endpoint("POST")
@authenticated("admin")
async def ollama_model_files(request, url_idx: int | None = None):
    """/ollama/models/download and /models/upload (GGUF files from Hugging Face or the client)."""
    raise ApplicationError(501, "Model file downloads and uploads are not offered; pull the model with /ollama/api/pull.")


async def _management(request, url_idx: int):
    """Open WebUI manages models only for connections it knows as llama.cpp or LM Studio servers;
    ours are plain OpenAI-compatible ones, so it answers as it does for those."""
    if not access.is_admin(request.user):
        raise ApplicationError(401, "401 Unauthorized")
    if await by_index(OPENAI, url_idx) is None:
        raise ApplicationError(404, "Connection not found")
    raise ApplicationError(400, 'Provider "default" does not support model management')


@documented(**wire.not_offered(("get", "post"), (400, 404), "Model management for llama.cpp and LM Studio servers: "
                                                                "not offered (400 for an admin, as Open WebUI for other servers)"))
@endpoint("GET", "POST")
@authenticated("user")
async def openai_model_management(request, url_idx: int, job_id: str = ""):
    """/openai/models/{url_idx}/catalog, download, load, unload, sse and download status."""
    return await _management(request, url_idx)


@documented(get={"responses": wire.answers(OpenApiResponse(OpenApiTypes.OBJECT, description="The connection's own model list")),
                  "summary": "One OpenAI connection's model list, as it answers (admin)"},
            delete=wire.not_offered(("delete",), (400, 404), "Model management: not offered")["delete"])
@endpoint("GET", "DELETE")
@authenticated("user")
async def openai_models_by_index(request, url_idx: int):
    """GET: one connection's own model list (admins); DELETE: model management."""
    if request.method == "DELETE":
        return await _management(request, url_idx)
    return JsonResponse(await raw_models(request, OPENAI, url_idx))
