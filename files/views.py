"""/api/v1/files/* (API.md §4)."""

import asyncio
import json

from django.core.files.storage import default_storage
from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.permissions import IsAdmin
from config.common.db import db_call, hand_back
from config.common.exceptions import validated
from config.common.jsonbody import JSONParser
from config.common.pagination import page_slice
from config.common.routers import UUID
from files import progress, selectors, services
from files.models import File
from files.serializers import ContentIn, UploadIn, file_out
from files.streaming import Text, json_response

NOT_FOUND = "We could not find what you're looking for :/"


def _flag(request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes"}


def _file(request, file_id):
    file = selectors.listed(request.user).filter(id=file_id).first()
    if file is None:
        raise NotFound(NOT_FOUND)
    return file


class FileViewSet(viewsets.ViewSet):
    """One file resource; Open WebUI's verb-style paths are its actions."""

    lookup_field = "file_id"
    lookup_value_regex = UUID
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

    @action(detail=True, methods=["get"])
    def content(self, request, file_id):
        file = _file(request, file_id)
        try:
            handle = default_storage.open(file.storage_name, "rb")
        except OSError:
            raise NotFound(NOT_FOUND)
        inline = file.content_type == "application/pdf" and not _flag(request, "attachment", False)
        response = FileResponse(handle, content_type=file.content_type, as_attachment=not inline, filename=file.filename)
        if file.content_type == "text/plain" and not _flag(request, "attachment", False):
            del response["Content-Disposition"]
        return response

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
