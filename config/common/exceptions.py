"""One error shape: every error is `{"detail": "..."}` with the right status."""

from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from config.common.errors import ApplicationError, flatten, payload


def validated(serializer_class, data, *, message: str | None = None, status: int = 422, many: bool = False, **kwargs):
    """Validate a request body with an input serializer (a list of its objects with `many`); `status`
    (422 unless an endpoint's clients expect another) with a readable detail, or `message`, when invalid."""
    if not isinstance(data, list if many else dict):
        raise ApplicationError(status, message or f"The request body must be a JSON {'list' if many else 'object'}.")
    serializer = serializer_class(data=data, many=many, **kwargs)
    if not serializer.is_valid():
        raise ApplicationError(status, message or flatten(serializer.errors))
    return serializer.validated_data


def api_exception_handler(exc, context):
    """DRF's handler (its Http404/PermissionDenied mapping, headers and rollback) with our one shape;
    an ApplicationError is rendered by config.common.errors."""
    if isinstance(exc, ApplicationError):
        set_rollback()
        response = Response(payload(exc), status=exc.status, headers=exc.headers)
    else:
        response = exception_handler(exc, context)
        if response is None:
            return None  # a bug: Django logs it and answers 500
        if isinstance(exc, ValidationError) or not isinstance(response.data, dict) or "detail" not in response.data:
            response.data = payload(ApplicationError(response.status_code, flatten(response.data)))
    request = context.get("request")
    if response.status_code == 401 and request is not None and "token" in request.COOKIES:
        response.delete_cookie("token")
    return response
