"""Writes of chat folders (/api/v1/folders/*). Folders are their owner's alone (accounts.access
FOLDER): any other folder, an admin's look included, is not found."""

from django.db import transaction
from django.utils import timezone

from accounts import access
from chat import history_selectors as selectors
from chat import history_services
from chat.models import Folder
from config.common.errors import ApplicationError

EXISTS = "Folder already exists"


def create(*, user, name: str, data=None, meta=None, parent_id=None) -> Folder:
    parent = selectors.folder(user, parent_id).id if parent_id else None
    if selectors.name_taken(user, parent_id=parent, name=name):
        raise ApplicationError(400, EXISTS)
    now = timezone.now()
    return Folder.objects.create(user_id=user.pk, parent_id=parent, name=name.strip(), data=data, meta=meta,
                                 created_at=now, updated_at=now)


def update(*, user, folder_id, changes: dict) -> Folder:
    """POST /folders/{id}/update: name, data and meta (data and meta are merged, as Open WebUI)."""
    folder = selectors.folder(user, folder_id)
    name = changes.get("name")
    if name is not None:
        if selectors.name_taken(user, parent_id=folder.parent_id, name=name, exclude=folder.id):
            raise ApplicationError(400, EXISTS)
        folder.name = name.strip()
    for field in ("data", "meta"):
        if changes.get(field) is not None:
            setattr(folder, field, {**(getattr(folder, field) or {}), **changes[field]})
    folder.updated_at = timezone.now()
    folder.save()
    return folder


def move(*, user, folder_id, parent_id) -> Folder:
    folder = selectors.folder(user, folder_id)
    parent = selectors.folder(user, parent_id).id if parent_id else None
    if selectors.name_taken(user, parent_id=parent, name=folder.name, exclude=folder.id):
        raise ApplicationError(400, EXISTS)
    if parent is not None and parent in selectors.subtree_ids(user, folder):
        raise ApplicationError(400, "Cannot move a folder into itself or one of its subfolders")
    folder.parent_id, folder.updated_at = parent, timezone.now()
    folder.save(update_fields=["parent", "updated_at"])
    return folder


def set_expanded(*, user, folder_id, is_expanded: bool) -> Folder:
    folder = selectors.folder(user, folder_id)
    folder.is_expanded, folder.updated_at = is_expanded, timezone.now()
    folder.save(update_fields=["is_expanded", "updated_at"])
    return folder


def update_access(*, user, folder_id, access_grants) -> Folder:
    """Folders are not shared here: only an empty audience is accepted (it changes nothing)."""
    folder = selectors.folder(user, folder_id)
    if access_grants:
        raise ApplicationError(403, "You do not have permission to share with the requested audience")
    return folder


@transaction.atomic
def delete(*, user, folder_id, delete_contents: bool) -> bool:
    """The folder and its subfolders; their chats too (`delete_contents`, needs chat.delete when there
    are any), else the chats move to the top level."""
    folder = selectors.folder(user, folder_id)
    ids = selectors.subtree_ids(user, folder)
    if delete_contents and selectors.folder_has_chats(user, ids):
        if not access.has_permission(user, "chat.delete"):
            raise ApplicationError(403, history_services.PROHIBITED)
        history_services.delete_chats_in(user=user, folder_ids=ids)
    Folder.objects.filter(id__in=ids).delete()  # the rest of the chats leave (on_delete=SET_NULL)
    return True
