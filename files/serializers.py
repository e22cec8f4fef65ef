from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import ts
from config.common import jsonbody
from config.common.errors import ApplicationError
from files import progress
from files.models import File
from files.streaming import Text


@extend_schema_field({"type": "string", "description": "a JSON object, as text"})
class MetadataField(serializers.Field):
    """Upload metadata: a JSON object, sent as a form field's text (or as an object)."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data):
        if data == "":
            return {}
        try:
            if isinstance(data, str):
                data = jsonbody.loads(data)
            else:
                jsonbody.check(data)
        except jsonbody.BadJson as exc:
            raise ApplicationError(400, f"metadata: {exc}")  # malformed JSON is a 400, as a malformed body
        if not isinstance(data, dict):
            raise serializers.ValidationError("must be a JSON object.")
        return data

    def to_representation(self, value):
        return value


class UploadIn(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, use_url=False,
                                 error_messages={"required": "an uploaded file is required."})
    metadata = MetadataField()


class ContentIn(serializers.Serializer):
    content = serializers.CharField(trim_whitespace=False, error_messages={"blank": "must not be empty."})

    def validate_content(self, content: str) -> str:
        if not content.strip():
            raise serializers.ValidationError("must not be empty.")
        return content


class RenameIn(serializers.Serializer):
    filename = serializers.CharField(max_length=255, error_messages={"blank": "must not be empty."})


class SearchIn(serializers.Serializer):
    """GET /files/search and /files/user/search (query parameters, as Open WebUI's)."""

    filename = serializers.CharField(max_length=1000, trim_whitespace=False)
    content = serializers.BooleanField()
    skip = serializers.IntegerField(min_value=0, max_value=10**9, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=1000)


def file_out(file: File, *, content: bool = True, path: bool = True) -> dict:
    """API.md §4.1 (`path` is the storage name relative to the storage root: DECISIONS #19). The text,
    when included, is a `Text` placeholder: send the result with `streaming.json_response`."""
    data = {"status": file.status or "pending"}
    if file.status == File.Status.FAILED:
        data["error"] = file.error
    if (done := progress.describe(file)) is not None:
        data["progress"] = done
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
