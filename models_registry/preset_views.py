"""/api/v1/models/* — model presets and overrides (API.md §8). Ids travel in body or query."""

from django.db.models import Q
from django.http import HttpResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access, grants, profile_image
from accounts.permissions import IsAdmin
from config.common.errors import ApplicationError
from config.common.exceptions import validated
from config.common.pagination import page_slice
from models_registry import selectors, services
from models_registry.models import Model
from models_registry.serializers import (
    ModelAccessIn,
    ModelFormIn,
    ModelIdIn,
    ModelsIn,
    VersionIn,
    model_out,
    models_out,
    version_out,
)

# a neutral model icon, when a model has no image of its own (or the caller may not see it)
DEFAULT_IMAGE = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" '
                 'fill="#e4e4e7"/><circle cx="32" cy="32" r="14" fill="none" stroke="#71717a" stroke-width="5"/></svg>')


def _out(model: Model) -> dict:
    return model_out(model, grants.by_resource(access.MODEL, [model.id])[model.id])


def _body(request, serializer_class) -> dict:
    return validated(serializer_class, request.data, status=400)


def _list_out(rows: list[Model]) -> list[dict]:
    by_id = grants.by_resource(access.MODEL, [m.id for m in rows])
    return [model_out(m, by_id[m.id]) for m in rows]


def _tags(rows) -> list[str]:
    return sorted({t["name"] for m in rows for t in m.meta.get("tags", []) if isinstance(t, dict) and isinstance(t.get("name"), str)})


def _forms(request) -> list[dict]:
    """The body's models, each checked as Open WebUI's ModelForm (meta and params default to {})."""
    models = _body(request, ModelsIn)["models"]
    return [validated(ModelFormIn, {"meta": {}, "params": {}, **m}, status=400) for m in models]


def _may_export(user) -> None:
    if not access.can_create(user, access.MODEL):  # the workspace permission over presets
        raise ApplicationError(401, "401 Unauthorized")


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
        rows = Model.objects.filter(base_model_id__isnull=True)
        tag = request.query_params.get("tag")
        if tag:
            rows = rows.filter(meta__tags__contains=[{"name": tag}])
        return Response(_list_out(list(rows)))


class BaseTagsView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: {"type": "array", "items": {"type": "string"}}})
    def get(self, request):
        return Response(_tags(Model.objects.filter(base_model_id__isnull=True).only("meta")))


class AllView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(_list_out(list(Model.objects.all())))


class TagsView(APIView):
    def get(self, request):
        return Response(_tags(selectors.readable_models(request.user)))


class ExportView(APIView):
    """The models the caller may change (an admin: all), or those of `?ids=` (403 unless all are)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        _may_export(request.user)
        rows = list(Model.objects.filter(access.visible(request.user, access.MODEL, access.WRITE)))
        ids = request.query_params.getlist("ids")
        if ids:
            rows = [m for m in rows if m.id in set(ids)]
            if {m.id for m in rows} != set(ids):
                raise ApplicationError(403, "You do not have permission to access this resource.")
        return Response(_list_out(rows))


class ImportView(APIView):
    @extend_schema(request=ModelsIn, responses=OpenApiTypes.BOOL)
    def post(self, request):
        _may_export(request.user)
        services.import_models(user=request.user, models=_forms(request))
        return Response(True)


class SyncView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=ModelsIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        return Response(_list_out(services.sync(user=request.user, models=_forms(request))))


class DeleteAllView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.BOOL)
    def delete(self, request):
        services.delete_all(user=request.user)
        return Response(True)


def _model_id(request) -> str:
    return request.query_params.get("id", "")


class HistoryView(APIView):
    """A model's versions, newest first, 20 a page (its writers only)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        versions = services.history(user=request.user, model_id=_model_id(request))
        return Response([version_out(v) for v in versions[page_slice(request, per_page=20)]])


class VersionView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, history_id):
        found = services.version(user=request.user, model_id=_model_id(request), version_id=history_id)
        return Response(version_out(found, with_snapshot=True))

    @extend_schema(responses=OpenApiTypes.BOOL)
    def delete(self, request, history_id):
        services.delete_version(user=request.user, model_id=_model_id(request), version_id=history_id)
        return Response(True)


class RestoreVersionView(APIView):
    @extend_schema(request=VersionIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        version_id = _body(request, VersionIn)["version_id"]
        return Response(_out(services.restore_version(user=request.user, model_id=_model_id(request), version_id=version_id)))


class ProfileImageView(APIView):
    """The model's `meta.profile_image_url`: an http(s) URL is a redirect, a raster data URL is
    served; else (none, another kind, or a model the caller may not read) a default icon, so model
    ids cannot be probed."""

    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY})
    def get(self, request):
        model = Model.objects.filter(id=request.query_params.get("id", "")).first()
        url = ""
        if model is not None and access.can_use(request.user, access.MODEL, model):
            url = model.meta.get("profile_image_url") or "" if isinstance(model.meta, dict) else ""
        if isinstance(url, str) and profile_image.is_web_url(url):
            return HttpResponseRedirect(url)
        raster = profile_image.decode(url) if isinstance(url, str) else None
        return HttpResponse(*raster) if raster else HttpResponse(DEFAULT_IMAGE, content_type="image/svg+xml")

