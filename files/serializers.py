from accounts.serializers import ts
from files.models import File
from files.streaming import Text


def file_out(file: File, *, content: bool = True, path: bool = True) -> dict:
    """API.md §4.1 (`path` is the storage name relative to the storage root: DECISIONS #19). The text,
    when included, is a `Text` placeholder: send the result with `streaming.json_response`."""
    data = {"status": file.status or "pending"}
    if file.status == File.Status.FAILED:
        data["error"] = file.error
    if content and file.status == File.Status.COMPLETED:
        data["content"] = Text(file.id)
    out = {
        "id": str(file.id), "user_id": str(file.user_id), "hash": file.hash, "filename": file.filename,
        "data": data if file.status else {},
        "meta": {"name": file.filename, "content_type": file.content_type, "size": file.size,
                 "file_hash": file.file_hash, "data": file.meta, "collection_name": f"file-{file.id}"},
        "created_at": ts(file.created_at), "updated_at": ts(file.updated_at),
    }
    if path:
        out["path"] = file.storage_name
    return out
