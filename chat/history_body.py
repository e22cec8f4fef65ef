"""Pure functions over a chat's body, Open WebUI's `chat` JSON: `{"title", "models", "history":
{"messages": {id: message}, "currentId"}, "messages": [...], ...}`. Each message has `id`, `parentId`,
`childrenIds`, `role`, `content` and (assistant) `model`, `timestamp`."""

import re
import time

SEARCH_FILTERS = ("tag:", "folder:", "pinned:", "archived:", "shared:")


def messages_map(body: dict) -> dict:
    history = body.get("history") if isinstance(body.get("history"), dict) else {}
    messages = history.get("messages")
    return messages if isinstance(messages, dict) else {}


def current_id(body: dict) -> str | None:
    history = body.get("history") if isinstance(body.get("history"), dict) else {}
    value = history.get("currentId")
    return value if isinstance(value, str) else None


def message_list(messages: dict, message_id: str | None) -> list[dict]:
    """The branch ending at `message_id`, oldest first (Open WebUI's get_message_list)."""
    branch, seen = [], set()
    while message_id and message_id in messages and message_id not in seen:
        seen.add(message_id)
        message = messages[message_id]
        if not isinstance(message, dict):
            break
        branch.append(message)
        message_id = message.get("parentId")
    return branch[::-1]


def set_authors(body: dict, user) -> None:
    """Attribute the client's messages to the caller, as Open WebUI does on create and update."""
    messages = [m for m in messages_map(body).values() if isinstance(m, dict)]
    if isinstance(body.get("messages"), list):
        messages.extend(m for m in body["messages"] if isinstance(m, dict))
    for message in messages:
        message["user_id"] = str(user.pk)
        if message.get("role") == "user":
            message["user"] = {"id": str(user.pk), "name": user.name}


def merge_history(stored: dict | None, incoming: dict | None) -> dict:
    """Incoming messages over the stored ones (a client that read earlier does not drop messages saved
    since), children rebuilt from parents, currentId the incoming one when it exists."""
    stored, incoming = stored or {}, incoming or {}
    existing = stored.get("messages") if isinstance(stored.get("messages"), dict) else {}
    new = incoming.get("messages") if isinstance(incoming.get("messages"), dict) else {}
    merged = {mid: {**m, "childrenIds": []} for mid, m in {**existing, **new}.items() if isinstance(m, dict)}
    for mid, message in merged.items():
        parent = message.get("parentId")
        if parent in merged:
            merged[parent]["childrenIds"].append(mid)
    current = incoming.get("currentId")
    if current not in merged:
        current = stored.get("currentId") if stored.get("currentId") in merged else None
    return {**stored, **incoming, "messages": merged, "currentId": current}


def upsert_message(body: dict, message_id: str, changes: dict) -> None:
    """Change a message's fields, or add it under the current message (Open WebUI's upsert)."""
    history = body.setdefault("history", {})
    if not isinstance(history, dict):
        history = body["history"] = {}
    messages = history.setdefault("messages", {})
    if message_id in messages and isinstance(messages[message_id], dict):
        messages[message_id] = {**messages[message_id], **changes}
        return
    parent_id = changes.get("parentId", history.get("currentId"))
    parent = messages.get(parent_id) if parent_id else None
    role = changes.get("role") or ("assistant" if not parent or parent.get("role") == "user" else "user")
    messages[message_id] = {**changes, "id": message_id, "parentId": parent_id if parent else None,
                            "childrenIds": [], "role": role, "timestamp": changes.get("timestamp") or int(time.time())}
    if parent is not None:
        parent.setdefault("childrenIds", []).append(message_id)
    history["currentId"] = message_id


def delete_message(body: dict, message_id: str) -> bool:
    """Remove a message and its direct replies, re-parenting their replies to its parent; currentId
    follows the newest remaining branch. False when the message is not there."""
    history = body.get("history") if isinstance(body.get("history"), dict) else None
    messages = (history or {}).get("messages") or {}
    message = messages.get(message_id)
    if not isinstance(message, dict):
        return False
    parent_id = message.get("parentId")
    children = [c for c in message.get("childrenIds") or [] if c in messages]
    grandchildren = [g for c in children for g in messages[c].get("childrenIds") or [] if g in messages]
    if parent_id in messages:
        kept = [c for c in messages[parent_id].get("childrenIds") or [] if c != message_id]
        messages[parent_id]["childrenIds"] = kept + grandchildren
    for g in grandchildren:
        messages[g]["parentId"] = parent_id
    for gone in (message_id, *children):
        messages.pop(gone, None)
    current = parent_id
    following = ([m for m, v in messages.items() if v.get("parentId") is None] if current is None
                 else messages.get(current, {}).get("childrenIds") or [])
    seen: set[str] = set()
    while following and following[-1] not in seen:
        current = following[-1]
        seen.add(current)
        following = messages.get(current, {}).get("childrenIds") or []
    history["currentId"] = current if current in messages else None  # type: ignore[index]
    if isinstance(body.get("messages"), list):
        body["messages"] = [m for m in body["messages"] if not (isinstance(m, dict) and m.get("id") in (message_id, *children))]
    return True


# --- search ---------------------------------------------------------------------------------------


def search_words(text: str) -> list[str]:
    """The words of a search (filters such as `tag:x` removed), lowercased."""
    return [w for w in text.lower().split() if not w.startswith(SEARCH_FILTERS)]


def search_filters(text: str) -> dict[str, list[str]]:
    """`tag:`, `folder:`, `pinned:`, `archived:`, `shared:` words of a search, by prefix (without its colon)."""
    found: dict[str, list[str]] = {}
    for word in text.lower().split():
        for prefix in SEARCH_FILTERS:
            if word.startswith(prefix) and len(word) > len(prefix):
                found.setdefault(prefix[:-1], []).append(word[len(prefix):])
    return found


def prefix_query(words: list[str]) -> str | None:
    """A to_tsquery text matching every word as a word prefix (`refund:* & polic:*`), or None."""
    terms = [t for w in words for t in re.findall(r"[^\W_]+", w)]
    return " & ".join(f"{t}:*" for t in dict.fromkeys(terms)) or None


def snippet(body: dict, text: str, max_length: int = 200) -> str | None:
    """Where a message mentions the search (the phrase, else one of its words), as Open WebUI shows it."""
    phrase = " ".join(search_words(text))
    if not phrase:
        return None
    messages = list(messages_map(body).values()) or [m for m in body.get("messages") or [] if isinstance(m, dict)]
    for needle in dict.fromkeys([phrase, *re.findall(r"\w+", phrase)]):
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, str):
                continue
            index = content.lower().find(needle)
            if index == -1:
                continue
            start = max(index - max_length // 2, 0)
            end = min(start + max_length, len(content))
            if index + len(needle) > end:
                end = min(index + len(needle), len(content))
                start = max(end - max_length, 0)
            middle = " ".join(content[start:end].split())
            return f'{"..." if start else ""}{middle}{"..." if end < len(content) else ""}'
    return None


# --- statistics (GET /chats/stats/*) --------------------------------------------------------------


def _content_length(message: dict) -> int:
    content = message.get("content", "")
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(len(i.get("text", "")) for i in content if isinstance(i, dict) and i.get("type") == "text")
    return 0


def aggregate(body: dict) -> dict:
    """Open WebUI's per-chat statistics (usage stats and stats export share them)."""
    messages = messages_map(body)
    users = [m for m in messages.values() if isinstance(m, dict) and m.get("role") == "user"]
    assistants = [m for m in messages.values() if isinstance(m, dict) and m.get("role") == "assistant"]
    history_models: dict[str, int] = {}
    for m in assistants:
        if m.get("model"):
            history_models[m["model"]] = history_models.get(m["model"], 0) + 1
    times = []
    for m in assistants:
        parent = messages.get(m.get("parentId")) if m.get("parentId") else None
        if isinstance(parent, dict) and isinstance(m.get("timestamp"), int | float) and isinstance(parent.get("timestamp"), int | float):
            times.append(m["timestamp"] - parent["timestamp"])
    branch = message_list(messages, current_id(body))
    models: dict[str, int] = {}
    for m in branch:
        if m.get("role") == "assistant" and m.get("model"):
            models[m["model"]] = models.get(m["model"], 0) + 1
    return {
        "average_response_time": sum(times) / len(times) if times else 0,
        "average_user_message_content_length": sum(map(_content_length, users)) / len(users) if users else 0,
        "average_assistant_message_content_length": (sum(map(_content_length, assistants)) / len(assistants)
                                                     if assistants else 0),
        "models": models, "message_count": len(branch),
        "history_models": history_models, "history_message_count": len(messages),
        "history_user_message_count": len(users), "history_assistant_message_count": len(assistants),
        "last_message_at": branch[-1].get("timestamp") if branch else None,
    }


def message_stats(body: dict) -> dict:
    """Per message: what the stats export shows instead of the text."""
    out = {}
    for key, m in messages_map(body).items():
        if not isinstance(m, dict):
            continue
        annotation = m.get("annotation") if isinstance(m.get("annotation"), dict) else {}
        out[key] = {"id": m.get("id") or key, "role": m.get("role") or "", "model": m.get("model"),
                    "content_length": _content_length(m), "token_count": None, "timestamp": m.get("timestamp"),
                    "rating": annotation.get("rating"), "tags": annotation.get("tags")}
    return out
