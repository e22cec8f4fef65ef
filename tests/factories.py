"""Builders for the rows tests need, written straight to the test database (which the live server
shares), so a test does not pay HTTP round trips and the server's password hashing to set itself up.
A test about a flow (sign-up, upload, sharing) goes through the HTTP API instead.

Plain functions (factory_boy is not a dependency): each takes what matters to the test as keyword
arguments and gives every other field a valid default."""

import hashlib
import uuid
from collections.abc import Iterable

from accounts import api_keys, tokens
from accounts.models import AccessGrant, ApiKey, Group, GroupMember, Role, User
from accounts.serializers import session_out
from chat.prompt_models import Prompt, PromptHistory
from files.models import Chunk, File
from knowledge.models import KnowledgeBase, KnowledgeFile
from models_registry.models import Connection, Model

PASSWORD = "Correct horse battery staple 1!"


def _unique_email(name: str) -> str:
    return f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:8]}@example.com"


# --- users, sessions, API keys -------------------------------------------------------------------


def user(*, name: str = "User", role: str = Role.USER, email: str | None = None, password: str = PASSWORD, **fields) -> User:
    """A user with a usable password (hashed by the hasher the settings name first)."""
    return User.objects.create_user(email or _unique_email(name), password, name=name, role=role, **fields)


def admin(*, name: str = "Admin", **fields) -> User:
    return user(name=name, role=Role.ADMIN, **fields)


def pending(*, name: str = "Pending", **fields) -> User:
    return user(name=name, role=Role.PENDING, **fields)


def session(account: User) -> dict:
    """What sign-up and sign-in answer (token, id, role, email, ...), with a JWT issued by the app's
    own token service, exactly as a sign-in would issue it."""
    token, expires_at = tokens.issue(account)
    return session_out(account, token, expires_at)


def api_key(account: User, **fields) -> tuple[ApiKey, str]:
    """A key for `account` and its plaintext (the app's own service makes both)."""
    return api_keys.create(user=account, **{"name": f"key-{uuid.uuid4().hex[:6]}", **fields})


def share(resource_type: str, resource_id, *, principal_id: str = "*", permission: str = "read",
          principal_type: str = "user") -> AccessGrant:
    """A grant on a model or knowledge base: to a user id, "*" for everyone, or a group id."""
    return AccessGrant.objects.create(resource_type=resource_type, resource_id=str(resource_id),
                                      principal_type=principal_type, principal_id=str(principal_id), permission=permission)


def group(*, name: str = "Team", members: Iterable = (), permissions: dict | None = None, **fields) -> Group:
    """A group holding `members` (users, or session dicts with their "id")."""
    row = Group.objects.create(name=name, permissions=permissions or {}, **fields)
    GroupMember.objects.bulk_create(GroupMember(group=row, user_id=m["id"] if isinstance(m, dict) else m.pk)
                                    for m in members)
    return row


# --- files and collections ---------------------------------------------------------------------


def file(owner: User, *, filename: str = "notes.txt", content: str = "hello world", status: str = File.Status.COMPLETED,
         chunks: Iterable[str] | None = None, content_type: str = "text/plain", **fields) -> File:
    """A file as ingestion leaves it: `chunks` (texts) become its searchable chunks (keyword search;
    no vectors), with the metadata ingestion writes. Without `chunks` it has none (e.g. a file still
    processing, or one only listed). Its bytes are not in any storage: download it from no test."""
    data = content.encode()
    text_hash = hashlib.sha256(data).hexdigest()
    record = File.objects.create(
        user=owner, filename=filename, storage_name=f"{uuid.uuid4().hex}_{filename}", content_type=content_type,
        size=len(data), file_hash=text_hash, hash=text_hash if status == File.Status.COMPLETED else None,
        status=status, content=content if status == File.Status.COMPLETED else "", **fields)
    if chunks is not None:
        base = {"name": filename, "file_id": str(record.id), "source": filename, "created_by": str(owner.id),
                "hash": text_hash, "content_type": content_type, "size": len(data)}
        start = 0
        rows = []
        for position, text in enumerate(chunks):
            rows.append(Chunk(file=record, position=position, text=text, metadata={**base, "start_index": start}))
            start += len(text)
        Chunk.objects.bulk_create(rows)
    return record


def collection(owner: User, *, name: str = "Handbook", description: str = "Policies", files: Iterable[File] = (),
               **fields) -> KnowledgeBase:
    """A knowledge base holding `files`."""
    kb = KnowledgeBase.objects.create(user=owner, name=name, description=description, **fields)
    KnowledgeFile.objects.bulk_create(KnowledgeFile(knowledge=kb, file=f) for f in files)
    return kb


# --- connections and presets -------------------------------------------------------------------


def connection(*, kind: str = Connection.Kind.OLLAMA, base_url: str = "http://127.0.0.1:9", **fields) -> Connection:
    """An upstream as an admin registers it (tests.conftest.connect: a fake upstream's)."""
    return Connection.objects.create(kind=kind, base_url=base_url, **fields)


def preset(owner: User | None, *, id: str = "support-bot", base_model_id: str | None = "llama3.1:8b",
           name: str = "Support Bot", params: dict | None = None, meta: dict | None = None, **fields) -> Model:
    """A model row: a preset over `base_model_id`, or (base None) an override of a provider model.
    Private to its owner until shared (`share("model", id)`)."""
    return Model.objects.create(id=id, base_model_id=base_model_id, name=name, user=owner, params=params or {},
                                meta=meta or {}, **fields)


# --- prompts -------------------------------------------------------------------------------------


def prompt(owner: User, *, command: str | None = None, name: str = "Summarize", content: str = "Summarize: {{CLIPBOARD}}",
           tags: list[str] | None = None, **fields) -> Prompt:
    """A prompt with its first (production) version, as creating it through the API leaves it."""
    record = Prompt.objects.create(user=owner, command=command or f"/p-{uuid.uuid4().hex[:8]}", name=name, content=content,
                                   tags=tags or [], **fields)
    record.version = PromptHistory.objects.create(prompt=record, user=owner, commit_message="Initial version", snapshot={
        "name": name, "content": content, "command": record.command, "data": {}, "meta": {}, "tags": record.tags,
        "access_grants": []})
    record.save(update_fields=["version"])
    return record
