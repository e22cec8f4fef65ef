"""/api/v1/knowledge/* (API.md §5.3; statuses per DECISIONS #11)."""

import asyncio
import json

from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import access
from accounts.permissions import IsAdmin
from config.common.db import db_call, hand_back
from config.common.exceptions import validated
from config.common.pagination import page_slice
from files import services as file_services
from files.serializers import file_out
from knowledge import directories, export, selectors, services, sync
from knowledge.models import KnowledgeBase, KnowledgeDirectory, KnowledgeFile
from knowledge.serializers import (
    AccessIn,
    CleanupIn,
    DirectoryIn,
    DirectoryUpdateIn,
    FileIdIn,
    KnowledgeIn,
    ManifestIn,
    directory_out,
    found_files_out,
    list_items,
    member_file_out,
    with_files,
)

ADMIN_ACTIONS = {"reindex_all", "reindex_metadata", "export_zip"}


def _flag(request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes"}


def _listing(request, qs) -> Response:
    page = list(qs[page_slice(request, per_page=30)])
    writable = access.permitted_ids(request.user, access.KNOWLEDGE, access.WRITE, page)
    return Response({"items": list_items(page, writable), "total": qs.count()})


def _files_response(user, kb, warnings=None) -> Response:
    data = with_files(kb, services.files_of(kb), write_access=access.can_write(user, access.KNOWLEDGE, kb))
    if warnings:
        data["warnings"] = warnings
    return Response(data)


class KnowledgeViewSet(viewsets.ViewSet):
    """One collection resource; Open WebUI's verb-style paths are its actions."""

    lookup_field = "kb_id"

    def get_permissions(self):
        return [IsAdmin()] if self.action in ADMIN_ACTIONS else super().get_permissions()

    def list(self, request):
        return _listing(request, selectors.readable(request.user))

    @action(detail=False, methods=["get"])
    def search(self, request):
        params = request.query_params
        return _listing(request, selectors.search(request.user, query=params.get("query", ""),
                                                  view_option=params.get("view_option", ""),
                                                  source=params.get("source", ""),
                                                  order_by=params.get("order_by"), direction=params.get("direction")))

    @action(detail=False, methods=["get"], url_path="search/files")
    def search_files(self, request):
        found = selectors.member_files(request.user, query=request.query_params.get("query", ""),
                                       include_content=_flag(request, "include_content", False))
        page = list(found[page_slice(request, per_page=30)])
        return Response({"items": found_files_out(page), "directories": [], "breadcrumbs": [], "total": found.count()})

    @action(detail=False, methods=["post"], url_path="reindex")
    def reindex_all(self, request):
        """Every collection's files are processed again from their stored bytes (admin)."""
        file_services.requeue(KnowledgeFile.objects.order_by().values_list("file_id", flat=True).distinct())
        return Response(True)

    @action(detail=False, methods=["post"], url_path="metadata/reindex")
    def reindex_metadata(self, request):
        """Open WebUI embeds collections' names for its semantic collection search; ours searches their
        text (`/search`), so there is nothing to embed: every collection counts as done."""
        total = KnowledgeBase.objects.count()
        return Response({"total": total, "success": total})

    @extend_schema(request=KnowledgeIn)
    @action(detail=False, methods=["post"], url_path="create")
    def create_collection(self, request):
        data = validated(KnowledgeIn, request.data)
        kb = services.create(user=request.user, **data)
        return Response(with_files(kb, None, write_access=True))

    def retrieve(self, request, kb_id):
        kb = services.readable(request.user, kb_id)
        return Response(with_files(kb, None, write_access=access.can_write(request.user, access.KNOWLEDGE, kb)))

    @action(detail=True, methods=["get"])
    def files(self, request, kb_id):
        kb = services.readable(request.user, kb_id)
        params = request.query_params
        directory_id = params.get("directory_id")  # absent: every file; "": the root; else that directory's
        directory = directories.find(kb, directory_id)
        memberships = selectors.collection_files(
            kb, query=params.get("query", ""), include_content=_flag(request, "include_content", False),
            directory=directory, at_root=directory_id == "", order_by=params.get("order_by"),
            direction=params.get("direction"))
        page = list(memberships[page_slice(request, per_page=30)])
        every = {d.id: d for d in KnowledgeDirectory.objects.filter(knowledge=kb)}
        paths = {i: directories.path_of(every, i) for i in {m.directory_id for m in page} if i}
        level = [d for d in every.values() if d.parent_id == (directory.id if directory else None)]
        return Response({"items": [member_file_out(m, paths) for m in page],
                         "directories": [directory_out(d) for d in sorted(level, key=lambda d: d.name)],
                         "breadcrumbs": [directory_out(d) for d in directories.breadcrumbs(kb, directory)],
                         "total": memberships.count()})

    @action(detail=True, methods=["get"], url_path="files/pending")
    def files_pending(self, request, kb_id):
        kb = services.readable(request.user, kb_id)
        if _flag(request, "stream", False):
            hand_back()  # the events poll with their own connections, for up to an hour
            response = StreamingHttpResponse(_pending_events(request.user, kb), content_type="text/event-stream")
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"
            return response
        return Response(_pending(request.user, kb))

    @action(detail=True, methods=["get"], url_path="export")
    def export_zip(self, request, kb_id):
        kb = services.readable(request.user, kb_id)
        archive = export.zip_of(kb)
        return FileResponse(archive, as_attachment=True, filename=export.zip_name(kb), content_type="application/zip")

    @extend_schema(request=DirectoryIn, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"], url_path="dirs/create")
    def dirs_create(self, request, kb_id):
        data = validated(DirectoryIn, request.data, status=400)
        directory = directories.create(user=request.user, knowledge_id=kb_id, name=data["name"],
                                       parent_id=data.get("parent_id"))
        return Response(directory_out(directory))

    @extend_schema(request=DirectoryUpdateIn, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"], url_path="dirs/<id:dir_id>/update")
    def dirs_update(self, request, kb_id, dir_id):
        data = validated(DirectoryUpdateIn, request.data, status=400)
        directory = directories.update(user=request.user, knowledge_id=kb_id, directory_id=str(dir_id),
                                       name=data.get("name"), parent_id=data.get("parent_id", directories.UNSET))
        return Response(directory_out(directory))

    @action(detail=True, methods=["delete"], url_path="dirs/<id:dir_id>/delete")
    def dirs_delete(self, request, kb_id, dir_id):
        removed = directories.delete(user=request.user, knowledge_id=kb_id, directory_id=str(dir_id),
                                     move_files=_flag(request, "move_files", True))
        return Response({"status": True, "file_ids": removed})

    @extend_schema(request=FileIdIn, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"], url_path="file/move")
    def file_move(self, request, kb_id):
        data = validated(FileIdIn, request.data, status=400)
        directories.move_file(user=request.user, knowledge_id=kb_id, file_id=data["file_id"],
                              directory_id=data.get("directory_id"))
        return Response({"status": True})

    @extend_schema(request=ManifestIn, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"], url_path="sync/diff")
    def sync_diff(self, request, kb_id):
        manifest = validated(ManifestIn, request.data, status=400)["manifest"]
        return Response(sync.diff(user=request.user, knowledge_id=kb_id, manifest=manifest))

    @extend_schema(request=CleanupIn, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"], url_path="sync/cleanup")
    def sync_cleanup(self, request, kb_id):
        data = validated(CleanupIn, request.data, status=400)
        sync.cleanup(user=request.user, knowledge_id=kb_id, file_ids=data["file_ids"], directory_ids=data["dir_ids"])
        return Response({"status": True})

    @extend_schema(request=KnowledgeIn)
    @action(detail=True, methods=["post"], url_path="update")
    def update_details(self, request, kb_id):
        data = validated(KnowledgeIn, request.data)
        kb = services.update(user=request.user, knowledge_id=kb_id, name=data["name"], description=data["description"])
        return _files_response(request.user, kb)

    @extend_schema(request=AccessIn)
    @action(detail=True, methods=["post"], url_path="access/update")
    def access_update(self, request, kb_id):
        data = validated(AccessIn, request.data)
        kb = services.update_access(user=request.user, knowledge_id=kb_id, access_grants=data.get("access_grants"))
        return _files_response(request.user, kb)

    @extend_schema(request=FileIdIn)
    @action(detail=True, methods=["post"], url_path="file/add")
    def file_add(self, request, kb_id):
        return self._add(request, kb_id, [validated(FileIdIn, request.data)])

    @extend_schema(request=FileIdIn(many=True))
    @action(detail=True, methods=["post"], url_path="files/batch/add")
    def files_batch_add(self, request, kb_id):
        items = validated(FileIdIn, request.data, many=True, status=400,
                          message='The body must be a list of {"file_id": ...} objects.')
        return self._add(request, kb_id, items)

    def _add(self, request, kb_id, items) -> Response:
        kb = services.writable(request.user, kb_id)
        wanted = {i["directory_id"] for i in items if i.get("directory_id")}
        found = {d: directories.find(kb, d, detail="Target directory not found.") for d in wanted}
        placed = {i["file_id"]: found[i["directory_id"]] for i in items if i.get("directory_id")}
        kb, warnings = services.add_files(user=request.user, knowledge_id=kb_id, file_ids=[i["file_id"] for i in items],
                                          directories=placed)
        return _files_response(request.user, kb, warnings)

    @extend_schema(request=FileIdIn)
    @action(detail=True, methods=["post"], url_path="file/remove")
    def file_remove(self, request, kb_id):
        file_id = validated(FileIdIn, request.data)["file_id"]
        delete_file = request.query_params.get("delete_file", "true").lower() in {"1", "true", "yes"}
        kb = services.remove_file(user=request.user, knowledge_id=kb_id, file_id=file_id, delete_file=delete_file)
        return _files_response(request.user, kb)

    @extend_schema(request=FileIdIn)
    @action(detail=True, methods=["post"], url_path="file/update")
    def file_update(self, request, kb_id):
        file_id = validated(FileIdIn, request.data)["file_id"]
        kb = services.update_file(user=request.user, knowledge_id=kb_id, file_id=file_id)
        return _files_response(request.user, kb)

    @action(detail=True, methods=["post"])
    def reset(self, request, kb_id):
        kb = services.reset(user=request.user, knowledge_id=kb_id,
                            include_directories=_flag(request, "include_directories", True))
        return Response(with_files(kb, None, write_access=True))

    @action(detail=True, methods=["delete"], url_path="delete")
    def delete_collection(self, request, kb_id):
        services.delete(user=request.user, knowledge_id=kb_id)
        return Response(True)


def _pending(user, kb) -> list[dict]:
    return [file_out(f, content=False, path=False) for f in selectors.pending_files(user, kb)]


async def _pending_events(user, kb):
    """The pending files every 3 seconds until there are none (at most an hour), as Open WebUI."""
    for _ in range(1200):
        pending = await db_call(_pending)(user, kb)
        yield f"data: {json.dumps(pending)}\n\n".encode()
        if not pending:
            return
        await asyncio.sleep(3)
