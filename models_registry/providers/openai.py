"""OpenAI-compatible APIs: /models, /chat/completions (JSON and SSE relayed as received, each line
checked to be a chunk), /embeddings."""

from collections.abc import AsyncGenerator, AsyncIterator

from models_registry.providers import http
from models_registry.providers.base import END, ConfigFields, Provider
from models_registry.providers.errors import UpstreamError, json_object, status_error, transport_error

# api.openai.com lists models that cannot chat
NOT_CHAT = ("babbage", "dall-e", "davinci", "embedding", "tts", "whisper")


class OpenAIProvider(Provider):
    kind = "openai"
    order = 0
    connection_type = "external"
    model_not_found_status = 404
    config_fields = ConfigFields("ENABLE_OPENAI_API", "OPENAI_API_BASE_URLS", "OPENAI_API_CONFIGS", "OPENAI_API_KEYS")
    endpoint_settings = ("RAG_OPENAI_API_BASE_URL", "RAG_OPENAI_API_KEY")
    list_path, list_field = "/models", "data"
    chat_path = "/chat/completions"
    verify_path = "/models"  # what /verify asks a URL and key before they are saved
    embed_path = "/embeddings"
    metered_paths = frozenset({"/chat/completions", "/completions", "/embeddings"})
    embedding_paths = frozenset({"/embeddings"})
    relays_json = True

    def model_id(self, raw: dict):
        return raw.get("id")

    def listed(self, upstream_id: str) -> bool:
        return "api.openai.com" not in self.conn.base_url or not any(s in upstream_id for s in NOT_CHAT)

    def public(self, raw: dict, model_id: str, idx: int, tags: list) -> dict:
        ctype = self.conn.effective_connection_type
        public = {
            **raw, "id": model_id, "name": raw.get("name") or model_id, "owned_by": "openai",
            "connection_type": ctype, "provider": "", "urlIdx": idx, "tags": tags,
            "actions": [], "filters": [], "openai": {**raw, "connection_type": ctype},
        }
        public.setdefault("object", "model")
        public.setdefault("created", 0)
        return public

    def joins(self, entry, idx: int) -> bool:
        return entry is not None  # the first connection reporting an id serves it

    def _model_ids_now(self) -> list[str]:
        import openai  # the SDK: only this admin action uses it

        # a keyless server (a local vLLM, LM Studio) gets no Authorization header at all
        headers = None if self.conn.api_key else {"Authorization": openai.Omit()}
        try:
            with openai.OpenAI(base_url=self.conn.base_url, api_key=self.conn.api_key or "unused", max_retries=0,
                               timeout=self.conn.list_timeout) as client:
                models = client.models.list(extra_headers=headers).data
        except openai.APIStatusError as exc:
            raise status_error(exc.status_code, exc.response.content, exc.response.headers) from exc
        except openai.APITimeoutError as exc:
            raise UpstreamError(504, "Upstream timed out") from exc
        except openai.APIConnectionError as exc:
            raise transport_error(exc.__cause__ or exc) from exc
        except (openai.APIError, ValueError, TypeError) as exc:  # not JSON, or not a model list
            raise UpstreamError(502, "Upstream returned an unexpected model list") from exc
        return [m.id for m in models if isinstance(m.id, str)]

    def chat_request(self, request: dict, params: dict, upstream_id: str, *, usage: bool) -> dict:
        payload = {**self.with_params(request, params), "model": upstream_id}
        if not payload.get("stream"):
            payload.pop("stream_options", None)
        elif usage and "stream_options" not in payload:
            payload["stream_options"] = {"include_usage": True}
        return payload

    @staticmethod
    def with_params(body: dict, params: dict) -> dict:
        return {**{k: v for k, v in params.items() if k not in body}, **body}  # the request's own win

    async def count_message_tokens(self, body: dict) -> int | None:
        """Anthropic-compatible upstreams (Anthropic, LiteLLM, vLLM) count at /messages/count_tokens,
        as Open WebUI asks them; others answer that path with 404 (or 405, 501)."""
        try:
            data = await http.fetch_json(self.conn, "POST", "/messages/count_tokens", json_body=body)
        except UpstreamError as exc:
            if exc.status in (404, 405, 501):
                return None
            raise
        tokens = data.get("input_tokens")
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
            raise UpstreamError(502, "Invalid token-count response from the upstream")
        return tokens

    def max_tokens_of(self, payload: dict) -> int | None:
        value = payload.get("max_completion_tokens") or payload.get("max_tokens")
        return value if isinstance(value, int) and value > 0 else None

    def with_cap(self, payload: dict, max_tokens: int) -> dict:
        return {**payload, "max_tokens": max_tokens}

    def ask_usage(self, payload: dict) -> tuple[dict, bool]:
        options = payload.get("stream_options")
        if not payload.get("stream") or (isinstance(options, dict) and options.get("include_usage")):
            return payload, False
        return {**payload, "stream_options": {**(options if isinstance(options, dict) else {}), "include_usage": True}}, True

    def completion(self, body: bytes, model: str) -> dict:
        return json_object(body)

    async def _payloads(self, lines: AsyncIterator[str], model: str) -> AsyncGenerator:
        async for line in lines:
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                yield END
                return
            json_object(data)  # never relay a line that is not a chunk
            yield data

    token_input = True

    def vectors(self, data: dict, expected: int) -> list[list[float]]:
        return [item["embedding"] for item in sorted(data.get("data", []), key=lambda i: i.get("index", 0))]

