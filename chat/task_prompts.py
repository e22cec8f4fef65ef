"""Filling in task prompt templates, as Open WebUI 0.12.4's utils/task.py does: {{prompt}} (and
its :start:/:end:/:middletruncate: forms), {{MESSAGES}} (:START:/:END:/:MIDDLETRUNCATE: and
|filter forms), {{TYPE}}, {{responses}}, and the user and date variables."""

import math
import re
from datetime import datetime

_PROMPT = re.compile(r"(?i){{prompt}}|{{prompt:start:(\d+)}}|{{prompt:end:(\d+)}}|{{prompt:middletruncate:(\d+)}}")
_MOA_PROMPT = re.compile(r"{{prompt}}|{{prompt:start:(\d+)}}|{{prompt:end:(\d+)}}|{{prompt:middletruncate:(\d+)}}")
_MESSAGES = re.compile(
    r"\{\{MESSAGES(?:\|(\w+:\d+))?\}\}|\{\{MESSAGES:START:(\d+)(?:\|(\w+:\d+))?\}\}"
    r"|\{\{MESSAGES:END:(\d+)(?:\|(\w+:\d+))?\}\}|\{\{MESSAGES:MIDDLETRUNCATE:(\d+)(?:\|(\w+:\d+))?\}\}")


def message_text(message: dict) -> str | None:
    """A message's text: a string content, or its first text part."""
    content = message.get("content")
    if isinstance(content, list):
        for item in content:
            if isinstance(item, dict) and item.get("type") == "text":
                return item.get("text")
        return None
    return content if isinstance(content, str) else None


def last_user_text(messages: list[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message) or ""
    return ""


def _cut(text: str, start, end, middle) -> str:
    if start is not None:
        return text[: int(start)]
    if end is not None:
        return text[-int(end):]
    if middle is not None:
        length = int(middle)
        if len(text) <= length:
            return text
        return f"{text[: math.ceil(length / 2)]}...{text[-math.floor(length / 2):]}"
    return text


def fill_prompt(template: str, prompt: str, pattern: re.Pattern = _PROMPT) -> str:
    return pattern.sub(lambda m: _cut(prompt, m.group(1), m.group(2), m.group(3)), template)


def truncate(content: str, max_chars: int, mode: str = "middletruncate") -> str:
    if max_chars <= 0:
        return ""
    if not content or len(content) <= max_chars:
        return content
    if mode == "start":
        return content[:max_chars]
    if mode == "end":
        return content[-max_chars:]
    half = max_chars // 2
    return f"{content[:half]}...{content[-(max_chars - half):]}"


def _filtered(messages: list[dict], spec: str | None) -> list[dict]:
    mode, _, size = (spec or "").partition(":")
    if mode.lower() not in ("middletruncate", "start", "end") or not size.isdigit():
        return messages
    result = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            content = truncate(content, int(size), mode.lower())
        elif isinstance(content, list):
            content = [{**part, "text": truncate(part.get("text", ""), int(size), mode.lower())}
                       if isinstance(part, dict) and part.get("type") == "text" else part for part in content]
        result.append({**message, "content": content})
    return result


def _transcript(messages: list[dict]) -> str:
    return "\n".join(f"{str(m.get('role', '')).upper()}: {message_text(m)}" for m in messages)


def fill_messages(template: str, messages: list[dict] | None) -> str:
    def replace(match: re.Match) -> str:
        if messages is None:
            return ""
        bare, start, start_filter, end, end_filter, middle, middle_filter = match.groups()
        if start is not None:
            selected, spec = messages[: int(start)], start_filter
        elif end is not None:
            selected, spec = messages[-int(end):], end_filter
        elif middle is not None:
            length = int(middle)
            half = length // 2
            tail = half if length % 2 == 0 else half + 1
            selected = messages if len(messages) <= length else messages[:half] + messages[-tail:]
            spec = middle_filter
        else:
            selected, spec = messages, bare
        return _transcript(_filtered(selected, spec))

    return _MESSAGES.sub(replace, template)


def fill_user(template: str, user) -> str:
    """Date, time and the user's variables; what this server does not keep about users is "Unknown"."""
    now = datetime.now()
    date, time = now.strftime("%Y-%m-%d"), now.strftime("%I:%M:%S %p")
    values = {
        "{{CURRENT_DATE}}": date, "{{CURRENT_TIME}}": time, "{{CURRENT_DATETIME}}": f"{date} {time}",
        "{{CURRENT_WEEKDAY}}": now.strftime("%A"),
        "{{USER_NAME}}": user.name, "{{USER_EMAIL}}": user.email, "{{USER_BIO}}": "Unknown", "{{USER_GENDER}}": "Unknown",
        "{{USER_BIRTH_DATE}}": "Unknown", "{{USER_AGE}}": "Unknown", "{{USER_LOCATION}}": "Unknown", "{{USER_GROUPS}}": "",
    }
    for variable, value in values.items():
        template = template.replace(variable, value)
    return template


def from_messages(template: str, messages: list[dict], user) -> str:
    """Title, tags, image prompt and queries: the last user message and the history."""
    return fill_user(fill_messages(fill_prompt(template, last_user_text(messages)), messages), user)


def follow_up(template: str, messages: list[dict], user, *, default: bool) -> str:
    """With the default template, the first user message and the last four, each cut to 1000
    characters, as Open WebUI sends them."""
    if default:
        start = max(0, len(messages) - 4)
        first = next((i for i, m in enumerate(messages) if m.get("role") == "user"), None)
        messages = ([messages[first]] if first is not None and first < start else []) + messages[start:]
    normalized = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            text = "\n".join(p["text"] for p in content
                             if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str))
        else:
            text = message_text(message) or ""
        if default and len(text) > 1000:
            text = truncate(text, 997)
        normalized.append({**message, "content": text})
    return from_messages(template, normalized, user)


def emoji(template: str, prompt: str, user) -> str:
    return fill_user(fill_prompt(template, prompt), user)


def autocomplete(template: str, prompt: str, messages: list[dict] | None, kind: str | None, user) -> str:
    template = template.replace("{{TYPE}}", kind or "")
    return fill_user(fill_messages(fill_prompt(template, prompt), messages), user)


def moa(template: str, prompt: str, responses: list[str]) -> str:
    filled = fill_prompt(template, prompt, _MOA_PROMPT)
    return filled.replace("{{responses}}", "\n\n".join(f'"""{r}"""' for r in responses))
