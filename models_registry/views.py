
from django.http import JsonResponse

from accounts.async_views import authenticated
from config.common.http import endpoint
from models_registry import registry

OVERHEAD_HEADER = "X-Gateway-Overhead-Ms"


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in {"1", "true", "yes"}


@endpoint("GET")
@authenticated("user")
async def model_list(request):
    entries = await registry.models_for(request.user, refresh=_truthy(request.GET.get("refresh")))
    return JsonResponse({"data": [e.public for e in entries]})


@endpoint("GET")
@authenticated("admin")
async def base_model_list(request):
    return JsonResponse({"data": await registry.base_models(refresh=_truthy(request.GET.get("refresh")))})
