"""Authentication for the plain async views on the hot path (DRF views are sync and buffer)."""

import functools

from django.http import JsonResponse
from rest_framework.exceptions import APIException

from accounts import access
from accounts.authentication import aauthenticate_token, credential_from
from accounts.permissions import NotAuthenticated, Unauthorized
from config.common import errors
from config.common.errors import ApplicationError


def error_response(exc: APIException | ApplicationError) -> JsonResponse:
    return errors.json_response(errors.as_application_error(exc))


def authenticated(level: str = "user"):
    """Async view decorator: sets `request.user` and `request.auth`; `level` is user or admin.
    Any APIException or ApplicationError raised by the view becomes its JSON error."""

    def wrap(view):
        @functools.wraps(view)
        async def inner(request, *args, **kwargs):
            try:
                raw = credential_from(request.headers, request.COOKIES)
                if raw is None:
                    raise NotAuthenticated()
                request.user, request.auth = await aauthenticate_token(raw, request.path_info)
                if not access.is_verified(request.user) or (level == "admin" and not access.is_admin(request.user)):
                    raise Unauthorized()
                return await view(request, *args, **kwargs)
            except (APIException, ApplicationError) as exc:
                return error_response(exc)

        return inner

    return wrap
