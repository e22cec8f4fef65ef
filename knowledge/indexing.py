"""Open WebUI's `/retrieval/process/*`, `/delete` and `/reset/*` over our model: a file is indexed
once, by the same ingestion the upload queues (files.services), and a collection is a set of
memberships (DECISIONS #8). A `collection_name` that names a knowledge base adds the file to it;
`file-<id>` is the file's own index."""

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts import access
from config.common.errors import ApplicationError
from config.common.values import as_uuid
from files import services as file_services
from files.models import File
from files.selectors import files_for, listed
from knowledge import selectors, services
from knowledge.models import KnowledgeFile


def _file(user, file_id) -> File:
    file = listed(user).filter(id=as_uuid(file_id)).first()
    if file is None:
        raise ApplicationError(404, services.NOT_FOUND)
    return file


def target(user, collection_name: str | None, file: File | None = None):
    """The knowledge base a `collection_name` names, checked writable; None for none or the file's own."""
    if not collection_name or (file is not None and collection_name == f"file-{file.id}"):
        return None
    if as_uuid(collection_name) is None:
        raise ApplicationError(400, "collection_name must be a knowledge base id (or the file's own file-<id>).")
    return services.writable(user, collection_name)


def index(file: File, content: str | None = None) -> File:
    """The file indexed now: `content` replaces its text; else it is processed from its stored bytes
    unless already completed. A failure is a 400 with the file's error."""
    if content is not None:
        return file_services.update_content(file=file, content=content)
    if file.status != File.Status.COMPLETED:
        file_services.process(file.id)
        file = File.objects.defer("content").get(id=file.id)
        if file.status == File.Status.FAILED:
            raise ApplicationError(400, file.error)
    return file


def process_file(*, user, file_id, content: str | None = None, collection_name: str | None = None) -> File:
    file = _file(user, file_id)
    kb = target(user, collection_name, file)
    file = index(file, content)
    if kb is not None:
        services.add_files(user=user, knowledge_id=kb.id, file_ids=[str(file.id)])
    return file


def process_text(*, user, name: str, content: str, collection_name: str | None = None) -> File:
    """The text becomes a file of the user's (`<name>`, text/plain), indexed now."""
    kb = target(user, collection_name)
    uploaded = SimpleUploadedFile(name, content.encode(), content_type="text/plain")
    file = file_services.update_content(file=file_services.upload(user=user, uploaded=uploaded, process=False),
                                        content=content)
    if kb is not None:
        services.add_files(user=user, knowledge_id=kb.id, file_ids=[str(file.id)])
    return file


def process_batch(*, user, items: list[dict], collection_name: str) -> tuple[list[dict], list[dict]]:
    """Index each file (with the `data.content` sent, when sent), then add those that worked to the
    collection. Returns Open WebUI's (results, errors)."""
    kb = target(user, collection_name)
    results, errors, done = [], [], []
    for item in items:
        try:
            file = index(_file(user, item["id"]), (item.get("data") or {}).get("content"))
        except ApplicationError as exc:
            errors.append({"file_id": item["id"], "status": "failed", "error": exc.detail})
            continue
        done.append(str(file.id))
        results.append({"file_id": str(file.id), "status": "completed", "error": None})
    if kb is not None and done:
        _, warnings = services.add_files(user=user, knowledge_id=kb.id, file_ids=done)
        errors += [{"file_id": "", "status": "skipped", "error": w} for w in warnings]
    return results, errors


def remove(*, user, collection_name: str, file_id) -> bool:
    """POST /retrieval/delete (admin): the file leaves the collection (the file stays). False when the
    name is no collection of the caller's or the file not in it."""
    file = _file(user, file_id)
    kb = selectors.readable(user).filter(id=as_uuid(collection_name)).first()
    if kb is None or not access.can_write(user, access.KNOWLEDGE, kb):
        return False
    deleted, _ = KnowledgeFile.objects.filter(knowledge=kb, file=file).delete()
    return bool(deleted)


def reset_index(*, user) -> None:
    """POST /retrieval/reset/db (admin). Open WebUI empties its vector store and deletes every
    collection; scoped as DECISIONS #10: the collections the caller may change go, and the files it
    may see are indexed again from their stored bytes (chunks belong to files: emptied alone, they
    would leave files that say completed and find nothing)."""
    collections = list(selectors.readable(user))
    for kb_id in access.permitted_ids(user, access.KNOWLEDGE, access.WRITE, collections):
        services.delete(user=user, knowledge_id=kb_id)
    file_services.reset_index(files_for(user).exclude(status="").values_list("id", flat=True))


def reset_uploads(*, user) -> int:
    """POST /retrieval/reset/uploads (admin): every file the caller may delete, with its bytes and
    chunks, as DELETE /files/all (DECISIONS #10). Collections stay, minus those files."""
    files = list(files_for(user).only("id", "storage_name"))
    for file in files:
        file_services.delete(file=file)
    return len(files)
