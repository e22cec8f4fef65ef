"""/api/v1/folders/* (Open WebUI 0.12.4's routers/folders.py). Folders are owner-only here: the
sharing routes answer as for a folder nobody shares (no shared folders, an empty audience only)."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.response import Response

from chat import folder_services as services
from chat import history_selectors as selectors
from chat import history_services
from chat.history_serializers import AccessIn as FolderAccessIn
from chat.history_serializers import (
    ExpandedIn,
    FolderIn,
    FolderUpdateIn,
    ParentIn,
    folder_list_out,
    folder_out,
    title_out,
)
from config.common.exceptions import validated
from config.common.pagination import page_slice


@extend_schema(request=FolderIn)
@api_view(["GET", "POST"])
def folders(request):
    if request.method == "POST":
        data = validated(FolderIn, request.data)
        return Response(folder_out(services.create(user=request.user, **data)))
    unread = selectors.unread_counts(request.user)
    return Response([folder_list_out(f, unread.get(str(f.id), 0)) for f in selectors.folders(request.user)])


@api_view(["GET"])
def shared(request):
    """Folders shared with the caller: none, folders are not shared here."""
    return Response([])


@api_view(["GET", "DELETE"])
def folder(request, folder_id):
    if request.method == "DELETE":
        delete_contents = request.query_params.get("delete_contents", "true").lower() in {"1", "true", "yes"}
        return Response(services.delete(user=request.user, folder_id=folder_id, delete_contents=delete_contents))
    return Response(folder_out(selectors.folder(request.user, folder_id)) | {"access_grants": [], "write_access": True})


@extend_schema(request=FolderUpdateIn)
@api_view(["POST"])
def update(request, folder_id):
    data = validated(FolderUpdateIn, request.data)
    return Response(folder_out(services.update(user=request.user, folder_id=folder_id, changes=data)))


@extend_schema(request=ParentIn)
@api_view(["POST"])
def update_parent(request, folder_id):
    data = validated(ParentIn, request.data)
    return Response(folder_out(services.move(user=request.user, folder_id=folder_id, parent_id=data.get("parent_id"))))


@extend_schema(request=ExpandedIn)
@api_view(["POST"])
def update_expanded(request, folder_id):
    data = validated(ExpandedIn, request.data)
    return Response(folder_out(services.set_expanded(user=request.user, folder_id=folder_id,
                                                     is_expanded=data["is_expanded"])))


@extend_schema(request=FolderAccessIn)
@api_view(["POST"])
def update_access(request, folder_id):
    data = validated(FolderAccessIn, request.data)
    found = services.update_access(user=request.user, folder_id=folder_id, access_grants=data["access_grants"])
    return Response(folder_out(found) | {"access_grants": []})


@api_view(["GET"])
def shared_chats(request, folder_id):
    """The folder's chats in Open WebUI's shared-folder shape; the caller is always its owner."""
    found = selectors.folder(request.user, folder_id)
    qs = selectors.ordered(selectors.titles(selectors.owned(request.user).filter(folder=found)),
                           request.query_params.get("sort_by"), request.query_params.get("sort_dir"))
    paged = "page" in request.query_params
    chats = list(qs[page_slice(request, per_page=10)] if paged else qs[:60])
    owner = {"id": str(request.user.pk), "name": request.user.name}
    items = [title_out(c) | {"user_id": owner["id"], "owner_name": owner["name"], "participants": [owner],
                             "readonly": False} for c in chats]
    response = {"chats": items, "folder_permission": "write"}
    if paged:
        total = qs.count()
        start = page_slice(request, per_page=10).start
        response |= {"total": total, "has_more": start + 10 < total}
    return Response(response)


@api_view(["POST"])
def mark_read(request, folder_id):
    found = selectors.folder(request.user, folder_id)
    ids = selectors.subtree_ids(request.user, found)
    count = history_services.mark_all_read(user=request.user, folder_ids=ids)
    return Response({"folder_id": str(found.id), "folder_ids": [str(i) for i in ids], "updated_count": count,
                     "folder_unread_counts": selectors.unread_counts(request.user)})
