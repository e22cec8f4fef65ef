"""Directories inside a collection (Open WebUI's `/knowledge/{id}/dirs/*` and `file/move`): folders
that organise a collection's files. They change nothing about search; a file is in at most one
directory of a collection (its membership's `directory`), or at the collection's root."""

from django.db import IntegrityError, transaction

from config.common.errors import ApplicationError
from config.common.values import as_uuid
from files import services as file_services
from files.selectors import listed
from knowledge import services
from knowledge.models import KnowledgeDirectory, KnowledgeFile

NAME_TAKEN = "Failed to create directory. A directory with this name may already exist at this level."


def find(kb, directory_id, *, detail: str = services.NOT_FOUND) -> KnowledgeDirectory | None:
    """The collection's directory named by a client (None, "" or absent: the root); 404 `detail`
    when it is not one of this collection's."""
    if not directory_id:
        return None
    directory = KnowledgeDirectory.objects.filter(id=as_uuid(directory_id), knowledge=kb).first()
    if directory is None:
        raise ApplicationError(404, detail)
    return directory


def path_of(directories: dict, directory_id) -> str:
    """`a/b/c` for a directory, from all the collection's directories by id (a broken chain stops)."""
    names, seen = [], set()
    while directory_id in directories and directory_id not in seen:
        seen.add(directory_id)
        names.append(directories[directory_id].name)
        directory_id = directories[directory_id].parent_id
    return "/".join(reversed(names))


def breadcrumbs(kb, directory: KnowledgeDirectory | None) -> list[KnowledgeDirectory]:
    """The directory and its parents, root first (one query for the collection's directories)."""
    if directory is None:
        return []
    directories = {d.id: d for d in KnowledgeDirectory.objects.filter(knowledge=kb)}
    chain, seen, current = [], set(), directory.id
    while current in directories and current not in seen:
        seen.add(current)
        chain.append(directories[current])
        current = directories[current].parent_id
    return chain[::-1]


def create(*, user, knowledge_id, name: str, parent_id) -> KnowledgeDirectory:
    kb = services.writable(user, knowledge_id)
    parent = find(kb, parent_id, detail="Parent directory not found.")
    try:
        with transaction.atomic():
            return KnowledgeDirectory.objects.create(knowledge=kb, parent=parent, name=name, user=user)
    except IntegrityError:
        raise ApplicationError(400, NAME_TAKEN)


UNSET = object()  # `parent_id` not sent: the directory stays where it is


def update(*, user, knowledge_id, directory_id, name: str | None, parent_id=UNSET) -> KnowledgeDirectory:
    """Rename and/or move (`parent_id` None: to the root). A move below itself is refused."""
    kb = services.writable(user, knowledge_id)
    directory = find(kb, directory_id)
    if parent_id is not UNSET:
        parent = find(kb, parent_id, detail="Parent directory not found.")
        ancestors = {d.id for d in breadcrumbs(kb, parent)}
        if directory.id in ancestors:
            raise ApplicationError(400, "Failed to update directory. This may be caused by a naming conflict or circular move.")
        directory.parent = parent
    if name is not None:
        directory.name = name
    try:
        with transaction.atomic():
            directory.save()
    except IntegrityError:
        raise ApplicationError(400, "Failed to update directory. This may be caused by a naming conflict or circular move.")
    return directory


def _subtree(kb, directory: KnowledgeDirectory) -> list:
    """The ids of a directory and all below it (one query for the collection's directories)."""
    children: dict = {}
    for d in KnowledgeDirectory.objects.filter(knowledge=kb).values("id", "parent_id"):
        children.setdefault(d["parent_id"], []).append(d["id"])
    ids = [directory.id]
    for current in ids:
        ids.extend(children.get(current, []))
    return ids


@transaction.atomic
def delete(*, user, knowledge_id, directory_id, move_files: bool) -> list[str]:
    """Delete a directory and those below it. Their files go up to its parent (`move_files`), or
    leave the collection, and are deleted when the caller owns them and no other collection holds
    them (as Open WebUI without file retention; "own" as the access policy says). Returns the ids of the files that left."""
    kb = services.writable(user, knowledge_id)
    directory = find(kb, directory_id)
    memberships = KnowledgeFile.objects.filter(knowledge=kb, directory_id__in=_subtree(kb, directory))
    removed: list[str] = []
    if move_files:
        memberships.update(directory=directory.parent)
    else:
        removed = [str(i) for i in memberships.values_list("file_id", flat=True)]
        memberships.delete()
        orphans = listed(user).filter(id__in=removed, memberships__isnull=True).only("id", "storage_name")
        for file in orphans:
            file_services.delete(file=file)
    directory.delete()
    kb.save(update_fields=["updated_at"])
    return removed


def move_file(*, user, knowledge_id, file_id, directory_id) -> None:
    kb = services.writable(user, knowledge_id)
    membership = KnowledgeFile.objects.filter(knowledge=kb, file_id=as_uuid(file_id)).first()
    if membership is None:
        raise ApplicationError(404, services.NOT_FOUND)
    membership.directory = find(kb, directory_id, detail="Target directory not found.")
    membership.save(update_fields=["directory"])
