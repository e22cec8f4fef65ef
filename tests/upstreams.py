"""Local upstream LLM servers for the tests, speaking the real wire protocols: Ollama (JSON and
NDJSON streaming) and OpenAI (JSON and SSE). Latency, errors, mid-stream drops and broken answers
(cut bodies, invalid JSON, trickling bytes) are controllable, and every request and client
disconnect is recorded."""

import asyncio
import json
import re
import threading
import time
import zlib

import uvicorn

from tests.server import free_port


def bag_of_words(text: str, dims: int = 384) -> list[float]:
    """A deterministic embedding: word counts hashed into `dims` buckets (similar texts, near vectors)."""
    vector = [0.0] * dims
    for word in re.findall(r"\w+", text.lower()):
        vector[zlib.crc32(word.encode()) % dims] += 1.0
    return vector if any(vector) else [1.0] + [0.0] * (dims - 1)


async def read_body(receive) -> bytes:
    """The whole body of an ASGI HTTP request."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


class Dropped(Exception):
    """Raised inside the app to cut the connection mid-stream."""


class _Faulty:
    """An ASGI `send` that breaks successful answers as `upstream.fault` says."""

    def __init__(self, send, upstream: "FakeUpstream"):
        self.send, self.upstream, self.json = send, upstream, False

    async def __call__(self, message):
        fault = self.upstream.fault
        if message["type"] == "http.response.start":
            self.json = dict(message["headers"]).get(b"content-type") == b"application/json"
            return await self.send(message)
        body, streaming = message.get("body", b""), message.get("more_body", False)
        if not self.json:  # a stream line
            if fault == "invalid-json" and body.strip() not in (b"", b"data: [DONE]"):
                body = body[: len(body) // 2] + b"\n\n"
                self.upstream.fault = None  # one broken line, then the stream goes on
            return await self.send({**message, "body": body})
        if fault == "drop-body":
            await self.send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise Dropped()
        if fault == "invalid-json":
            cut = body[: len(body) // 2]
            # same length, so the HTTP message itself is complete and well-formed
            return await self.send({**message, "body": cut + b" " * (len(body) - len(cut))})
        if fault == "trickle":
            for i in range(len(body)):
                await self.send({"type": "http.response.body", "body": body[i:i + 1], "more_body": True})
                await asyncio.sleep(self.upstream.trickle_delay)
            return await self.send({"type": "http.response.body", "body": b"", "more_body": streaming})
        return await self.send(message)


class FakeUpstream:
    def __init__(self, kind: str, models=("llama3.1:8b",)):
        self.kind = kind
        self.models = list(models)
        self.latency = 0.0  # seconds before answering
        self.token_delay = 0.0  # seconds between streamed chunks
        self.reply = None  # fixed answer text; default echoes the last user message
        self.fail_status: int | None = None
        self.fail_after: int | None = None  # requests to a path answered before fail_status applies to it
        self.fail_message = "upstream exploded"
        self.retry_after: str | None = None  # Retry-After header sent with fail_status
        # Broken generation answers (model lists stay sound): "drop-body" cuts JSON answers halfway and
        # closes the connection; "invalid-json" sends JSON answers that are not JSON and a stream line
        # that is not either; "trickle" sends JSON answers one byte every `trickle_delay` seconds.
        self.fault: str | None = None
        self.trickle_delay = 1.0
        self.drop_after: int | None = None  # chunks sent before the connection is cut
        self.tokens = None  # fixed number of tokens to stream
        self.embedding_dims = 384  # all-MiniLM-L6-v2 size; tests set 768 or 3072 too
        self.counted_tokens: int | None = None  # set: answers Anthropic's /v1/messages/count_tokens (OpenAI kind)
        self.requests: list[tuple[str, str, dict | None]] = []
        self.headers: list[dict[str, str]] = []  # each request's headers (lower-case names), as `requests`
        self.disconnected = threading.Event()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}" + ("/v1" if kind == "openai" else "")
        # idle sockets stay open as long as the client keeps them, as Ollama's do (uvicorn would close them after 5 s)
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="critical", lifespan="off",
                                                     interface="asgi3", timeout_graceful_shutdown=1, timeout_keep_alive=3600))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> "FakeUpstream":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake upstream did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)

    def last(self, path: str) -> dict:
        return [body for _, p, body in self.requests if p == path][-1]

    # --- ASGI ------------------------------------------------------------------------------------

    async def app(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        data = json.loads(body) if body else None
        path = scope["path"]
        self.headers.append({k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]})
        self.requests.append((scope["method"], path, data))
        watcher = asyncio.ensure_future(self._watch_disconnect(receive))
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            if self.fail_status and (self.fail_after is None or sum(p == path for _, p, _ in self.requests) > self.fail_after):
                error = {"error": self.fail_message} if self.kind == "ollama" else {
                    "error": {"message": self.fail_message, "type": "invalid_request_error", "code": None}}
                headers = [(b"retry-after", self.retry_after.encode())] if self.retry_after else []
                return await self._json(send, error, self.fail_status, headers)
            handler = getattr(self, f"_{self.kind}_{path.strip('/').replace('/', '_')}", None)
            if handler is None:
                return await self._json(send, {"error": "not found"}, 404)
            faulty = self.fault is not None and path not in ("/v1/models", "/api/tags")
            await handler(_Faulty(send, self) if faulty else send, data or {})
        finally:
            watcher.cancel()

    async def _watch_disconnect(self, receive):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected.set()
                return

    async def _json(self, send, data, status=200, headers=()):
        payload = json.dumps(data).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *headers]})
        await send({"type": "http.response.body", "body": payload})

    def open_connections(self) -> int:
        """Client connections this server holds open right now."""
        return len(self._server.server_state.connections)

    def _answer_tokens(self, data) -> list[str]:
        if self.tokens:
            return [f"t{i} " for i in range(self.tokens)]
        text = self.reply
        if text is None:
            user = [m for m in data.get("messages", []) if m.get("role") == "user"]
            content = user[-1]["content"] if user else ""
            if isinstance(content, list):
                content = " ".join(p.get("text", "") for p in content if p.get("type") == "text")
            text = f"Echo: {content}"
        words = text.split(" ")
        return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]

    async def _stream(self, send, content_type: bytes, lines):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]})
        for i, line in enumerate(lines):
            if self.drop_after is not None and i >= self.drop_after:
                raise Dropped()
            if i and self.token_delay:
                await asyncio.sleep(self.token_delay)
            await send({"type": "http.response.body", "body": line.encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    # --- OpenAI ----------------------------------------------------------------------------------

    async def _openai_v1_models(self, send, data):
        await self._json(send, {"object": "list", "data": [
            {"id": m, "object": "model", "created": 1721172741, "owned_by": "system"} for m in self.models]})

    async def _openai_v1_chat_completions(self, send, data):
        tokens = self._answer_tokens(data)
        usage = {"prompt_tokens": 7, "completion_tokens": len(tokens), "total_tokens": 7 + len(tokens)}
        if not data.get("stream"):
            return await self._json(send, {
                "id": "chatcmpl-upstream", "object": "chat.completion", "created": int(time.time()), "model": data["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(tokens)}, "finish_reason": "stop"}],
                "usage": usage, "system_fingerprint": "fp_fake"})

        def chunk(delta, finish=None, **extra):
            return "data: " + json.dumps({"id": "chatcmpl-upstream", "object": "chat.completion.chunk",
                                          "created": int(time.time()), "model": data["model"],
                                          "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}) + "\n\n"

        lines = [chunk({"role": "assistant", "content": ""})] + [chunk({"content": t}) for t in tokens] + [chunk({}, "stop")]
        if (data.get("stream_options") or {}).get("include_usage"):
            lines.append("data: " + json.dumps({"id": "chatcmpl-upstream", "object": "chat.completion.chunk",
                                                "created": 0, "model": data["model"], "choices": [], "usage": usage}) + "\n\n")
        lines.append("data: [DONE]\n\n")
        await self._stream(send, b"text/event-stream", lines)

    async def _openai_v1_embeddings(self, send, data):
        inputs = data.get("input")
        inputs = [inputs] if isinstance(inputs, str) or (inputs and isinstance(inputs[0], int)) else inputs
        texts = [t if isinstance(t, str) else " ".join(f"tok{n}" for n in t) for t in inputs]
        await self._json(send, {"object": "list", "model": data.get("model"), "data": [
            {"object": "embedding", "index": i, "embedding": bag_of_words(t, self.embedding_dims)} for i, t in enumerate(texts)],
            "usage": {"prompt_tokens": sum(len(t.split()) for t in texts), "total_tokens": sum(len(t.split()) for t in texts)}})

    async def _openai_v1_messages_count_tokens(self, send, data):
        if self.counted_tokens is None:  # an OpenAI-compatible server that is not Anthropic-compatible
            return await self._json(send, {"error": "not found"}, 404)
        await self._json(send, {"input_tokens": self.counted_tokens})

    async def _openai_v1_responses(self, send, data):
        text = "".join(self._answer_tokens({"messages": [{"role": "user", "content": data.get("input", "")}]}))
        response = {"id": "resp_upstream", "object": "response", "created_at": int(time.time()), "status": "completed",
                    "model": data["model"], "output": [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                                                        "content": [{"type": "output_text", "text": text, "annotations": []}]}],
                    "usage": {"input_tokens": 7, "output_tokens": len(text.split()), "total_tokens": 7 + len(text.split())}}
        if not data.get("stream"):
            return await self._json(send, response)
        events = [("response.created", {"type": "response.created", "response": {**response, "status": "in_progress", "output": []}})]
        events += [("response.output_text.delta", {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0,
                                                   "content_index": 0, "delta": t})
                   for t in self._answer_tokens({"messages": [{"role": "user", "content": data.get("input", "")}]})]
        events.append(("response.completed", {"type": "response.completed", "response": response}))
        await self._stream(send, b"text/event-stream", [f"event: {name}\ndata: {json.dumps(body)}\n\n" for name, body in events])

    # --- Ollama ----------------------------------------------------------------------------------

    async def _ollama_api_tags(self, send, data):
        await self._json(send, {"models": [
            {"name": m, "model": m, "modified_at": "2026-10-01T10:00:00Z", "size": 4920753328, "digest": "46e0c10c039e",
             "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                         "parameter_size": "8.0B", "quantization_level": "Q4_K_M"}} for m in self.models]})

    async def _ollama_api_version(self, send, data):
        await self._json(send, {"version": "0.12.6"})

    async def _ollama_api_ps(self, send, data):
        await self._json(send, {"models": []})

    async def _ollama_api_show(self, send, data):
        await self._json(send, {"modelfile": "FROM llama", "parameters": "", "template": "{{ .Prompt }}",
                                "details": {"family": "llama"}, "model_info": {}})

    async def _ollama_api_chat(self, send, data):
        tokens = self._answer_tokens(data)
        final = {"model": data["model"], "created_at": "2026-11-24T00:00:00Z", "message": {"role": "assistant", "content": ""},
                 "done": True, "done_reason": "stop", "total_duration": 1250000000, "load_duration": 20000000,
                 "prompt_eval_count": 7, "prompt_eval_duration": 854000000, "eval_count": len(tokens), "eval_duration": 340000000}
        if not data.get("stream", True):
            return await self._json(send, {**final, "message": {"role": "assistant", "content": "".join(tokens)}})
        lines = [json.dumps({"model": data["model"], "created_at": "2026-11-24T00:00:00Z",
                             "message": {"role": "assistant", "content": t}, "done": False}) + "\n" for t in tokens]
        lines.append(json.dumps(final) + "\n")
        await self._stream(send, b"application/x-ndjson", lines)

    async def _ollama_api_generate(self, send, data):
        tokens = self._answer_tokens({"messages": [{"role": "user", "content": data.get("prompt", "")}]})
        final = {"model": data["model"], "created_at": "2026-11-24T00:00:00Z", "response": "", "done": True, "done_reason": "stop"}
        if not data.get("stream", True):
            return await self._json(send, {**final, "response": "".join(tokens)})
        lines = [json.dumps({"model": data["model"], "response": t, "done": False}) + "\n" for t in tokens]
        await self._stream(send, b"application/x-ndjson", lines + [json.dumps(final) + "\n"])

    async def _ollama_api_embed(self, send, data):
        inputs = data.get("input")
        inputs = [inputs] if isinstance(inputs, str) else inputs
        await self._json(send, {"model": data.get("model"), "embeddings": [bag_of_words(t, self.embedding_dims) for t in inputs],
                                "prompt_eval_count": sum(len(t.split()) for t in inputs)})

    # Ollama's OpenAI-compatible API (/v1/*) answers as OpenAI's does
    _ollama_v1_chat_completions = _openai_v1_chat_completions
    _ollama_v1_embeddings = _openai_v1_embeddings
    _ollama_v1_responses = _openai_v1_responses

    async def _ollama_v1_completions(self, send, data):
        text = "".join(self._answer_tokens({"messages": [{"role": "user", "content": data.get("prompt", "")}]}))
        await self._json(send, {"id": "cmpl-upstream", "object": "text_completion", "created": int(time.time()), "model": data["model"],
                                "choices": [{"index": 0, "text": text, "finish_reason": "stop"}]})

    async def _ollama_v1_messages(self, send, data):
        text = "".join(self._answer_tokens(data))
        await self._json(send, {"id": "msg_upstream", "type": "message", "role": "assistant", "model": data["model"],
                                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
                                "usage": {"input_tokens": 7, "output_tokens": 2}})

    # model management (admin routes)
    async def _ollama_api_pull(self, send, data):
        statuses = [{"status": "pulling manifest"}, {"status": "verifying sha256 digest"}, {"status": "success"}]
        if data.get("stream", True):
            return await self._stream(send, b"application/x-ndjson", [json.dumps(s) + "\n" for s in statuses])
        await self._json(send, statuses[-1])

    _ollama_api_create = _ollama_api_pull
    _ollama_api_push = _ollama_api_pull

    async def _ollama_api_copy(self, send, data):  # Ollama answers 200 with an empty body
        self.models.append(data["destination"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    async def _ollama_api_delete(self, send, data):
        if data.get("model") not in self.models:
            return await self._json(send, {"error": f"model '{data.get('model')}' not found"}, 404)
        self.models.remove(data["model"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    async def _ollama_api_embeddings(self, send, data):
        await self._json(send, {"embedding": bag_of_words(data.get("prompt", ""), self.embedding_dims)})
