"""/api/events/webhooks (admin; Open WebUI's routes) and GET /api/events (the caller's feed)."""

from django.http import JsonResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access
from accounts.async_views import authenticated
from accounts.permissions import IsAdmin
from config.common import wire_schema as wire
from config.common.exceptions import validated
from config.common.http import endpoint
from config.common.schema import documented
from config.events import feed, services
from config.events.serializers import WebhookIn, WebhookUpdateIn, webhook_out

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class WebhookListView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response([webhook_out(hook) for hook in services.webhooks()])

    @extend_schema(request=WebhookIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        hook = services.create_webhook(**validated(WebhookIn, request.data, status=400))
        return Response(webhook_out(hook, with_secret=True))


class WebhookView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=WebhookUpdateIn, responses=OpenApiTypes.OBJECT)
    def put(self, request, webhook_id: str):
        hook = services.get_webhook(webhook_id)
        data = validated(WebhookUpdateIn, request.data, status=400)
        hook = services.update_webhook(webhook=hook, changes=data)
        return Response(webhook_out(hook, with_secret=bool(data.get("secret"))))

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def delete(self, request, webhook_id: str):
        services.delete_webhook(webhook=services.get_webhook(webhook_id))
        return Response({"status": True})


def _last_event_id(request) -> int | None:
    value = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or ""
    return int(value) if value.isdigit() else None


FEED = OpenApiResponse(OpenApiTypes.STR, description="Server-sent events (`id`, `event`, `data: {json}`), kept open; "
                      "a `retry` line first, keepalive comments when idle")


@documented(get={"responses": {(200, "text/event-stream"): FEED, (200, "application/json"): wire.EventCatalog,
                                (401, "application/json"): wire.Detail},
                  "parameters": [OpenApiParameter("Last-Event-ID", str, OpenApiParameter.HEADER,
                                                  description="Resume after this event id (the events kept since then come first)")],
                  "summary": "The caller's event feed; with `Accept: application/json` (and not text/event-stream), "
                             "the catalog of event types"})
@endpoint("GET")
@authenticated("user")
async def events(request):
    """The feed (server-sent events); a client asking for JSON gets the catalog, as Open WebUI's route."""
    accept = request.headers.get("Accept", "")
    if "application/json" in accept and "text/event-stream" not in accept:
        return JsonResponse({"events": [{"type": name, "description": text} for name, text in services.CATALOG.items()]})
    listener, backlog = await feed.listen(str(request.user.id), access.is_admin(request.user), _last_event_id(request))
    return StreamingHttpResponse(feed.stream(listener, backlog), content_type="text/event-stream", headers=SSE_HEADERS)
