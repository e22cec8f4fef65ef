"""What every upstream kind provides; one subclass per kind (ollama.py, openai.py), chosen by
`provider_for(connection)`. Nothing outside this package branches on a connection's kind.

Where the official SDKs are used, and where not (measured on a local upstream):
- The admin's connection check uses them (`ollama.Client.list`, `openai.OpenAI.models.list`): one
  short-lived client per check, off every hot path.
- Chat and the passthrough relay stay on our raw pooled httpx client: bytes are relayed as received
  or converted line by line, where the SDKs would parse each chunk into typed objects and drop the
  fields they do not know.
- Model lists stay raw: the OpenAI SDK runs on its own HTTP stack (httpx2), so it cannot share a
  connection's pooled, deadline-bound client and would hold a second set of sockets per upstream
  outside the close-on-change rules of pools.py; the Ollama SDK's typed list drops fields Open
  WebUI shows (`name`, `expires_at`).
- Embeddings stay raw: one call took 1.55 ms through the OpenAI SDK against 0.70 ms raw (200 calls),
  on the chat path's query embedding; that SDK also refuses to run without a key, which local
  OpenAI-compatible embedders often lack (the check works around it); the Ollama SDK's `embed` cannot send the instruction
  prefix field (RAG_EMBEDDING_PREFIX_FIELD_NAME)."""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

import httpx

from accounts import metering
from config.common import metrics
from config.common.errors import STREAM_FAILED as STREAM_FAILED_MESSAGE
from config.common.errors import ApplicationError
from models_registry.providers import http, metered
from models_registry.providers.errors import UpstreamError, check_key, json_object
from models_registry.providers.relay import relayed

# What ends a stream early: the upstream failed, fell silent, ran too long or sent what is not a
# chunk. The client then gets STREAM_FAILED and [DONE].
STREAM_BROKEN = (httpx.HTTPError, TimeoutError, ValueError, TypeError, AttributeError, UpstreamError)
STREAM_FAILED = json.dumps({"error": {"message": STREAM_FAILED_MESSAGE}})
END = object()  # yielded by `_payloads` when the upstream ended its stream properly


@dataclass(frozen=True)
class Embedded:
    vectors: list[list[float]]
    tokens: int  # input tokens, as the upstream counted them


@dataclass(frozen=True)
class ConfigFields:
    """The names of Open WebUI's /ollama/config and /openai/config fields for one kind."""

    enable: str
    urls: str
    configs: str
    keys: str | None = None  # OpenAI sends keys in a list of their own too


@dataclass(frozen=True)
class Endpoint:
    """An upstream that is not a Connection row (the RAG embedding engine configured in the runtime
    settings): what a provider needs of a connection. `pk` names its own pooled client."""

    pk: str
    kind: str
    base_url: str
    api_key: str = ""
    timeout: float | None = None
    list_timeout: float = 3.0


class Provider:
    kind: str
    order: int  # model lists are merged in this order (OpenAI connections first, as Open WebUI does)
    connection_type: str  # Open WebUI's connection_type when the connection sets none
    model_not_found_status: int  # an unknown model on this kind's passthrough routes
    config_fields: ConfigFields
    endpoint_settings: tuple[str, str]  # the runtime settings naming an embedding endpoint (URL, key)
    list_path: str
    list_field: str
    chat_path: str
    embed_path: str
    verify_path: str

    def __init__(self, conn):
        self.conn = conn

    # --- requests (the passthrough routes relay these as they are) -------------------------------

    async def open(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        """A response whose body is still to be read (streamed); close it when done."""
        return await http.open_request(self.conn, method, path, json_body=body)

    async def fetch(self, method: str, path: str, body: dict | None = None) -> tuple[httpx.Response, bytes]:
        """A whole answer within the connection's deadline."""
        return await http.fetch(self.conn, method, path, json_body=body)

    async def passthrough(self, method: str, path: str, body: dict | None, *, stream: bool,
                          model: str | None = None) -> tuple[httpx.Response, bytes | AsyncIterator[bytes]]:
        """The upstream's answer to relay: its response and either its whole body, known to be
        valid JSON (else 502), or its bytes as they arrive. Generations and embeddings (the
        `metered_paths`) are metered, under `model` (the id the client named)."""
        if path not in self.metered_paths or body is None:
            if stream:
                response = await self.open(method, path, body)
                return response, relayed(response, self.conn)
            response, content = await self.fetch(method, path, body)
            json_object(content)
            return response, content
        embedding = path in self.embedding_paths
        strip = False
        if stream:
            body, strip = self.ask_usage(body)
        call = await self._begin(body, model or str(body.get("model")), "embedding" if embedding else "passthrough",
                                 streamed=stream, max_tokens=0 if embedding else None)
        try:
            if stream:
                response = await self.open(method, path, body)
                return response, self._metered_bytes(relayed(response, self.conn), call, strip)
            response, content = await self.fetch(method, path, body)
            data = json_object(content)
        except BaseException as exc:
            call.finish(_ended_by(exc))
            raise
        self._finish(call, data)
        return response, content

    # --- metering (accounts/metering.py: admission, then one ledger row per call) ----------------

    # request paths of the passthrough routes that are model calls
    metered_paths: frozenset[str] = frozenset()
    embedding_paths: frozenset[str] = frozenset()

    def max_tokens_of(self, payload: dict) -> int | None:
        """The completion tokens a request in this kind's format asks for at most, if it says."""
        raise NotImplementedError

    def with_cap(self, payload: dict, max_tokens: int) -> dict:
        """The request, its completion capped at `max_tokens` (what its admission reserved)."""
        raise NotImplementedError

    def ask_usage(self, payload: dict) -> tuple[dict, bool]:
        """The stream request asking the upstream to report usage, and whether that was added (the
        usage-only chunk is then not relayed: the client did not ask for it)."""
        return payload, False

    async def _begin(self, payload: dict, model: str, endpoint: str, *, streamed: bool,
                     max_tokens: int | None = None) -> metering.Call:
        return await metering.begin(
            model=model, connection=metrics.connection_label(self.conn), endpoint=endpoint, streamed=streamed,
            prompt_estimate=metered.prompt_estimate(payload),
            max_tokens=self.max_tokens_of(payload) if max_tokens is None else max_tokens)

    def _capped(self, payload: dict, call: metering.Call) -> dict:
        return self.with_cap(payload, call.cap) if call.cap else payload

    @staticmethod
    def _finish(call: metering.Call, data) -> None:
        prompt, completion = metered.tokens_in(data)
        estimate = 0 if prompt is not None else metered.count(metered.completion_text(data))
        call.finish(metering.OK, prompt, completion, estimate)

    async def _metered_chunks(self, events: AsyncGenerator[str], call: metering.Call, strip: bool) -> AsyncIterator[str]:
        """Chat chunk payloads relayed, their usage recorded when the stream ends however it ends."""
        prompt = completion = None
        texts = 0
        status = metering.CANCELLED
        try:
            async for payload in events:
                if payload == "[DONE]":
                    status = metering.OK if status == metering.CANCELLED else status
                elif payload is STREAM_FAILED:
                    status = metering.ERROR
                else:
                    call.first_token()
                    if '"usage"' in payload:
                        found_prompt, found_completion, usage_only = metered.chunk_usage(payload)
                        if found_prompt is not None:
                            prompt, completion = found_prompt, found_completion
                        if usage_only and strip:
                            continue
                    texts += metered.has_text(payload)
                yield payload
        finally:
            call.finish(status, prompt, completion, texts)
            await events.aclose()

    async def _metered_bytes(self, chunks: AsyncGenerator[bytes], call: metering.Call, strip: bool) -> AsyncIterator[bytes]:
        """A relayed stream's bytes (whole lines), its usage recorded when it ends."""
        prompt = completion = None
        lines = 0
        status = metering.CANCELLED
        try:
            async for chunk in chunks:
                call.first_token()
                if b"usage" in chunk or b"eval_count" in chunk:
                    kept = []
                    for line in chunk.split(b"\n"):
                        found_prompt, found_completion, usage_only = metered.chunk_usage(line) if line.strip() else (None, None, False)
                        if found_prompt is not None:
                            prompt, completion = found_prompt, found_completion
                            if usage_only and strip:
                                continue
                        kept.append(line)
                    chunk = b"\n".join(kept)
                if b'"error"' in chunk:
                    status = metering.ERROR
                lines += sum(1 for line in chunk.split(b"\n") if line.strip() and line.strip() != b"data: [DONE]")
                yield chunk
            status = metering.OK if status == metering.CANCELLED else status
        finally:
            call.finish(status, prompt, completion, lines)
            await chunks.aclose()

    async def get_json(self, path: str) -> dict:
        """A small JSON answer (lists, versions) within the connection's list timeout."""
        return await http.fetch_json(self.conn, "GET", path, timeout=self.conn.list_timeout)

    # --- models ----------------------------------------------------------------------------------

    async def list_models(self) -> list[dict]:
        """The upstream's raw model entries; entries without a usable id are skipped."""
        items = (await self.get_json(self.list_path)).get(self.list_field)
        if not isinstance(items, list):
            raise UpstreamError(502, "Upstream returned an unexpected model list")
        return [m for m in items if isinstance(m, dict) and isinstance(self.model_id(m), str)]

    def model_id(self, raw: dict):
        """The upstream id of a raw model entry."""
        raise NotImplementedError

    def listed(self, upstream_id: str) -> bool:
        """Whether a model of the list is shown at all."""
        return True

    def public(self, raw: dict, model_id: str, idx: int, tags: list) -> dict:
        """The model as /api/models shows it; `idx` is the connection's index among its kind."""
        raise NotImplementedError

    def joins(self, entry, idx: int) -> bool:
        """Whether a model already listed under the same id (`entry`) takes this connection's, which
        is then not listed again."""
        raise NotImplementedError

    def check(self) -> list[str]:
        """The upstream's model ids, asked now (the admin's connection check; synchronous)."""
        check_key(self.conn.api_key)
        return self._model_ids_now()

    def _model_ids_now(self) -> list[str]:
        raise NotImplementedError

    # --- chat ------------------------------------------------------------------------------------

    def chat_request(self, request: dict, params: dict, upstream_id: str, *, usage: bool) -> dict:
        """The upstream's chat request for an OpenAI-shaped `request` (messages, stream and other
        forwarded fields) with the preset's generation `params` under it; `usage`: the model reports
        usage in streams when asked."""
        raise NotImplementedError

    @staticmethod
    def with_params(body: dict, params: dict) -> dict:
        """A passthrough request in the upstream's own format with the preset's `params` under it."""
        raise NotImplementedError

    relays_json = False  # a non-streamed answer is already a chat.completion: relayed unchanged

    async def complete(self, payload: dict, model: str, sources: list) -> bytes:
        """A non-streamed completion as chat.completion JSON bytes (`sources` added when any): whole
        and valid within the connection's deadline, else UpstreamError. Metered: admitted first
        (429 before any upstream call), its usage in the ledger."""
        call = await self._begin(payload, model, "chat", streamed=False)
        try:
            _, body = await self.fetch("POST", self.chat_path, self._capped(payload, call))
            data = self.completion(body, model)
        except BaseException as exc:
            call.finish(_ended_by(exc))
            raise
        self._finish(call, data)
        metrics.observe_usage(model, data.get("usage"))
        if self.relays_json and not sources:
            return body
        if sources:
            data["sources"] = sources
        return json.dumps(data).encode()

    def completion(self, body: bytes, model: str) -> dict:
        """A chat.completion from the upstream's answer."""
        raise NotImplementedError

    async def stream(self, payload: dict, model: str) -> AsyncIterator[str]:
        """Start the upstream stream (so failures before the first byte keep their status) and
        return an iterator of chat.completion.chunk JSON texts, then "[DONE]"; STREAM_FAILED before
        it when the stream broke. Closing the iterator closes the upstream request. Metered: admitted
        first, its usage (reported, else counted) in the ledger however the stream ends."""
        payload, strip = self.ask_usage(payload)
        call = await self._begin(payload, model, "chat", streamed=True)
        try:
            response = await self.open("POST", self.chat_path, self._capped(payload, call))
        except BaseException as exc:
            call.finish(_ended_by(exc))
            raise
        return self._metered_chunks(self._events(response, model), call, strip)

    async def _events(self, response: httpx.Response, model: str) -> AsyncGenerator[str]:
        finished = False
        try:
            async with contextlib.aclosing(self._payloads(http.within(response.aiter_lines()), model)) as payloads:
                async for payload in payloads:
                    if payload is END:
                        finished = True
                        break
                    yield payload
        except STREAM_BROKEN:
            pass
        finally:
            await response.aclose()
        if not finished:
            metrics.count_upstream_error(self.conn, "dropped")
            yield STREAM_FAILED
        yield "[DONE]"

    def _payloads(self, lines: AsyncIterator[str], model: str) -> AsyncGenerator:
        """Chunk JSON texts from the upstream's stream lines, then END if it ended properly."""
        raise NotImplementedError

    async def count_message_tokens(self, body: dict) -> int | None:
        """The input tokens of an Anthropic Messages request (`model` the upstream id), when the
        upstream can count them; None when it cannot."""
        return None

    # --- embeddings ------------------------------------------------------------------------------

    token_input = False  # accepts token arrays (lists of integers) as embedding input

    def embed_body(self, model: str, texts: list, extra: dict) -> dict:
        return {"model": model, "input": texts, **extra}

    def vectors(self, data: dict, expected: int) -> list[list[float]]:
        raise NotImplementedError

    async def embeddings(self, model: str, inputs: list, *, extra: dict | None = None,
                         timeout: float | None = None) -> Embedded:
        """Vectors for `inputs` (texts, or token arrays where `token_input`) in one call on the pooled
        async client, with the tokens the upstream counted; `timeout`: the connection's deadline. Its
        usage goes in the ledger (embeddings reserve nothing: their tokens are charged when they end)."""
        if not self.token_input and not all(isinstance(i, str) for i in inputs):
            raise ApplicationError(400, "This model's connection takes text input only, not token arrays.")
        started = time.perf_counter()
        data = await http.fetch_json(self.conn, "POST", self.embed_path,
                                     json_body=self.embed_body(model, inputs, extra or {}), timeout=timeout)
        vectors = self._checked(data, len(inputs))
        prompt, _ = metered.tokens_in(data)
        await metering.charged(model=model, connection=metrics.connection_label(self.conn), endpoint="embedding",
                               prompt_tokens=prompt, estimate=_estimate(prompt, inputs), started=started)
        return Embedded(vectors, prompt or 0)

    async def aembed(self, model: str, texts: list[str], *, extra: dict | None = None,
                     timeout: float = 10) -> list[list[float]]:
        """Vectors for `texts` in one call (the request path's query embedding)."""
        return (await self.embeddings(model, texts, extra=extra, timeout=timeout)).vectors

    def embed(self, model: str, texts: list[str], *, extra: dict | None = None,
              timeout: float = 120) -> list[list[float]]:
        """Vectors for `texts` in one call, for synchronous callers (the worker, sync views)."""
        started = time.perf_counter()
        data = http.post_json_sync(self.conn, self.embed_path, self.embed_body(model, texts, extra or {}),
                                   timeout=timeout)
        vectors = self._checked(data, len(texts))
        prompt, _ = metered.tokens_in(data)
        metering.charged_sync(model=model, connection=metrics.connection_label(self.conn), endpoint="embedding",
                              prompt_tokens=prompt, estimate=_estimate(prompt, texts), started=started)
        return vectors

    def _checked(self, data: dict, expected: int) -> list[list[float]]:
        try:
            vectors = self.vectors(data, expected)
        except (KeyError, TypeError, AttributeError):
            vectors = None
        if not isinstance(vectors, list) or len(vectors) != expected:
            raise UpstreamError(502, "The embedding upstream returned an unexpected answer.")
        return vectors


def _ended_by(exc: BaseException) -> str:
    return metering.CANCELLED if isinstance(exc, asyncio.CancelledError | GeneratorExit) else metering.ERROR


def _estimate(reported: int | None, inputs: list) -> int:
    """Tokens to charge when the upstream reported none: counted (a token array is its own count)."""
    if reported is not None:
        return 0
    return sum(len(i) if isinstance(i, list) else metered.count(i) for i in inputs)
