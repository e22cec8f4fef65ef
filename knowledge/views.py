"""/api/v1/knowledge/* (API.md §5.3; statuses per DECISIONS #11)."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import access
from config.common.exceptions import validated
from config.common.pagination import page_slice
from files.serializers import file_out
from knowledge import selectors, services
from knowledge.serializers import AccessIn, FileIdIn, KnowledgeIn, list_items, with_files


def _files_response(user, kb, warnings=None) -> Response:
    data = with_files(kb, services.files_of(kb), write_access=access.can_write(user, access.KNOWLEDGE, kb))
    if warnings:
        data["warnings"] = warnings
    return Response(data)


class KnowledgeViewSet(viewsets.ViewSet):
    """One collection resource; Open WebUI's verb-style paths are its actions."""

    lookup_field = "kb_id"

    def list(self, request):
        qs = selectors.readable(request.user)
        page = list(qs[page_slice(request, per_page=30)])
        writable = access.permitted_ids(request.user, access.KNOWLEDGE, access.WRITE, page)
        return Response({"items": list_items(page, writable), "total": qs.count()})

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
        files = services.files_of(services.readable(request.user, kb_id))
        page = files[page_slice(request, per_page=30)]
        return Response({"items": [file_out(f, content=False, path=False) for f in page], "directories": [],
                         "breadcrumbs": [], "total": files.count()})

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
        file_id = str(validated(FileIdIn, request.data)["file_id"])
        kb, warnings = services.add_files(user=request.user, knowledge_id=kb_id, file_ids=[file_id])
        return _files_response(request.user, kb, warnings)

    @extend_schema(request=FileIdIn(many=True))
    @action(detail=True, methods=["post"], url_path="files/batch/add")
    def files_batch_add(self, request, kb_id):
        items = validated(FileIdIn, request.data, many=True, status=400,
                          message='The body must be a list of {"file_id": ...} objects.')
        kb, warnings = services.add_files(user=request.user, knowledge_id=kb_id, file_ids=[str(i["file_id"]) for i in items])
        return _files_response(request.user, kb, warnings)

    @extend_schema(request=FileIdIn)
    @action(detail=True, methods=["post"], url_path="file/remove")
    def file_remove(self, request, kb_id):
        file_id = str(validated(FileIdIn, request.data)["file_id"])
        delete_file = request.query_params.get("delete_file", "true").lower() in {"1", "true", "yes"}
        kb = services.remove_file(user=request.user, knowledge_id=kb_id, file_id=file_id, delete_file=delete_file)
        return _files_response(request.user, kb)

    @extend_schema(request=FileIdIn)
    @action(detail=True, methods=["post"], url_path="file/update")
    def file_update(self, request, kb_id):
        file_id = str(validated(FileIdIn, request.data)["file_id"])
        kb = services.update_file(user=request.user, knowledge_id=kb_id, file_id=file_id)
        return _files_response(request.user, kb)

    @action(detail=True, methods=["post"])
    def reset(self, request, kb_id):
        kb = services.reset(user=request.user, knowledge_id=kb_id)
        return Response(with_files(kb, None, write_access=True))

    @action(detail=True, methods=["delete"], url_path="delete")
    def delete_collection(self, request, kb_id):
        services.delete(user=request.user, knowledge_id=kb_id)
        return Response(True)
