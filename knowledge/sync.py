"""POST /knowledge/{id}/sync/diff and /sync/cleanup: Open WebUI's folder sync. A client sends the
manifest of a local folder; the answer says what to upload, replace, delete, and which directories
to make or remove; after uploading, the client asks for the clean-up."""

import time

from config.common.values import as_uuid
from files import services as file_services
from files.selectors import listed
from knowledge import directories, services
from knowledge.models import KnowledgeDirectory, KnowledgeFile
from knowledge.selectors import pending_files

RECENT_PENDING = 3600  # pending uploads older than this are uploaded again


def diff(*, user, knowledge_id, manifest: list[dict]) -> dict:
    kb = services.writable(user, knowledge_id)
    every = {d.id: d for d in KnowledgeDirectory.objects.filter(knowledge=kb)}
    path_by_id = {i: directories.path_of(every, i) for i in every}
    id_by_path = {path: str(i) for i, path in path_by_id.items()}
    now = time.time()
    pending = {(path_by_id.get(as_uuid(f.meta.get("directory_id")), ""), f.filename, f.file_hash)
               for f in pending_files(user, kb) if f.created_at.timestamp() >= now - RECENT_PENDING}
    indexed = {}
    for m in KnowledgeFile.objects.filter(knowledge=kb).select_related("file").only(
            "file__id", "file__filename", "file__file_hash", "directory_id"):
        indexed[(path_by_id.get(m.directory_id, ""), m.file.filename)] = (str(m.file.id), m.file.file_hash)
    added, modified, unmodified, seen = [], [], 0, set()
    for entry in manifest:
        key = (entry["path"], entry["filename"])
        seen.add(key)
        if key not in indexed and (*key, entry["checksum"]) in pending:
            unmodified += 1
        elif key not in indexed:
            added.append({"filename": entry["filename"], "path": entry["path"]})
        elif indexed[key][1] != entry["checksum"]:
            modified.append({"filename": entry["filename"], "path": entry["path"], "stale_file_id": indexed[key][0]})
        else:
            unmodified += 1
    deleted = [{"file_id": file_id, "filename": key[1]} for key, (file_id, _) in indexed.items() if key not in seen]
    required = {"/".join(e["path"].split("/")[:depth + 1]) for e in manifest if e["path"]
                for depth in range(len(e["path"].split("/")))}
    return {"added": added, "modified": modified, "deleted": deleted,
            "mkdir": sorted((p for p in required if p not in id_by_path), key=lambda p: p.count("/")),
            "rmdir": [id_by_path[p] for p in set(id_by_path) - required], "unmodified_count": unmodified,
            "directory_map": id_by_path}


def cleanup(*, user, knowledge_id, file_ids: list[str], directory_ids: list[str]) -> None:
    """Take these files out of the collection (deleting those the caller may delete that no other
    collection holds), then remove these directories of the collection with what they hold."""
    kb = services.writable(user, knowledge_id)
    for file_id in file_ids:
        if KnowledgeFile.objects.filter(knowledge=kb, file_id=as_uuid(file_id)).exists():
            services.remove_file(user=user, knowledge_id=kb.id, file_id=file_id, delete_file=False)
            orphan = listed(user).filter(id=as_uuid(file_id), memberships__isnull=True).first()
            if orphan is not None:
                file_services.delete(file=orphan)
    for directory_id in reversed(directory_ids):
        if KnowledgeDirectory.objects.filter(knowledge=kb, id=as_uuid(directory_id)).exists():
            directories.delete(user=user, knowledge_id=kb.id, directory_id=directory_id, move_files=False)
