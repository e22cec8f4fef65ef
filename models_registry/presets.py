"""How a preset (or override) changes a request: system prompt first, then its params under the
request's (API.md §3.3). The one rule for chat completions, the WebSocket and the provider
passthrough routes; each provider then maps the params to its own request format."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from models_registry import registry

# Open WebUI-only params, never sent upstream (API.md §3.3)
WEBUI_ONLY = {
    "stream_response", "stream_delta_chunk_size", "function_calling", "reasoning_tags", "compact_token_threshold",
    "system", "note_id", "tool_approval_mode", "model_controls", "custom_params",
}


@dataclass(frozen=True)
class Applied:
    messages: object  # the request's messages with the system prompt first (as sent when not a list)
    params: dict  # generation params for the upstream
    stream: bool | None  # the preset's stream_response, which overrides the request's


def apply(entry: registry.Entry, body: dict, user) -> Applied:
    params = merged_params(entry, body)
    messages = body.get("messages")
    system = entry.row.params.get("system") if entry.row else None
    if system and isinstance(messages, list):
        messages = with_system(messages, render(system, user))
    stream = entry.row.params.get("stream_response") if entry.row else None
    return Applied(messages, {k: v for k, v in params.items() if k not in WEBUI_ONLY},
                   None if stream is None else bool(stream))


def render(template: str, user) -> str:
    now = datetime.now(UTC)
    return (
        template.replace("{{USER_NAME}}", user.name)
        .replace("{{USER_EMAIL}}", user.email)
        .replace("{{CURRENT_DATE}}", now.strftime("%Y-%m-%d"))
        .replace("{{CURRENT_TIME}}", now.strftime("%H:%M:%S"))
        .replace("{{CURRENT_DATETIME}}", now.strftime("%Y-%m-%d %H:%M:%S"))
    )


def with_system(messages: list[dict], system: str) -> list[dict]:
    """The model's system prompt goes before the client's (API.md §3.3)."""
    if messages and isinstance(messages[0], dict) and messages[0].get("role") == "system" and isinstance(messages[0].get("content"), str):
        return [{**messages[0], "content": f"{system}\n{messages[0]['content']}"}, *messages[1:]]
    return [{"role": "system", "content": system}, *messages]


def merged_params(entry: registry.Entry, body: dict) -> dict:
    """The preset's params, then the request's `params` over them, then `custom_params` (JSON texts)."""
    params = dict(entry.row.params) if entry.row else {}
    requested = body.get("params")
    for key, value in (requested.items() if isinstance(requested, dict) else ()):
        if value is not None:
            params[key] = value
    custom = params.get("custom_params") or {}
    for key, value in (custom.items() if isinstance(custom, dict) else ()):
        try:
            params[key] = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            params[key] = value
    return params
