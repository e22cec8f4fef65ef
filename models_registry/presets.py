"""How a preset (or override) changes a request: system prompt first, then its params under the
request's (API.md §3.3). Used by chat completions and the provider proxies."""

import json
from datetime import UTC, datetime

from models_registry import registry


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
    if messages and messages[0].get("role") == "system" and isinstance(messages[0].get("content"), str):
        return [{**messages[0], "content": f"{system}\n{messages[0]['content']}"}, *messages[1:]]
    return [{"role": "system", "content": system}, *messages]


def merged_params(entry: registry.Entry, body: dict) -> dict:
    params = dict(entry.row.params) if entry.row else {}
    for key, value in (body.get("params") or {}).items():
        if value is not None:
            params[key] = value
    custom = params.get("custom_params") or {}
    for key, value in custom.items():
        try:
            params[key] = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            params[key] = value
    return params
