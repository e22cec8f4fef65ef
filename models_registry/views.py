
from django.http import JsonResponse

from accounts.async_views import authenticated
from config.common import wire_schema as wire
from config.common.http import endpoint
from config.common.schema import documented
from models_registry import registry

OVERHEAD_HEADER = "X-Gateway-Overhead-Ms"


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in {"1", "true", "yes"}


@documented(get={"responses": wire.answers(wire.ModelList), "parameters": [wire.REFRESH],
                  "summary": "The models the caller may use"})
@endpoint("GET")
@authenticated("user")
async def model_list(request):
    entries = await registry.models_for(request.user, refresh=_truthy(request.GET.get("refresh")))
    return JsonResponse({"data": [e.public for e in entries]})


@documented(get={"responses": wire.answers(wire.ModelList), "parameters": [wire.REFRESH],
                  "summary": "Every upstream model (admin)"})
@endpoint("GET")
@authenticated("admin")
async def base_model_list(request):
    return JsonResponse({"data": await registry.base_models(refresh=_truthy(request.GET.get("refresh")))})
