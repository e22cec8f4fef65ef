from http import HTTPStatus

from asgiref.sync import iscoroutinefunction
from django.http import JsonResponse
from django.utils.decorators import sync_and_async_middleware

API_PREFIXES = ("/api/", "/ollama/", "/openai/", "/health", "/ws/")


def _as_json(request, response):
    """Errors under the API paths that Django produced as HTML/empty (404, 405, 500, ...) become
    `{"detail": ...}` JSON with the same status."""
    if (
        response.status_code >= 400
        and request.path_info.startswith(API_PREFIXES)
        and not response.streaming
        and not response.get("Content-Type", "").startswith("application/json")
    ):
        try:
            detail = HTTPStatus(response.status_code).phrase
        except ValueError:
            detail = "Error"
        if response.status_code == 404:
            detail = "Not Found"
        replacement = JsonResponse({"detail": detail}, status=response.status_code)
        if response.has_header("Allow"):
            replacement["Allow"] = response["Allow"]
        return replacement
    return response


@sync_and_async_middleware
def JsonErrorsMiddleware(get_response):
    if iscoroutinefunction(get_response):

        async def middleware(request):
            return _as_json(request, await get_response(request))

    else:

        def middleware(request):
            return _as_json(request, get_response(request))

    return middleware
