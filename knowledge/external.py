"""Open WebUI's external knowledge sources (`/knowledge/external/*`: collections served by another
retrieval service through a registered connection). This server keeps every collection itself, so
there are no connections: the list is empty, a connection or source is never found, and creating one
is refused with a readable 400 rather than a 404 for the route (README: routes)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from config.common.errors import ApplicationError

UNSUPPORTED = "External knowledge sources are not supported by this server: its collections are its own."
NOT_FOUND = "We could not find what you're looking for :/"


class ConnectionsView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"items": [], "total": 0})

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        raise ApplicationError(400, UNSUPPORTED)


class ConnectionView(APIView):
    """A connection (or source) by id: none exists."""

    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, connection_id):
        raise ApplicationError(404, NOT_FOUND)

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, connection_id):
        raise ApplicationError(404, NOT_FOUND)

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def patch(self, request, connection_id):
        raise ApplicationError(404, NOT_FOUND)

    @extend_schema(responses=OpenApiTypes.BOOL)
    def delete(self, request, connection_id):
        raise ApplicationError(404, NOT_FOUND)


class CreateView(APIView):
    """Creating an external collection or source, or testing one."""

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        raise ApplicationError(400, UNSUPPORTED)
