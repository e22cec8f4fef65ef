"""/api/v1/files/* (API.md §4)."""

import asyncio
import json

from django.core.files.storage import default_storage
from django.http import FileResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts import access
from accounts.permissions import IsAdmin
from config.common.db import db_call, hand_back
from config.common.exceptions import validated
from config.common.jsonbody import JSONParser
from config.common.pagination import page_slice
from files import progress, selectors, services
from files.models import File
from files.serializers import ContentIn, RenameIn, SearchIn, UploadIn, file_out
from files.streaming import Text, json_response

NOT_FOUND = "We could not find what you're looking for :/"


def _flag(request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes"}


def _file(request, file_id, *related: str):
    file = selectors.listed(request.user).select_related(*related).filter(id=file_id).first()
    if file is None:
        raise NotFound(NOT_FOUND)
    return file


def _search(request, *, own: bool, defaults: dict):
    params = validated(SearchIn, {**defaults, **request.query_params.dict()}, status=400)
    files = selectors.search(request.user, params["filename"], own=own)
    page = list(files[params["skip"]:params["skip"] + params["limit"]])
    return page, params["content"]


def _stored(file: File):
    try:
        return default_storage.open(file.storage_name, "rb")
    except OSError:
        raise NotFound(NOT_FOUND)


class FileViewSet(viewsets.ViewSet):
    """One file resource; Open WebUI's verb-style paths are its actions."""

    lookup_field = "file_id"
    parser_classes = [MultiPartParser, JSONParser]

    def get_permissions(self):
        return [IsAdmin()] if self.action == "delete_all" else super().get_permissions()

    @extend_schema(request={"multipart/form-data": UploadIn})
    def create(self, request):
        data = validated(UploadIn, request.data)
        file = services.upload(user=request.user, uploaded=data["file"], metadata=data.get("metadata"),
                               process=_flag(request, "process", True))
        out = file_out(file, content=False)
        if file.status:
            out["status"] = True
        return Response(out)

    def list(self, request):
        # 50 a page, as Open WebUI (no page size to ask for); texts are streamed, never held whole
        qs = selectors.listed(request.user)
        content = _flag(request, "content", True)
        page = qs[page_slice(request, per_page=50)]
        return json_response({"items": [file_out(f, content=content, path=False) for f in page], "total": qs.count()})

    def retrieve(self, request, file_id):
        return json_response(file_out(_file(request, file_id)))

    def destroy(self, request, file_id):
        services.delete(file=_file(request, file_id))
        return Response({"message": "File deleted successfully"})

    @action(detail=False, methods=["delete"], url_path="all")
    def delete_all(self, request):
        for file in selectors.files_for(request.user).only("id", "storage_name"):
            services.delete(file=file)
        return Response({"message": "All files deleted successfully"})

    @action(detail=False, methods=["get"])
    def search(self, request):
        files, content = _search(request, own=False, defaults={"content": "true", "limit": "100"})
        if not files:
            raise NotFound("No files found matching the pattern.")
        return json_response([file_out(f, content=content) for f in files])

    @action(detail=False, methods=["get"], url_path="user/search")
    def user_search(self, request):
        files, content = _search(request, own=True, defaults={"filename": "*", "content": "false", "limit": "50"})
        return json_response([file_out(f, content=content) for f in files])

    @action(detail=False, methods=["get"])
    def count(self, request):
        return Response(selectors.files_for(request.user).count())

    @action(detail=False, methods=["get"], url_path="user/count")
    def user_count(self, request):
        return Response(selectors.files_for(request.user).filter(user=request.user).count())

    @extend_schema(request=RenameIn)
    @action(detail=True, methods=["post"])
    def rename(self, request, file_id):
        filename = validated(RenameIn, request.data, status=400)["filename"]
        return json_response(file_out(services.rename(file=_file(request, file_id), filename=filename)))

    @action(detail=True, methods=["get"])
    def content(self, request, file_id):
        file = _file(request, file_id)
        handle = _stored(file)
        inline = file.content_type == "application/pdf" and not _flag(request, "attachment", False)
        response = FileResponse(handle, content_type=file.content_type, as_attachment=not inline, filename=file.filename)
        if file.content_type == "text/plain" and not _flag(request, "attachment", False):
            del response["Content-Disposition"]
        return response

    @action(detail=True, methods=["get"], url_path="content/html")
    def content_html(self, request, file_id):
        """The bytes as their own type, for files an admin uploaded only (as Open WebUI: HTML from
        anyone else must not be served from our origin; every API answer is sandboxed besides)."""
        file = _file(request, file_id, "user")
        if not access.is_admin(file.user):
            raise NotFound(NOT_FOUND)
        return FileResponse(_stored(file), filename=file.filename)

    @extend_schema(operation_id="api_v1_files_content_named")
    @action(detail=True, methods=["get"], url_path="content/<str:file_name>")
    def content_named(self, request, file_id, file_name):
        """A download under any name in the URL (Open WebUI's); the extracted text when the bytes are gone."""
        file = _file(request, file_id)
        try:
            handle = default_storage.open(file.storage_name, "rb")
        except OSError:
            hand_back()
            response = StreamingHttpResponse(_encoded(Text(file.id)), content_type="text/plain; charset=utf-8")
            response["Content-Disposition"] = content_disposition_header(True, file.filename)
            return response
        return FileResponse(handle, as_attachment=True, filename=file.filename)

    @action(detail=True, methods=["get"], url_path="data/content")
    def data_content(self, request, file_id):
        return json_response({"content": Text(_file(request, file_id).id)})

    @extend_schema(request=ContentIn)
    @action(detail=True, methods=["post"], url_path="data/content/update")
    def data_content_update(self, request, file_id):
        content = validated(ContentIn, request.data, status=400)["content"]
        file = services.update_content(file=_file(request, file_id), content=content)
        return Response({"content": file.content})

    @action(detail=True, methods=["get"], url_path="process/status")
    def process_status(self, request, file_id):
        file = _file(request, file_id)
        if _flag(request, "stream", False):
            hand_back()  # the events poll with their own connections, for up to two hours
            response = StreamingHttpResponse(_status_events(file.id, file.status), content_type="text/event-stream")
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"
            return response
        return Response(_status(file))


async def _encoded(text: Text):
    async for piece in text.slices():
        yield piece.encode()


def _status(file: File) -> dict:
    """Open WebUI's `{"status"}`, with the error when failed and how far it is while processing."""
    event = {"status": file.status or "pending"}
    if file.status == File.Status.FAILED:
        event["error"] = file.error
    if (done := progress.describe(file)) is not None:
        event["progress"] = done
    return event


def _read_status(file_id) -> File | None:
    return File.objects.filter(id=file_id).only(
        "status", "error", "progress_done", "progress_total", "processing_started_at").first()


async def _status_events(file_id, status: str):
    """One event a second until the file is completed or failed (or gone); at most two hours."""
    if not status:
        yield b'data: {"status": "pending"}\n\n'
        return
    for _ in range(7200):
        file = await db_call(_read_status)(file_id)
        if file is None:
            yield b'data: {"status": "not_found"}\n\n'
            return
        yield f"data: {json.dumps(_status(file))}\n\n".encode()
        if file.status in (File.Status.COMPLETED, File.Status.FAILED):
            return
        await asyncio.sleep(1)
