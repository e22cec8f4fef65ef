import secrets
from http import HTTPStatus

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.utils.decorators import sync_and_async_middleware
from django.utils.module_loading import import_string

from config import tracing
from config.common import errors, metrics, requestlog

API_PREFIXES = ("/api/", "/ollama/", "/openai/", "/health", "/ready", "/metrics", "/ws/")
NUL_IN_URL = "The URL must not contain NUL (%00) characters."

# API answers are data, never pages: if a browser is made to open one (a user's image, an uploaded
# file), nothing in it may run or load. PDFs are left to the browser's viewer, which a sandbox blocks.
USER_CONTENT_POLICY = "default-src 'none'; sandbox"
# Our HTML pages: scripts only from our static files (inline ones need the request's nonce); the
# admin's own templates carry inline styles.
PAGE_POLICY = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
               "frame-ancestors 'self'")
STRICT_PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
                      "form-action 'self'; frame-ancestors 'none'")


def _as_json(request, response):
    """Errors under the API paths that Django produced as HTML/empty (404, 405, 500, ...) become
    `{"detail": ...}` JSON with the same status; a URL no route matches is `No route: <METHOD> <path>`."""
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
            # No URL pattern matched (Django never picked a view): said apart from a view's own
            # "not found" for an object, so clients and tests/test_route_coverage.py can tell.
            matched = getattr(request, "resolver_match", None) is not None
            detail = "Not Found" if matched else f"No route: {request.method} {request.path}"
        replacement = errors.json_response(errors.ApplicationError(response.status_code, detail))
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

    middleware.process_exception = _render_error
    return middleware


def _render_error(request, exception):
    """An ApplicationError (or DRF exception) raised by a plain view becomes its JSON answer."""
    error = errors.as_application_error(exception)
    return errors.json_response(error) if error is not None else None


class AsyncMiddleware:
    """An async-only middleware: on the API path Django then calls it with no thread hop."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        markcoroutinefunction(self)


class RequestIdMiddleware(AsyncMiddleware):
    """The outermost middleware: the request's log context (requestlog.begin, from the client's
    `X-Request-ID` when valid) and that id on every response, streams included."""

    async def __call__(self, request):
        context = requestlog.begin(request.META.get("HTTP_X_REQUEST_ID"))
        counted = getattr(request, "_metrics_counted", False)  # the site's middleware runs this again
        request._metrics_counted = True
        if tracing.enabled:
            tracing.note_request(context.request_id)
        response = await self.get_response(request)
        response[requestlog.HEADER] = context.request_id
        if tracing.enabled:
            tracing.note_route(request)
        if not counted:
            metrics.REQUESTS.labels(metrics.route_family(request.path_info), str(response.status_code)).inc()
        return response


class SiteOnlyMiddleware(AsyncMiddleware):
    """Runs SITE_MIDDLEWARE (sessions, CSRF, messages... for the admin and pages) only outside the
    API paths. Those middlewares are sync; under ASGI each one costs thread hops per request, and the
    bearer-token API needs none of them."""

    def __init__(self, get_response):
        super().__init__(get_response)
        handler, is_async = get_response, True
        for path in reversed(settings.SITE_MIDDLEWARE):
            middleware = import_string(path)
            wants_async = getattr(middleware, "async_capable", False)
            if wants_async and not is_async:  # adapt between modes, as Django's loader does
                handler = sync_to_async(handler, thread_sensitive=True)
            elif not wants_async and is_async:
                handler = async_to_sync(handler)
            handler, is_async = convert_exception_to_response(middleware(handler)), wants_async
        self.site_handler = handler if is_async else sync_to_async(handler, thread_sensitive=True)

    async def __call__(self, request):
        if request.path_info.startswith(API_PREFIXES):
            if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.path_info:
                return errors.json_response(errors.ApplicationError(400, NUL_IN_URL))  # Postgres refuses NUL in text
            response = await self.get_response(request)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            if response.get("Content-Type", "") != "application/pdf":
                response.headers.setdefault("Content-Security-Policy", USER_CONTENT_POLICY)
            return response
        return await self.site_handler(request)


class ContentSecurityPolicyMiddleware:
    """PAGE_POLICY on every HTML page that has not set its own, with a fresh `request.csp_nonce`
    for templates' inline scripts (`<script nonce="{{ request.csp_nonce }}">`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", PAGE_POLICY.format(nonce=request.csp_nonce))
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
