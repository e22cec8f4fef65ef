"""Writes for knowledge collections (API.md §5): access per DECISIONS #11 (404 when the caller
cannot read, 403 when it can read but not write)."""

from django.db import transaction
from rest_framework.exceptions import APIException, ValidationError

from accounts import access, grants
from config.common.errors import ApplicationError
from config.common.values import as_uuid
from files import embeddings
from files import services as file_services
from files.models import File
from files.selectors import listed
from knowledge import selectors
from knowledge.models import KnowledgeBase, KnowledgeDirectory, KnowledgeFile
from models_registry import registry
from models_registry.models import Model

NOT_FOUND = "We could not find what you're looking for :/"


class Conflict(APIException):
    status_code = 400


def readable(user, knowledge_id) -> KnowledgeBase:
    kb = selectors.readable(user).filter(id=knowledge_id).first()
    if kb is None:
        raise ApplicationError(404, NOT_FOUND)
    return kb


def writable(user, knowledge_id) -> KnowledgeBase:
    kb = readable(user, knowledge_id)
    if not access.can_write(user, access.KNOWLEDGE, kb):
        raise ApplicationError(403, "You do not have write access to this knowledge base.")
    return kb


@transaction.atomic
def create(*, user, name, description, access_grants=None) -> KnowledgeBase:
    if not access.can_create(user, access.KNOWLEDGE):
        raise ApplicationError(401, "401 Unauthorized")
    kb = KnowledgeBase.objects.create(user=user, name=name.strip(), description=description)
    grants.replace(access.KNOWLEDGE, kb.id, access.allowed_grants(user, access.KNOWLEDGE, grants.parse(access_grants)))
    return kb


def update(*, user, knowledge_id, name, description) -> KnowledgeBase:
    kb = writable(user, knowledge_id)
    kb.name, kb.description = name.strip(), description
    kb.save()
    return kb


@transaction.atomic
def update_access(*, user, knowledge_id, access_grants) -> KnowledgeBase:
    kb = writable(user, knowledge_id)
    requested = grants.parse(access_grants)
    if access.allowed_grants(user, access.KNOWLEDGE, requested) != requested:
        raise ApplicationError(403, "You do not have permission to share with the requested audience")
    grants.replace(access.KNOWLEDGE, kb.id, requested)
    kb.save(update_fields=["updated_at"])
    return kb


def add_files(*, user, knowledge_id, file_ids: list[str], directories: dict | None = None) -> tuple[KnowledgeBase, list[str]]:
    """Link files (even while they are still processing: DECISIONS #7), each into its directory of
    `directories` (file id -> a KnowledgeDirectory of this collection; else the root). Files already
    linked are skipped; a file whose text duplicates another file of the collection is skipped with a warning."""
    kb = writable(user, knowledge_id)
    directories = directories or {}
    canonical = {i: as_uuid(i) or "" for i in file_ids}
    found = {str(f.id): f for f in listed(user).filter(id__in=[u for u in canonical.values() if u])}
    missing = [i for i in file_ids if canonical[i] not in found]
    if missing:
        raise ValidationError(f"File not found: {missing[0]}")
    files = {i: found[canonical[i]] for i in file_ids}
    linked = set(KnowledgeFile.objects.filter(knowledge=kb).values_list("file_id", flat=True))
    hashes = {h: n for h, n in kb.files.exclude(hash=None).values_list("hash", "filename")}
    warnings, new = [], []
    for file_id in file_ids:
        file = files[file_id]
        if file.id in linked:
            continue
        if file.hash and file.hash in hashes:
            warnings.append(f"Duplicate content: {file.filename} has the same text as {hashes[file.hash]}; skipped.")
            continue
        new.append(KnowledgeFile(knowledge=kb, file=file, directory=directories.get(file_id)))
        linked.add(file.id)
        if file.hash:
            hashes[file.hash] = file.filename
    KnowledgeFile.objects.bulk_create(new, ignore_conflicts=True)
    kb.save(update_fields=["updated_at"])
    return kb, warnings


@transaction.atomic
def remove_file(*, user, knowledge_id, file_id, delete_file: bool) -> KnowledgeBase:
    kb = writable(user, knowledge_id)
    canonical = as_uuid(file_id)
    deleted, _ = KnowledgeFile.objects.filter(knowledge=kb, file_id=canonical).delete()
    if not deleted:
        raise ValidationError(f"File not found in this knowledge base: {file_id}")
    own = listed(user).filter(id=canonical).first()
    if delete_file and own is not None:
        file_services.delete(file=own)
    kb.save(update_fields=["updated_at"])
    return kb


@transaction.atomic
def reset(*, user, knowledge_id, include_directories: bool = True) -> KnowledgeBase:
    kb = writable(user, knowledge_id)
    ids = list(KnowledgeFile.objects.filter(knowledge=kb).values_list("file_id", flat=True))
    KnowledgeFile.objects.filter(knowledge=kb).delete()
    if include_directories:
        KnowledgeDirectory.objects.filter(knowledge=kb).delete()
    for file in listed(user).filter(id__in=ids).only("id", "storage_name"):
        file_services.delete(file=file)
    kb.save(update_fields=["updated_at"])
    return kb


def update_file(*, user, knowledge_id, file_id) -> KnowledgeBase:
    """Bring a member file's chunks up to date (API.md §5 file/update). A file is indexed once for
    every collection it is in (DECISIONS #8), so only chunks embedded with another model than the
    current one need the work: they are embedded again from the file's current text."""
    kb = writable(user, knowledge_id)
    membership = KnowledgeFile.objects.filter(knowledge=kb, file_id=as_uuid(file_id)).select_related("file").first()
    if membership is None:
        raise ValidationError(f"File not found in this knowledge base: {file_id}")
    file = membership.file
    engine = embeddings.engine()
    if file.status == File.Status.COMPLETED and file.content and file.chunks.exclude(
            embedding_model=engine.model if engine else "").exists():
        file_services.update_content(file=file, content=file.content)
    kb.save(update_fields=["updated_at"])
    return kb


@transaction.atomic
def delete(*, user, knowledge_id) -> None:
    """The collection goes; its files stay, and presets no longer name it (API.md §5)."""
    kb = writable(user, knowledge_id)
    grants.delete_all(access.KNOWLEDGE, kb.id)
    for preset in Model.objects.filter(meta__knowledge__contains=[{"id": str(kb.id)}]):
        preset.meta["knowledge"] = [k for k in preset.meta["knowledge"] if not (isinstance(k, dict) and k.get("id") == str(kb.id))]
        preset.save(update_fields=["meta", "updated_at"])
    kb.delete()
    transaction.on_commit(registry.forget)


def files_of(kb: KnowledgeBase):
    """The collection's files, without their text (no collection view returns it)."""
    return File.objects.filter(memberships__knowledge=kb).defer("content").order_by("-updated_at")
