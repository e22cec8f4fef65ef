"""Anthropic's Messages API over the chat completion path (as Open WebUI's utils/anthropic.py): a
Messages request becomes an OpenAI chat request, and the chat.completion (or its chunk stream)
becomes a Message (or Anthropic's SSE events). Pure conversions: no I/O here."""

import json
import math
import uuid
from collections.abc import AsyncIterator

from chat import context

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "end_turn"}


def message_id() -> str:
    return f"msg_{uuid.uuid4().hex[:24]}"


# --- request ---------------------------------------------------------------------------------------


def _image(source: dict) -> dict:
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
    else:
        url = source.get("url", "")
    return {"type": "image_url", "image_url": {"url": url}}


def _parts(blocks: list) -> list[dict]:
    """Text and image blocks as OpenAI content parts (others have no chat equivalent)."""
    parts = []
    for block in blocks:
        if isinstance(block, str):
            parts.append({"type": "text", "text": block})
        elif block.get("type", "text") == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif block.get("type") == "image":
            parts.append(_image(block.get("source") or {}))
    return parts


def _content(parts: list[dict]):
    """A lone text part is plain content, as most upstreams prefer."""
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"]
    return parts


def _tool_result(block: dict) -> dict:
    content = block.get("content", "")
    if isinstance(content, list):
        content = "\n".join(p["text"] for p in _parts(content) if p["type"] == "text")
    if block.get("is_error"):
        content = f"Error: {content}"
    return {"role": "tool", "tool_call_id": block.get("tool_use_id", ""), "content": content}


def _messages(message: dict) -> list[dict]:
    """One Anthropic message as OpenAI messages: tool results become tool messages of their own."""
    role, content = message["role"], message["content"]
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    out = [_tool_result(b) for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
    calls = [{"id": b.get("id") or f"toolu_{uuid.uuid4().hex[:24]}", "type": "function",
              "function": {"name": b.get("name", ""), "arguments": json.dumps(b.get("input") or {})}}
             for b in content if isinstance(b, dict) and b.get("type") == "tool_use"]
    parts = _parts([b for b in content if isinstance(b, str) or b.get("type") in ("text", "image")])
    if calls:
        out.append({"role": role, "content": _content(parts) if parts else "", "tool_calls": calls})
    elif parts or role == "assistant":
        out.append({"role": role, "content": _content(parts) if parts else ""})
    return out


def to_openai(body: dict) -> dict:
    """The OpenAI chat request for a (validated) Messages request."""
    messages = []
    system = body.get("system")
    if system:
        text = system if isinstance(system, str) else "\n".join(b.get("text", "") for b in system)
        messages.append({"role": "system", "content": text})
    for message in body["messages"]:
        messages.extend(_messages(message))
    request: dict = {"model": body["model"], "messages": messages}
    for name in ("max_tokens", "temperature", "top_p", "top_k", "stream"):
        if body.get(name) is not None:
            request[name] = body[name]
    if body.get("stop_sequences"):
        request["stop"] = body["stop_sequences"]
    if body.get("stream"):
        request["stream_options"] = {"include_usage": True}  # usage for message_delta
    if body.get("tools"):
        request["tools"] = [{"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                                               "parameters": t.get("input_schema") or {}}}
                            for t in body["tools"]]
        choice = body.get("tool_choice") or {}
        if choice.get("type") == "any":
            request["tool_choice"] = "required"
        elif choice.get("type") == "tool":
            request["tool_choice"] = {"type": "function", "function": {"name": choice.get("name", "")}}
        elif choice.get("type") in ("auto", "none"):
            request["tool_choice"] = choice["type"]
    return request


def estimate_tokens(messages: list[dict], tools: list | None = None) -> int:
    """Input tokens estimated from the text (about 4 characters a token, 4 more per message), for
    upstreams that cannot count them."""
    chars = sum(len(context.message_text(m.get("content"))) + len(json.dumps(m.get("tool_calls") or "")) for m in messages)
    chars += len(json.dumps(tools)) if tools else 0
    return math.ceil(chars / 4) + 4 * len(messages)


# --- response --------------------------------------------------------------------------------------


def _usage(usage) -> dict:
    usage = usage if isinstance(usage, dict) else {}
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    return {"input_tokens": prompt if isinstance(prompt, int) else 0,
            "output_tokens": completion if isinstance(completion, int) else 0}


def _tool_input(arguments) -> dict:
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def to_message(completion: dict, model: str) -> dict:
    """The Message for a chat.completion."""
    choices = completion.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    content: list[dict] = []
    thinking = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(thinking, str) and thinking:
        content.append({"type": "thinking", "thinking": thinking, "signature": ""})
    if isinstance(message.get("content"), str) and message["content"]:
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append({"type": "tool_use", "id": call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}",
                        "name": function.get("name", ""), "input": _tool_input(function.get("arguments"))})
    return {
        "id": message_id(), "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": STOP_REASONS.get(choice.get("finish_reason") or "stop", "end_turn"), "stop_sequence": None,
        "usage": _usage(completion.get("usage")),
    }


# --- stream ----------------------------------------------------------------------------------------


def event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def error_event(message: str) -> bytes:
    """A stream's failure after its 200 was sent, in Anthropic's in-stream error shape."""
    return event("error", {"type": "error", "error": {"type": "api_error", "message": message}})


class _Blocks:
    """The content blocks of a streamed Message: one open at a time, numbered in order."""

    def __init__(self):
        self.index = -1
        self.open: str | None = None  # kind of the open block: thinking, text, or the tool call's key
        self.tools: dict[int, str] = {}  # OpenAI tool call index → its open block's key

    def start(self, kind: str, block: dict) -> list[bytes]:
        out = self.stop()
        self.index += 1
        self.open = kind
        return [*out, event("content_block_start", {"type": "content_block_start", "index": self.index, "content_block": block})]

    def stop(self) -> list[bytes]:
        if self.open is None:
            return []
        self.open = None
        return [event("content_block_stop", {"type": "content_block_stop", "index": self.index})]

    def delta(self, delta: dict) -> bytes:
        return event("content_block_delta", {"type": "content_block_delta", "index": self.index, "delta": delta})


def _chunk_events(blocks: _Blocks, delta: dict) -> list[bytes]:
    out: list[bytes] = []
    thinking = delta.get("reasoning_content") or delta.get("reasoning")
    if isinstance(thinking, str) and thinking and not blocks.tools:
        if blocks.open != "thinking":
            out += blocks.start("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        out.append(blocks.delta({"type": "thinking_delta", "thinking": thinking}))
    text = delta.get("content")
    if isinstance(text, str) and text and not blocks.tools:  # Anthropic puts text before tool calls
        if blocks.open != "text":
            out += blocks.start("text", {"type": "text", "text": ""})
        out.append(blocks.delta({"type": "text_delta", "text": text}))
    for call in delta.get("tool_calls") or []:
        number = call.get("index", 0)
        function = call.get("function") or {}
        if number not in blocks.tools:
            key = f"tool-{number}"
            blocks.tools[number] = key
            out += blocks.start(key, {"type": "tool_use", "id": call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}",
                                      "name": function.get("name", ""), "input": {}})
        arguments = function.get("arguments")
        if arguments and blocks.open == blocks.tools[number]:
            out.append(blocks.delta({"type": "input_json_delta",
                                     "partial_json": arguments if isinstance(arguments, str) else json.dumps(arguments)}))
    return out


async def stream(payloads: AsyncIterator[str], model: str) -> AsyncIterator[bytes]:
    """Anthropic's SSE events for a chat stream's payloads (chunk JSON texts, then "[DONE]"; an
    `error` payload when the upstream failed). Closing it closes the upstream stream."""
    blocks = _Blocks()
    usage = {"input_tokens": 0, "output_tokens": 0}
    stop_reason = "end_turn"
    yield event("message_start", {"type": "message_start", "message": {
        "id": message_id(), "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": dict(usage)}})
    yield event("ping", {"type": "ping"})
    try:
        async for payload in payloads:
            if payload == "[DONE]":
                break
            chunk = json.loads(payload)
            if chunk.get("error"):
                error = chunk["error"]
                yield error_event(error.get("message", "") if isinstance(error, dict) else str(error))
                return  # no message_stop: the message is not complete
            if chunk.get("usage"):
                usage = _usage(chunk["usage"])
            for choice in chunk.get("choices") or []:
                for part in _chunk_events(blocks, choice.get("delta") or {}):
                    yield part
                if choice.get("finish_reason"):
                    stop_reason = STOP_REASONS.get(choice["finish_reason"], "end_turn")
    finally:
        await payloads.aclose()  # the client left, or the stream ended: close the upstream request
    for part in blocks.stop():
        yield part
    yield event("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                  "usage": usage})
    yield event("message_stop", {"type": "message_stop"})
