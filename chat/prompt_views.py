"""/api/v1/prompts/* (Open WebUI 0.12.4's 15 prompt routes). Ids are plain path segments: one that
is not a UUID is answered like any unknown id (404), never 422."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access, grants
from chat import prompt_selectors as selectors
from chat import prompt_services as services
from chat.prompt_models import Prompt
from chat.prompt_serializers import (
    DiffQuery,
    PromptAccessIn,
    PromptIn,
    PromptListQuery,
    PromptMetaIn,
    PromptVersionIn,
    history_out,
    prompt_out,
    prompt_with_access,
)
from config.common.errors import ApplicationError
from config.common.exceptions import validated
from config.common.pagination import page_slice

PER_PAGE = 30  # /list
HISTORY_PER_PAGE = 20  # /id/{id}/history, 0-based pages as in Open WebUI


def _out(prompt: Prompt) -> dict:
    return prompt_out(prompt, grants.by_resource(access.PROMPT, [prompt.pk])[str(prompt.pk)])


class PromptListView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Active prompts the caller may read")
    def get(self, request):
        prompts = list(selectors.active(request.user))
        shared = grants.by_resource(access.PROMPT, [p.pk for p in prompts])
        return Response([prompt_out(p, shared[str(p.pk)]) for p in prompts])


class PromptTagsView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(selectors.tags(request.user))


class PromptSearchView(APIView):
    @extend_schema(parameters=[PromptListQuery, OpenApiParameter("page", int)], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        filters = validated(PromptListQuery, request.query_params.dict(), status=400)
        qs = selectors.search(request.user, **filters)
        page = list(qs[page_slice(request, per_page=PER_PAGE)])
        shared = grants.by_resource(access.PROMPT, [p.pk for p in page])
        writable = access.permitted_ids(request.user, access.PROMPT, access.WRITE, page)
        items = [prompt_with_access(p, shared[str(p.pk)], write_access=str(p.pk) in writable) for p in page]
        return Response({"items": items, "total": qs.count()})


class PromptCreateView(APIView):
    @extend_schema(request=PromptIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(PromptIn, request.data)
        return Response(_out(services.create(user=request.user, **data)))


class PromptDetailView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, prompt_id):
        prompt = services.readable(request.user, prompt_id)
        return Response(prompt_with_access(prompt, grants.by_resource(access.PROMPT, [prompt.pk])[str(prompt.pk)],
                                           write_access=access.can_write(request.user, access.PROMPT, prompt)))


class PromptUpdateView(APIView):
    @extend_schema(request=PromptIn, responses=OpenApiTypes.OBJECT)
    def post(self, request, prompt_id):
        data = validated(PromptIn, request.data)
        data.pop("access_grants", None)  # grants change through access/update only
        return Response(_out(services.update(user=request.user, prompt_id=prompt_id, **data)))


class PromptMetaView(APIView):
    @extend_schema(request=PromptMetaIn, responses=OpenApiTypes.OBJECT)
    def post(self, request, prompt_id):
        data = validated(PromptMetaIn, request.data)
        return Response(_out(services.update_meta(user=request.user, prompt_id=prompt_id, **data)))


class PromptVersionView(APIView):
    @extend_schema(request=PromptVersionIn, responses=OpenApiTypes.OBJECT)
    def post(self, request, prompt_id):
        data = validated(PromptVersionIn, request.data)
        return Response(_out(services.set_version(user=request.user, prompt_id=prompt_id, version_id=data["version_id"])))


class PromptAccessView(APIView):
    @extend_schema(request=PromptAccessIn, responses=OpenApiTypes.OBJECT)
    def post(self, request, prompt_id):
        data = validated(PromptAccessIn, request.data)
        return Response(_out(services.update_access(user=request.user, prompt_id=prompt_id, access_grants=data["access_grants"])))


class PromptToggleView(APIView):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, prompt_id):
        return Response(_out(services.toggle(user=request.user, prompt_id=prompt_id)))


class PromptDeleteView(APIView):
    @extend_schema(responses=OpenApiTypes.BOOL)
    def delete(self, request, prompt_id):
        services.delete(user=request.user, prompt_id=prompt_id)
        return Response(True)


class PromptHistoryView(APIView):
    @extend_schema(parameters=[OpenApiParameter("page", int, description="0-based")], responses=OpenApiTypes.OBJECT)
    def get(self, request, prompt_id):
        prompt = services.readable(request.user, prompt_id)
        raw = request.query_params.get("page") or "0"
        if not (raw.isascii() and raw.isdigit()) or int(raw) > 1_000_000:
            raise ApplicationError(400, "page must be a non-negative integer")
        start = int(raw) * HISTORY_PER_PAGE
        entries = selectors.history(prompt)[start:start + HISTORY_PER_PAGE]
        return Response([history_out(e, with_user=True) for e in entries])


class PromptDiffView(APIView):
    @extend_schema(parameters=[DiffQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request, prompt_id):
        prompt = services.readable(request.user, prompt_id)
        ids = validated(DiffQuery, request.query_params.dict(), status=400)
        return Response(services.diff(prompt, ids["from_id"], ids["to_id"]))


class PromptHistoryEntryView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="api_v1_prompts_id_history_entry_retrieve")
    def get(self, request, prompt_id, history_id):
        prompt = services.readable(request.user, prompt_id)
        return Response(history_out(services.history_entry(prompt, history_id)))

    @extend_schema(responses=OpenApiTypes.BOOL)
    def delete(self, request, prompt_id, history_id):
        services.delete_version(user=request.user, prompt_id=prompt_id, history_id=history_id)
        return Response(True)
