"""Token counts for the usage ledger (accounts/metering.py), from any upstream's answer: OpenAI's
`usage` (prompt/completion tokens), Anthropic-style input/output tokens, Ollama's
`prompt_eval_count`/`eval_count`; when an upstream reports none, a tokenizer's estimate."""

import json
import logging
import threading

import tiktoken
from django.conf import settings

log = logging.getLogger("gateway.usage")
PER_MESSAGE = 4  # the chat template's tokens around each message (OpenAI's counting recipe)
PER_REPLY = 3

_encoding = None
_loading = threading.Lock()


def _load() -> None:
    global _encoding
    try:
        _encoding = tiktoken.get_encoding(settings.USAGE_ESTIMATE_ENCODING)
    except Exception as exc:  # noqa: BLE001 (offline and not cached: the byte estimate stays)
        log.warning("usage estimates: the %s encoding is unavailable (%s); counting bytes / 3",
                    settings.USAGE_ESTIMATE_ENCODING, exc)


def count(text: str) -> int:
    """Tokens in `text` by USAGE_ESTIMATE_ENCODING (cl100k_base); until it is loaded (in the background:
    it may have to be fetched once), when it cannot be or none is set, UTF-8 bytes / 3, which errs high
    for most text."""
    if not text:
        return 0
    if _encoding is None:
        if settings.USAGE_ESTIMATE_ENCODING and _loading.acquire(blocking=False):  # one try per process, never on the caller's time
            threading.Thread(target=_load, name="tiktoken-load", daemon=True).start()
        return (len(text.encode()) + 2) // 3
    return len(_encoding.encode_ordinary(text))


def _texts(content) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [p if isinstance(p, str) else p.get("text", "") for p in content
                if isinstance(p, str) or (isinstance(p, dict) and isinstance(p.get("text", ""), str))]
    return []


def prompt_estimate(payload: dict | None) -> int:
    """The prompt tokens of a chat, completion or embedding request (messages, prompt, system, input)."""
    if not isinstance(payload, dict):
        return 0
    tokens = 0
    messages = payload.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict):
                tokens += PER_MESSAGE + sum(count(t) for t in _texts(message.get("content")))
        tokens += PER_REPLY
    for key in ("prompt", "system", "input"):
        tokens += sum(count(t) for t in _texts(payload.get(key)))
    return tokens


def tokens_in(data) -> tuple[int | None, int | None]:
    """(prompt, completion) tokens an answer or a stream's last chunk reports, else (None, None)."""
    if not isinstance(data, dict):
        return None, None
    usage = data.get("usage")
    if isinstance(usage, dict):
        prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
        completion = usage.get("completion_tokens", usage.get("output_tokens", 0))
    else:
        prompt, completion = data.get("prompt_eval_count"), data.get("eval_count", 0)
    if isinstance(prompt, int) and isinstance(completion, int) and prompt >= 0 and completion >= 0:
        return prompt, completion
    return None, None


def completion_text(data) -> str:
    """The generated text of a whole answer (chat.completion, Ollama chat or generate)."""
    if not isinstance(data, dict):
        return ""
    choices = data.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message") or {}
        return "".join(_texts(message.get("content"))) if isinstance(message, dict) else ""
    message = data.get("message")
    if isinstance(message, dict):
        return "".join(_texts(message.get("content")))
    return data.get("response", "") if isinstance(data.get("response"), str) else ""


def chunk_usage(text: str | bytes) -> tuple[int | None, int | None, bool]:
    """(prompt, completion, usage only) for one stream chunk or line that may carry usage: `usage
    only` when it is the extra chunk `stream_options.include_usage` asks for (no choices)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip()
    if text.startswith("data:"):
        text = text[5:].strip()
    try:
        data = json.loads(text)
    except ValueError:
        return None, None, False
    prompt, completion = tokens_in(data)
    return prompt, completion, isinstance(data, dict) and data.get("choices") == [] and prompt is not None


def has_text(payload: str) -> bool:
    """Whether a chunk carries generated text (one token, give or take, for an estimate)."""
    return '"content"' in payload and '"content": ""' not in payload and '"content":""' not in payload
