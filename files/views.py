"""/api/v1/files/* (API.md §4)."""

from django.core.files.storage import default_storage
from django.http import FileResponse
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from config.pagination import page_slice
from files import selectors, services
from files.serializers import file_out

NOT_FOUND = "We could not find what you're looking for :/"


def _flag(request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes"}


def _file(request, file_id):
    file = selectors.files_for(request.user).filter(id=file_id).first()
    if file is None:
        raise NotFound(NOT_FOUND)
    return file


class FileListView(APIView):
    parser_classes = [MultiPartParser, JSONParser]

    def post(self, request):
        uploaded = request.FILES.get("file")
        if uploaded is None:
            return Response({"detail": "file: an uploaded file is required."}, status=422)
        file = services.upload(user=request.user, uploaded=uploaded, metadata=request.data.get("metadata"),
                               process=_flag(request, "process", True))
        out = file_out(file)
        if file.status:
            out["status"] = True
        return Response(out)

    def get(self, request):
        qs = selectors.files_for(request.user)
        content = _flag(request, "content", True)
        page = qs[page_slice(request, per_page=50)]
        return Response({"items": [file_out(f, content=content, path=False) for f in page], "total": qs.count()})


class FileDetailView(APIView):
    def get(self, request, file_id):
        return Response(file_out(_file(request, file_id)))

    def delete(self, request, file_id):
        services.delete(file=_file(request, file_id))
        return Response({"message": "File deleted successfully"})


class FileContentView(APIView):
    def get(self, request, file_id):
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


class FileDataContentView(APIView):
    def get(self, request, file_id):
        return Response({"content": _file(request, file_id).content})


class FileStatusView(APIView):
    def get(self, request, file_id):
        return Response({"status": _file(request, file_id).status or "pending"})


class DeleteAllView(APIView):
    permission_classes = [IsAdmin]

    def delete(self, request):
        for file in selectors.files_for(request.user).only("id", "storage_name"):
            services.delete(file=file)
        return Response({"message": "All files deleted successfully"})
