"""Writes for prompts and their versions (Open WebUI 0.12.4's routers/prompts.py and
models/prompts.py). A prompt the caller cannot read answers 404 whatever it asks (no existence
leak); one it can read but not change answers Open WebUI's 401."""

import difflib
import uuid

from django.db import IntegrityError, transaction

from accounts import access, grants
from chat import prompt_selectors
from chat.prompt_models import Prompt, PromptHistory
from config.common.errors import ApplicationError

NOT_FOUND = "We could not find what you're looking for :/"
ACCESS_PROHIBITED = "You do not have permission to access this resource. Please contact your administrator for assistance."
COMMAND_TAKEN = "Uh-oh! This command is already registered. Please choose another command string."
UNAUTHORIZED = "401 Unauthorized"
DEFAULT_ERROR = "Something went wrong :/"
ACTIVE_VERSION = "Cannot delete the active production version"
SHARING_DENIED = "You do not have permission to share with the requested audience"


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def readable(user, prompt_id) -> Prompt:
    """The prompt if the caller may read it; an id that is not a UUID is unknown like any other."""
    pk = _uuid(prompt_id)
    prompt = prompt_selectors.readable(user).filter(pk=pk).first() if pk else None
    if prompt is None:
        raise ApplicationError(404, NOT_FOUND)
    return prompt


def writable(user, prompt_id, *, lock: bool = False) -> Prompt:
    prompt = readable(user, prompt_id)
    if not access.can_write(user, access.PROMPT, prompt):
        raise ApplicationError(401, ACCESS_PROHIBITED)
    if lock:  # one writer at a time builds a prompt's history chain
        prompt = Prompt.objects.select_for_update().select_related("user").get(pk=prompt.pk)
    return prompt


def history_entry(prompt: Prompt, history_id) -> PromptHistory:
    pk = _uuid(history_id)
    entry = PromptHistory.objects.filter(pk=pk, prompt=prompt).first() if pk else None
    if entry is None:
        raise ApplicationError(404, NOT_FOUND)
    return entry


def _grants_of(prompt: Prompt) -> list[dict]:
    return grants.by_resource(access.PROMPT, [prompt.pk])[str(prompt.pk)]


def _snapshot(prompt: Prompt) -> dict:
    return {"name": prompt.name, "content": prompt.content, "command": prompt.command, "data": prompt.data or {},
            "meta": prompt.meta or {}, "tags": prompt.tags or [], "access_grants": _grants_of(prompt)}


def _commit(prompt: Prompt, *, user, snapshot: dict, message: str | None) -> PromptHistory:
    parent = PromptHistory.objects.filter(prompt=prompt).order_by("-created_at", "-id").first()
    return PromptHistory.objects.create(prompt=prompt, parent=parent, snapshot=snapshot, user=user, commit_message=message)


@transaction.atomic
def record_version(*, prompt: Prompt, user, message: str) -> PromptHistory:
    """Save the prompt as it now is as a new production version (an edit made outside the API)."""
    prompt.version = _commit(prompt, user=user, snapshot=_snapshot(prompt), message=message)
    prompt.save(update_fields=["version", "updated_at"])
    return prompt.version


def _save(prompt: Prompt) -> None:
    """Save, answering a command another prompt holds with Open WebUI's 400."""
    try:
        with transaction.atomic():
            prompt.save()
    except IntegrityError:
        raise ApplicationError(400, COMMAND_TAKEN)


def _command_free(command: str, prompt: Prompt | None = None) -> None:
    taken = Prompt.objects.filter(command=command)
    if prompt is not None:
        taken = taken.exclude(pk=prompt.pk)
    if taken.exists():
        raise ApplicationError(400, COMMAND_TAKEN)


@transaction.atomic
def create(*, user, command: str, name: str, content: str, data=None, meta=None, tags=None, access_grants=None,
           commit_message=None, **_ignored) -> Prompt:
    """A new prompt and its first version (the production one). Grants the caller may not give
    are dropped, as Open WebUI does on create."""
    if not access.can_create(user, access.PROMPT):
        raise ApplicationError(401, UNAUTHORIZED)
    _command_free(command)
    prompt = Prompt(user=user, command=command, name=name, content=content, data=data or {}, meta=meta or {}, tags=tags or [])
    _save(prompt)
    grants.replace(access.PROMPT, prompt.pk, access.allowed_grants(user, access.PROMPT, grants.parse(access_grants)))
    record_version(prompt=prompt, user=user, message=commit_message or "Initial version")
    return prompt


@transaction.atomic
def update(*, user, prompt_id, command: str, name: str, content: str, data=None, meta=None, tags=None,
           commit_message=None, is_production=True, **_ignored) -> Prompt:
    """Change a prompt; a change of name, command, content or tags is saved as a new version, which
    becomes the production one unless `is_production` is false (then only the command changes now)."""
    prompt = writable(user, prompt_id, lock=True)
    if command != prompt.command:
        _command_free(command, prompt)
    changed = (prompt.name, prompt.command, prompt.content) != (name, command, content) or (tags is not None and prompt.tags != tags)
    snapshot = {"name": name, "content": content, "command": command, "data": data or {}, "meta": meta or {},
                "tags": tags if tags is not None else (prompt.tags or []), "access_grants": _grants_of(prompt)}
    prompt.command = command
    production = is_production is not False
    if production:
        prompt.name, prompt.content = name, content
        prompt.data, prompt.meta = data or prompt.data, meta or prompt.meta
        if tags is not None:
            prompt.tags = tags
    _save(prompt)
    if changed:
        entry = _commit(prompt, user=user, snapshot=snapshot, message=commit_message)
        if production:
            prompt.version = entry
            prompt.save(update_fields=["version", "updated_at"])
    return prompt


@transaction.atomic
def update_meta(*, user, prompt_id, command: str, name: str, tags=None) -> Prompt:
    """Name, command and tags only; no new version."""
    prompt = writable(user, prompt_id, lock=True)
    if command != prompt.command:
        _command_free(command, prompt)
    prompt.name, prompt.command = name, command
    if tags is not None:
        prompt.tags = tags
    _save(prompt)
    return prompt


@transaction.atomic
def set_version(*, user, prompt_id, version_id) -> Prompt:
    """Make a version of this prompt the production one: its name, content, data, meta and tags come
    back (not its command or grants). A version of another prompt is refused (400, as Open WebUI)."""
    prompt = writable(user, prompt_id, lock=True)
    pk = _uuid(version_id)
    entry = PromptHistory.objects.filter(pk=pk, prompt=prompt).first() if pk else None
    if entry is None:
        raise ApplicationError(400, DEFAULT_ERROR)
    snapshot = entry.snapshot if isinstance(entry.snapshot, dict) else {}
    prompt.name = snapshot.get("name", prompt.name)
    prompt.content = snapshot.get("content", prompt.content)
    prompt.data = snapshot.get("data", prompt.data)
    prompt.meta = snapshot.get("meta", prompt.meta)
    prompt.tags = snapshot.get("tags", prompt.tags)
    prompt.version = entry
    prompt.save()
    return prompt


@transaction.atomic
def update_access(*, user, prompt_id, access_grants) -> Prompt:
    prompt = writable(user, prompt_id)
    requested = grants.parse(access_grants)
    if access.allowed_grants(user, access.PROMPT, requested) != requested:
        raise ApplicationError(403, SHARING_DENIED)
    grants.replace(access.PROMPT, prompt.pk, requested)
    prompt.save(update_fields=["updated_at"])
    return prompt


def toggle(*, user, prompt_id) -> Prompt:
    prompt = writable(user, prompt_id)
    prompt.is_active = not prompt.is_active
    prompt.save(update_fields=["is_active", "updated_at"])
    return prompt


@transaction.atomic
def delete(*, user, prompt_id) -> None:
    """The prompt, its versions and its grants."""
    prompt = writable(user, prompt_id)
    grants.delete_all(access.PROMPT, prompt.pk)
    prompt.delete()


@transaction.atomic
def delete_version(*, user, prompt_id, history_id) -> None:
    """A version other than the production one; its children now follow its parent."""
    prompt = writable(user, prompt_id, lock=True)
    if prompt.version_id is not None and str(prompt.version_id) == str(history_id):
        raise ApplicationError(400, ACTIVE_VERSION)
    entry = history_entry(prompt, history_id)
    PromptHistory.objects.filter(parent=entry).update(parent=entry.parent_id)
    entry.delete()


def diff(prompt: Prompt, from_id, to_id) -> dict:
    """Two versions of the prompt and the unified diff of their content (Open WebUI's shape)."""
    source, target = history_entry(prompt, from_id), history_entry(prompt, to_id)
    before, after = source.snapshot or {}, target.snapshot or {}
    old, new = str(before.get("content", "")), str(after.get("content", ""))
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), fromfile=f"v{str(source.id)[:8]}",
                                      tofile=f"v{str(target.id)[:8]}", lineterm=""))
    return {"from_id": str(source.id), "to_id": str(target.id), "from_snapshot": before, "to_snapshot": after,
            "content_diff": lines, "line_endings_only": not lines and old != new,
            "name_changed": before.get("name") != after.get("name")}
