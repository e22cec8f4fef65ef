"""Helpers for the plain (non-DRF) async views on the hot path."""

from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods


def endpoint(*methods: str):
    """A bearer-token API view: no CSRF (no session cookie is trusted here), only `methods`
    (others get a JSON 405 through JsonErrorsMiddleware)."""

    def wrap(view):
        return csrf_exempt(require_http_methods(list(methods))(view))

    return wrap
