"""Writes for files: upload, processing (run by the ingestion job), deletion."""

import hashlib
import itertools
import logging
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils.text import get_valid_filename
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.types import TimeDeltaParams
from rest_framework.exceptions import APIException, ValidationError

from accounts import caller
from config import events, runtime
from files import chunk_copy, chunking, embeddings, keyword_index, progress, vector_index
from files.extract import ExtractionError, extract
from files.models import Chunk, File

logger = logging.getLogger(__name__)
LARGE_QUEUE = "ingest_large"  # big files' lane (INGEST_LARGE_FILE_MB); workers serving `ingest` run it beside


class TooLarge(APIException):
    status_code = 413
    default_detail = "File too large"


def check_upload(*, filename: str, size: int, process: bool) -> None:
    extension = PurePosixPath(filename.lower()).suffix.lstrip(".")
    config = runtime.snapshot()
    allowed = config["ALLOWED_FILE_EXTENSIONS"]
    if process and allowed and extension not in allowed:
        raise ValidationError(f"File type {extension or '(none)'} is not allowed")
    _check_size(size, "File size")


def _check_size(size: int, what: str) -> None:
    limit = runtime.get("FILE_MAX_SIZE")
    if limit and size > limit * 1024 * 1024:
        raise TooLarge(f"{what} exceeds the limit of {limit:g} MB")


def upload(*, user, uploaded, metadata: dict | None = None, process: bool = True) -> File:
    """Store the bytes and the row; with `process`, queue ingestion in the same transaction."""
    filename = PurePosixPath(uploaded.name.replace("\\", "/")).name or "file"
    check_upload(filename=filename, size=uploaded.size, process=process)
    meta = metadata or {}
    digest = hashlib.sha256()
    for block in uploaded.chunks():
        digest.update(block)
    uploaded.seek(0)
    file = File(user=user, filename=filename[:255], content_type=uploaded.content_type or "application/octet-stream",
                size=uploaded.size, file_hash=meta.get("file_hash") or digest.hexdigest(), meta=meta,
                status=File.Status.PENDING if process else "")
    safe = get_valid_filename(filename)[-100:] or "file"
    file.storage_name = default_storage.save(f"{file.id}_{safe}", uploaded)
    try:
        with transaction.atomic():
            file.save()
            if process:
                queue(file.id, size=file.size)
    except Exception:
        default_storage.delete(file.storage_name)
        raise
    return file


def process(file_id: str) -> None:
    """Extract, chunk and store a file's text. Idempotent: a re-run replaces what an interrupted
    run left. Failures end as status `failed` with a readable error."""
    file = File.objects.filter(id=file_id).first()
    if file is None:
        return  # deleted before its turn
    caller.acting_as(file.user_id)  # its embedding calls are its owner's usage
    File.objects.filter(id=file.id).update(status=File.Status.PROCESSING, error="")
    try:
        with default_storage.open(file.storage_name, "rb") as handle:
            text = extract(file.filename, file.content_type, handle.read())
        pieces = chunking.split(text, markdown=chunking.is_markdown(file.filename, file.content_type))
        if not pieces:
            raise ExtractionError("The content provided is empty. Please ensure that there is text or data present before proceeding.")
    except (ExtractionError, OSError) as exc:
        File.objects.filter(id=file.id).update(status=File.Status.FAILED, error=str(exc))
        _emit(file, File.Status.FAILED, str(exc))
        return
    _index(file, text, pieces, announce=True)


def mark_failed(file_id: str, error: str) -> None:
    File.objects.filter(id=file_id).update(status=File.Status.FAILED, error=error[:2000])
    file = File.objects.filter(id=file_id).only("id", "user_id", "filename").first()
    if file is not None:
        _emit(file, File.Status.FAILED, error[:2000])


def _emit(file: File, status: str, error: str = "") -> None:
    """file.completed / file.failed for the owner's feed and the webhooks (never raises)."""
    events.emit(f"file.{status}", subject_id=file.id, user_id=file.user_id,
                data={"id": str(file.id), "filename": file.filename, "status": status, "error": error})


def update_content(*, file: File, content: str) -> File:
    """Replace a file's extracted text and index it again, now (API.md §4.3 content/update)."""
    _check_size(len(content.encode()), "Content")
    _index(file, content, chunking.split(content, markdown=chunking.is_markdown(file.filename, file.content_type)))
    file.refresh_from_db()
    return file


def _index(file: File, text: str, pieces: list[chunking.Piece], *, announce: bool = False) -> None:
    """Replace the file's chunks (with vectors when an engine is set) and mark it completed (with
    its file.completed event when `announce`)."""
    engine = embeddings.engine()
    text_hash = hashlib.sha256(text.encode()).hexdigest()

    unbuilt: list[int] = []  # the dimension whose vector index the load dropped

    def stored() -> None:
        File.objects.filter(id=file.id).update(status=File.Status.COMPLETED)
        if announce:
            _emit(file, File.Status.COMPLETED)

    try:
        _write(file, text, text_hash, pieces, engine, stored, unbuilt.append)
    except embeddings.EmbeddingError as exc:  # the file is searchable by keywords only, re-indexable later
        logger.warning("%s; storing chunks without vectors", exc)
        _write(file, text, text_hash, pieces, None, stored, unbuilt.append)
    if unbuilt or keyword_index.big(len(pieces)):
        queue_index_work(dimensions=unbuilt[0] if unbuilt else 0, keywords=keyword_index.big(len(pieces)))


def _write(file: File, text: str, text_hash: str, pieces: list[chunking.Piece], engine: embeddings.Engine | None,
           stored: Callable[[], None], unbuilt: Callable[[int], None]) -> None:
    """Replace the file's chunks in one transaction, each row written (one streamed COPY) as its
    vector arrives while the next ones are computed; `stored()` once they are committed. With vectors,
    their dimension's index holds them when this returns (vector_index.loading), unless the load had
    it dropped: then `unbuilt(dimensions)`, for it to be built after the file says completed (the
    file is searchable at once, exactly, as every file of that dimension is until the build ends)."""
    base = {"name": file.filename, "file_id": str(file.id), "source": file.filename, "created_by": str(file.user_id),
            "hash": text_hash, "content_type": file.content_type, "size": file.size}
    model = engine.model if engine else ""
    progress.start(file.id, len(pieces))
    reporter = progress.Reporter(file.id)

    def replace(vectors: Iterator[list[float] | None]) -> None:
        with transaction.atomic():
            if keyword_index.big(len(pieces)):
                keyword_index.defer_merge()
            Chunk.objects.filter(file=file).delete()
            chunk_copy.write(rows(vectors))
            File.objects.filter(id=file.id).update(content=text, hash=text_hash, error="")

    def rows(vectors: Iterator[list[float] | None]) -> Iterator[chunk_copy.Row]:
        for i, (piece, vector) in enumerate(zip(pieces, vectors, strict=True)):
            yield chunk_copy.row(file.id, i, piece.text, {**base, **piece.headers, "start_index": piece.start}, vector, model)
            reporter.advance()

    with closing(reporter):
        if engine is None:
            replace(iter([None] * len(pieces)))
            return stored()
        with closing(embeddings.stream(engine, [piece.text for piece in pieces])) as vectors:
            first = next(vectors, None)  # its dimension says which index the load goes to
            if first is None:
                replace(iter([]))
                return stored()
            with vector_index.loading(len(first), len(pieces), loaded=stored, build_later=unbuilt):
                replace(itertools.chain([first], vectors))


def queue(file_id, *, size: int | None = None, attempt: int = 1, delay: int = 0) -> bool:
    """Queue the file's processing unless a job for it is already waiting: one waiting job a file at
    most (Procrastinate's queueing lock, across both lanes), so repeated re-index calls never pile up.
    Big files go to their own lane (`size`, in bytes, is looked up when not given). True when queued."""
    from files.tasks import process_file

    if size is None:
        size = File.objects.filter(id=file_id).values_list("size", flat=True).first() or 0
    lane = LARGE_QUEUE if size >= settings.INGEST_LARGE_FILE_MB * 1024 * 1024 else "ingest"
    schedule_in: TimeDeltaParams | None = {"seconds": delay} if delay else None
    job = process_file.configure(queue=lane, queueing_lock=f"file:{file_id}", schedule_in=schedule_in)
    try:
        with transaction.atomic():  # a savepoint: the refused insert must not spoil the caller's transaction
            job.defer(file_id=str(file_id), **({"attempt": attempt} if attempt > 1 else {}))
    except AlreadyEnqueued:
        return False
    return True


def queue_index_work(*, dimensions: int, keywords: bool) -> None:
    """After a big load, once its file says completed: build the dimension's vector index it dropped
    (0: none) and merge the keyword index's pending entries (files.tasks.finish_indexes). A job in the
    small files' lane, so the big files' lane takes the next file at once; one waiting does the work
    of every load queued behind it."""
    from files.tasks import finish_indexes

    job = finish_indexes.configure(queueing_lock=f"indexes:{dimensions}:{int(keywords)}")
    try:
        with transaction.atomic():
            job.defer(dimensions=dimensions, keywords=keywords)
    except AlreadyEnqueued:
        pass


def requeue(file_ids) -> int:
    """Process these files again from their stored bytes (durable jobs, queued with the status change);
    a file whose job is still waiting keeps that one. Returns the number of files."""
    ids = [str(i) for i in file_ids]
    with transaction.atomic():
        File.objects.filter(id__in=ids).update(status=File.Status.PENDING, error="")
        for file_id, size in File.objects.filter(id__in=ids).values_list("id", "size"):
            queue(file_id, size=size)
    return len(ids)


def requeue_orphans(older_than: float) -> int:
    """Queue again the files waiting or processing for `older_than` seconds with no job left to do it.
    A job that fails while the database is away cannot queue its retry, and its failure is recorded
    once the database is back: the file would say `processing` for ever. Returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f.id, f.size FROM files_file f WHERE f.status IN ('pending', 'processing') "
            "AND COALESCE(f.processing_started_at, f.created_at) < now() - make_interval(secs => %s) "
            "AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.queueing_lock = 'file:' || f.id "
            "AND j.status IN ('todo', 'doing'))", [older_than])
        orphans = cursor.fetchall()
    for file_id, size in orphans:
        logger.warning("File %s had no job left to process it (lost while the database was away): queued again", file_id)
        queue(file_id, size=size)
    return len(orphans)


def reset_index(file_ids) -> int:
    """Drop these files' chunks and process them again from their stored bytes (POST /retrieval/reset/db)."""
    ids = [str(i) for i in file_ids]
    with transaction.atomic():
        Chunk.objects.filter(file_id__in=ids).delete()
        return requeue(ids)


def reindex_stale() -> int:
    """Re-embed every file whose chunks come from another model (or none) than the current engine's."""
    engine = embeddings.engine()
    return requeue(Chunk.objects.exclude(embedding_model=engine.model if engine else "")
                   .order_by().values_list("file_id", flat=True).distinct())


def rename(*, file: File, filename: str) -> File:
    """Only the name changes (storage keeps its own name): Open WebUI's /{id}/rename."""
    file.filename = filename
    file.save(update_fields=["filename", "updated_at"])
    return file


def delete(*, file: File) -> None:
    """The row, its chunks and its stored bytes. The row is locked first: a worker writing the file's
    chunks holds a key-share lock on it until it commits, so the chunks it wrote are deleted too
    instead of failing the delete on their foreign key."""
    name = file.storage_name
    with transaction.atomic():
        locked = File.objects.select_for_update().filter(id=file.id).only("id").first()
        if locked is not None:
            locked.delete()
    transaction.on_commit(lambda: default_storage.delete(name))
