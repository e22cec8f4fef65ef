"""Ollama's native API: /api/tags, /api/chat (NDJSON streams, converted chunk by chunk into OpenAI
chat.completion.chunk events), /api/embed (API.md §3.4, §3.5)."""

import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator

import httpx

from models_registry.providers.base import END, ConfigFields, Provider
from models_registry.providers.errors import UpstreamError, json_object, status_for, transport_error

# OpenAI/Open WebUI parameter name → Ollama option name
OPTION_NAMES = {
    "max_tokens": "num_predict", "max_completion_tokens": "num_predict", "temperature": "temperature",
    "top_p": "top_p", "top_k": "top_k", "seed": "seed", "stop": "stop", "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty", "repeat_penalty": "repeat_penalty", "num_ctx": "num_ctx",
    "num_predict": "num_predict", "min_p": "min_p", "mirostat": "mirostat", "num_batch": "num_batch",
    "num_keep": "num_keep", "num_gpu": "num_gpu", "num_thread": "num_thread", "repeat_last_n": "repeat_last_n",
    "tfs_z": "tfs_z", "typical_p": "typical_p", "use_mmap": "use_mmap", "use_mlock": "use_mlock",
}
TOP_LEVEL = ("format", "keep_alive", "think", "tools")


def _message(message: dict) -> dict:
    out = {"role": message.get("role", "user")}
    content = message.get("content")
    if isinstance(content, list):
        texts, images = [], []
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text":
                texts.append(part.get("text", ""))
            elif part.get("type") == "image_url":
                url = (part.get("image_url") or {}).get("url", "")
                images.append(url.split(",", 1)[1] if url.startswith("data:") else url)
        out["content"] = "\n".join(texts)
        if images:
            out["images"] = images
    else:
        out["content"] = content or ""
    if message.get("tool_calls"):
        calls = []
        for call in message["tool_calls"]:
            fn = call.get("function", {})
            args = fn.get("arguments", {})
            if isinstance(args, str):
                try:
                    args = json.loads(args or "{}")
                except ValueError:
                    args = {}
            calls.append({"function": {"name": fn.get("name", ""), "arguments": args}})
        out["tool_calls"] = calls
    thinking = message.get("reasoning_content") or message.get("reasoning")
    if thinking:
        out["thinking"] = thinking
    for key in ("images", "tool_name"):
        if key in message and key not in out:
            out[key] = message[key]
    if message.get("role") == "tool" and message.get("name"):
        out["tool_name"] = message["name"]
    return out


def to_ollama(payload: dict, model: str, params: dict) -> dict:
    """An Ollama chat request from an OpenAI one; `params` are the merged generation params."""
    body = {"model": model, "messages": [_message(m) for m in payload["messages"]], "stream": bool(payload.get("stream"))}
    options = dict(payload.get("options") or {})
    for source in (params, payload):
        for key, option in OPTION_NAMES.items():
            if source.get(key) is not None and option not in options:
                options[option] = source[key]
    if isinstance(options.get("stop"), str):
        options["stop"] = [options["stop"]]
    if options:
        body["options"] = options
    for key in TOP_LEVEL:
        value = payload.get(key, params.get(key))
        if value is not None:
            body[key] = value
    response_format = payload.get("response_format")
    if isinstance(response_format, dict):
        if response_format.get("type") == "json_schema":
            body["format"] = (response_format.get("json_schema") or {}).get("schema", "json")
        elif response_format.get("type") == "json_object":
            body["format"] = "json"
    return body


def usage(data: dict) -> dict:
    prompt, completion = data.get("prompt_eval_count", 0) or 0, data.get("eval_count", 0) or 0
    eval_ns, prompt_ns = data.get("eval_duration", 0) or 0, data.get("prompt_eval_duration", 0) or 0
    total_s = int((data.get("total_duration", 0) or 0) / 1e9)
    return {
        "input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion,
        "prompt_tokens": prompt, "completion_tokens": completion,
        "response_token/s": round(completion / (eval_ns / 1e9), 2) if eval_ns else 0,
        "prompt_token/s": round(prompt / (prompt_ns / 1e9), 2) if prompt_ns else 0,
        "total_duration": data.get("total_duration", 0), "load_duration": data.get("load_duration", 0),
        "prompt_eval_count": prompt, "prompt_eval_duration": prompt_ns, "eval_count": completion, "eval_duration": eval_ns,
        "approximate_total": f"{total_s // 3600}h{total_s % 3600 // 60}m{total_s % 60}s",
        "completion_tokens_details": {"reasoning_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def _tool_calls(message: dict) -> list[dict]:
    return [
        {
            "index": i, "id": call.get("id") or f"call_{uuid.uuid4()}", "type": "function",
            "function": {"name": call.get("function", {}).get("name", ""),
                         "arguments": json.dumps(call.get("function", {}).get("arguments", {}))},
        }
        for i, call in enumerate(message.get("tool_calls") or [])
    ]


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4()}"


def from_ollama(data: dict, model: str) -> dict:
    """A chat.completion from a non-streamed Ollama answer (id is always chatcmpl-, DECISIONS #15)."""
    message = data.get("message") or {}
    out_message = {"role": "assistant", "content": message.get("content", "")}
    if message.get("thinking"):
        out_message["reasoning_content"] = message["thinking"]
    calls = _tool_calls(message)
    if calls:
        out_message["tool_calls"] = calls
    finish = "tool_calls" if calls else data.get("done_reason") or "stop"
    return {
        "id": completion_id(), "created": int(time.time()), "model": model, "object": "chat.completion",
        "choices": [{"index": 0, "logprobs": None, "finish_reason": finish, "message": out_message}],
        "usage": usage(data),
    }


class ChunkConverter:
    """Turns Ollama stream lines into chat.completion.chunk objects sharing one id;
    `finish_reason` only on the last chunk (DECISIONS #15)."""

    def __init__(self, model: str):
        self.model = model
        self.id = completion_id()
        self.first = True
        self.saw_tool_calls = False

    def convert(self, data: dict) -> dict:
        message = data.get("message") or {}
        delta: dict = {}
        if self.first:
            delta["role"] = "assistant"
            self.first = False
        if message.get("content"):
            delta["content"] = message["content"]
        if message.get("thinking"):
            delta["reasoning_content"] = message["thinking"]
        calls = _tool_calls(message)
        if calls:
            delta["tool_calls"] = calls
            self.saw_tool_calls = True
        finish = None
        if data.get("done"):
            finish = "tool_calls" if self.saw_tool_calls else data.get("done_reason") or "stop"
        chunk = {
            "id": self.id, "created": int(time.time()), "model": self.model,
            "choices": [{"index": 0, "logprobs": None, "finish_reason": finish, "delta": delta}],
            "object": "chat.completion.chunk",
        }
        if data.get("done"):
            chunk["usage"] = usage(data)
        return chunk


class OllamaProvider(Provider):
    kind = "ollama"
    order = 1
    connection_type = "local"
    model_not_found_status = 400
    config_fields = ConfigFields("ENABLE_OLLAMA_API", "OLLAMA_BASE_URLS", "OLLAMA_API_CONFIGS")
    endpoint_settings = ("RAG_OLLAMA_BASE_URL", "RAG_OLLAMA_API_KEY")
    list_path, list_field = "/api/tags", "models"
    chat_path = "/api/chat"
    verify_path = "/api/version"  # what /verify asks a URL and key before they are saved
    embed_path = "/api/embed"
    metered_paths = frozenset({"/api/chat", "/api/generate", "/api/embed", "/api/embeddings"})
    embedding_paths = frozenset({"/api/embed", "/api/embeddings"})

    def model_id(self, raw: dict):
        return raw.get("model") or raw.get("name")

    def public(self, raw: dict, model_id: str, idx: int, tags: list) -> dict:
        ctype = self.conn.effective_connection_type
        return {
            "id": model_id, "name": raw.get("name", model_id), "object": "model", "created": 0,
            "owned_by": "ollama", "connection_type": ctype, "loaded": "expires_at" in raw,
            "tags": tags, "actions": [], "filters": [],
            "ollama": {**raw, "urls": [idx], "connection_type": ctype},
        }

    def joins(self, entry, idx: int) -> bool:
        # the same model on several Ollama servers is one model served by all of them
        if entry is None or entry.kind != self.kind:
            return False
        entry.connections.append(self.conn)
        entry.public["ollama"]["urls"].append(idx)
        return True

    def _model_ids_now(self) -> list[str]:
        import ollama  # the SDK: only this admin action uses it

        headers = {"Authorization": f"Bearer {self.conn.api_key}"} if self.conn.api_key else None
        try:
            with ollama.Client(host=self.conn.base_url, headers=headers, timeout=self.conn.list_timeout) as client:
                models = client.list().models
        except ollama.ResponseError as exc:
            raise UpstreamError(status_for(exc.status_code), str(exc.error)) from exc
        except ConnectionError as exc:  # how the SDK reports a refused connection
            raise UpstreamError(502, "Upstream unreachable: ConnectError") from exc
        except httpx.HTTPError as exc:
            raise transport_error(exc) from exc
        except ValueError as exc:  # not JSON, or not a model list
            raise UpstreamError(502, "Upstream returned an unexpected model list") from exc
        return [m.model for m in models if isinstance(m.model, str)]

    def chat_request(self, request: dict, params: dict, upstream_id: str, *, usage: bool) -> dict:
        return to_ollama(request, upstream_id, params)

    @staticmethod
    def with_params(body: dict, params: dict) -> dict:
        options = {OPTION_NAMES[k]: v for k, v in params.items() if k in OPTION_NAMES}
        if options or "options" in body:
            body = {**body, "options": {**options, **(body.get("options") or {})}}  # the request's own win
        return body

    def completion(self, body: bytes, model: str) -> dict:
        try:
            return from_ollama(json_object(body), model)
        except (AttributeError, TypeError, ValueError):  # fields of the wrong type
            raise UpstreamError(502, "Upstream returned an unexpected answer") from None

    async def _payloads(self, lines: AsyncIterator[str], model: str) -> AsyncGenerator:
        converter = ChunkConverter(model)
        async for line in lines:
            if not line.strip():
                continue
            data = json.loads(line)
            if "error" in data:
                return
            yield json.dumps(converter.convert(data))
            if data.get("done"):
                yield END
                return

    def max_tokens_of(self, payload: dict) -> int | None:
        options = payload.get("options")
        value = options.get("num_predict") if isinstance(options, dict) else None
        return value if isinstance(value, int) and value > 0 else None

    def with_cap(self, payload: dict, max_tokens: int) -> dict:
        options = payload.get("options")
        return {**payload, "options": {**(options if isinstance(options, dict) else {}), "num_predict": max_tokens}}

    def embed_body(self, model: str, texts: list, extra: dict) -> dict:
        return {**super().embed_body(model, texts, extra), "truncate": True}

    def vectors(self, data: dict, expected: int) -> list[list[float]]:
        return data.get("embeddings") or []

