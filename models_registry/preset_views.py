"""/api/v1/models/* — model presets and overrides (API.md §8). Ids travel in body or query."""

from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access, grants
from accounts.permissions import IsAdmin
from config.common.errors import ApplicationError
from config.common.exceptions import validated
from config.common.pagination import page_slice
from models_registry import selectors, services
from models_registry.models import Model
from models_registry.serializers import ModelAccessIn, ModelFormIn, ModelIdIn, model_out, models_out


def _out(model: Model) -> dict:
    return model_out(model, grants.by_resource(access.MODEL, [model.id])[model.id])


def _body(request, serializer_class) -> dict:
    return validated(serializer_class, request.data, status=400)


class CreateView(APIView):
    @extend_schema(request=ModelFormIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        return Response(_out(services.create(user=request.user, data=_body(request, ModelFormIn))))


class ListView(APIView):
    def get(self, request):
        qs = selectors.readable_models(request.user)
        query = request.query_params.get("query")
        if query:
            qs = qs.filter(Q(name__icontains=query) | Q(id__icontains=query))
        page = list(qs[page_slice(request, per_page=30)])
        writable = access.permitted_ids(request.user, access.MODEL, access.WRITE, page)
        return Response({"items": models_out(page, request.user, writable), "total": qs.count()})


class DetailView(APIView):
    def get(self, request):
        model = Model.objects.select_related("user").filter(id=request.query_params.get("id", "")).first()
        if model is None:
            raise ApplicationError(404, services.NOT_FOUND)
        if not access.can_read(request.user, access.MODEL, model):
            raise ApplicationError(401, "401 Unauthorized")
        writable = access.permitted_ids(request.user, access.MODEL, access.WRITE, [model])
        return Response(models_out([model], request.user, writable)[0])


class UpdateView(APIView):
    @extend_schema(request=ModelFormIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        return Response(_out(services.update(user=request.user, data=_body(request, ModelFormIn))))


class AccessUpdateView(APIView):
    @extend_schema(request=ModelAccessIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = _body(request, ModelAccessIn)
        model = services.update_access(user=request.user, model_id=data["id"], name=data.get("name"),
                                       access_grants=data.get("access_grants"))
        return Response(_out(model))


class ToggleView(APIView):
    def post(self, request):
        return Response(_out(services.toggle(user=request.user, model_id=request.query_params.get("id", ""))))


class DeleteView(APIView):
    @extend_schema(request=ModelIdIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        services.delete(user=request.user, model_id=_body(request, ModelIdIn)["id"])
        return Response(True)


class BaseView(APIView):
    permission_classes = [IsAdmin]

    def get(self, request):
        rows = list(Model.objects.filter(base_model_id__isnull=True))
        by_id = grants.by_resource(access.MODEL, [m.id for m in rows])
        return Response([model_out(m, by_id[m.id]) for m in rows])


class TagsView(APIView):
    def get(self, request):
        tags = {t["name"] for m in selectors.readable_models(request.user) for t in m.meta.get("tags", []) if isinstance(t, dict) and "name" in t}
        return Response(sorted(tags))

