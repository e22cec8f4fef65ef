"""Health and version (API.md §9); /api/config is accounts.public_config."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from rest_framework.response import Response
from rest_framework.views import APIView

from config import drain, readiness
from config.common import db_outage, errors
from config.common import wire_schema as wire
from config.common.db import db_call
from config.common.errors import ApplicationError
from config.common.http import endpoint
from config.common.schema import documented


@documented(get={"responses": {200: wire.Status}, "auth": [], "summary": "The process answers"})
@endpoint("GET", "HEAD")
async def health(request):
    return JsonResponse({"status": True})


def _ping_db() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


@documented(get={"responses": {200: wire.Status, 503: wire.Detail}, "auth": [], "summary": "The database answers"})
@endpoint("GET", "HEAD")
async def health_db(request):
    if db_outage.database_down():
        raise ApplicationError(503, "Database not ready: unreachable")
    try:
        await db_call(_ping_db)()
    except Exception as exc:  # any driver error means "not healthy"
        raise ApplicationError(503, f"Database not ready: {exc.__class__.__name__}") from exc
    return JsonResponse({"status": True})


@documented(get={"responses": {200: wire.Status, 503: wire.Readiness}, "auth": [],
                  "summary": "Ready for traffic (database, migrations, not draining)"})
@endpoint("GET", "HEAD")
async def ready(request):
    if drain.draining:  # SIGTERM received: the load balancer is to stop sending requests here
        error = ApplicationError(503, "Not ready: draining")
        return JsonResponse({**errors.payload(error), "checks": {"drain": "draining"}}, status=503)
    found = await db_call(readiness.problems)()
    if found:
        detail = "Not ready: " + "; ".join(f"{name}: {problem}" for name, problem in found.items())
        return JsonResponse({**errors.payload(ApplicationError(503, detail)), "checks": found}, status=503)
    return JsonResponse({"status": True})


@documented(get={"responses": {200: wire.Version}, "auth": []})
@endpoint("GET", "HEAD")
async def version(request):
    return JsonResponse({"version": settings.VERSION, "deployment_id": ""})


@documented(get={"responses": OpenApiTypes.OBJECT, "auth": [], "summary": "Release notes by version (none kept)"})
@endpoint("GET")
async def changelog(request):
    """Open WebUI's last five release notes, by version; this server ships none (see the README)."""
    return JsonResponse({})


class VersionUpdatesView(APIView):
    """User level; we never phone home, so `latest` is the running version."""

    def get(self, request):
        return Response({"current": settings.VERSION, "latest": settings.VERSION})
