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

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

import httpx

from config.common import metrics
from config.common.errors import STREAM_FAILED as STREAM_FAILED_MESSAGE
from config.common.errors import ApplicationError
from models_registry.providers import http
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

    async def passthrough(self, method: str, path: str, body: dict | None, *,
                          stream: bool) -> tuple[httpx.Response, bytes | AsyncIterator[bytes]]:
        """The upstream's answer to relay: its response and either its whole body, known to be
        valid JSON (else 502), or its bytes as they arrive."""
        if stream:
            response = await self.open(method, path, body)
            return response, relayed(response, self.conn)
        response, content = await self.fetch(method, path, body)
        json_object(content)
        return response, content

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

    async def complete(self, payload: dict, model: str, sources: list) -> bytes:
        """A non-streamed completion as chat.completion JSON bytes (`sources` added when any): whole
        and valid within the connection's deadline, else UpstreamError."""
        _, body = await self.fetch("POST", self.chat_path, payload)
        data = self.completion(body, model)
        metrics.observe_usage(model, data.get("usage"))
        if sources:
            data["sources"] = sources
        return json.dumps(data).encode()

    def completion(self, body: bytes, model: str) -> dict:
        """A chat.completion from the upstream's answer."""
        raise NotImplementedError

    async def stream(self, payload: dict, model: str) -> AsyncIterator[str]:
        """Start the upstream stream (so failures before the first byte keep their status) and
        return an iterator of chat.completion.chunk JSON texts, then "[DONE]"; STREAM_FAILED before
        it when the stream broke. Closing the iterator closes the upstream request."""
        return self._events(await self.open("POST", self.chat_path, payload), model)

    async def _events(self, response: httpx.Response, model: str) -> AsyncIterator[str]:
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

    def embed_tokens(self, data: dict) -> int:
        """The input tokens the upstream reports for an embedding answer (0 when it does not say)."""
        raise NotImplementedError

    async def embeddings(self, model: str, inputs: list, *, extra: dict | None = None,
                         timeout: float | None = None) -> Embedded:
        """Vectors for `inputs` (texts, or token arrays where `token_input`) in one call on the pooled
        async client, with the tokens the upstream counted; `timeout`: the connection's deadline."""
        if not self.token_input and not all(isinstance(i, str) for i in inputs):
            raise ApplicationError(400, "This model's connection takes text input only, not token arrays.")
        data = await http.fetch_json(self.conn, "POST", self.embed_path,
                                     json_body=self.embed_body(model, inputs, extra or {}), timeout=timeout)
        vectors = self._checked(data, len(inputs))
        try:
            tokens = int(self.embed_tokens(data) or 0)
        except (TypeError, ValueError, AttributeError):
            tokens = 0
        return Embedded(vectors, tokens)

    async def aembed(self, model: str, texts: list[str], *, extra: dict | None = None,
                     timeout: float = 10) -> list[list[float]]:
        """Vectors for `texts` in one call (the request path's query embedding)."""
        return (await self.embeddings(model, texts, extra=extra, timeout=timeout)).vectors

    def embed(self, model: str, texts: list[str], *, extra: dict | None = None,
              timeout: float = 120) -> list[list[float]]:
        """Vectors for `texts` in one call, for synchronous callers (the worker, sync views)."""
        data = http.post_json_sync(self.conn, self.embed_path, self.embed_body(model, texts, extra or {}),
                                   timeout=timeout)
        return self._checked(data, len(texts))

    def _checked(self, data: dict, expected: int) -> list[list[float]]:
        try:
            vectors = self.vectors(data, expected)
        except (KeyError, TypeError, AttributeError):
            vectors = None
        if not isinstance(vectors, list) or len(vectors) != expected:
            raise UpstreamError(502, "The embedding upstream returned an unexpected answer.")
        return vectors
