from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from models_registry.connections import config_out, update_config


class ConnectionConfigView(APIView):
    """GET/POST /ollama/config and /openai/config (+ /update): the connections of one kind."""

    permission_classes = [IsAdmin]
    kind = "ollama"

    def get(self, request):
        return Response(config_out(self.kind))

    def post(self, request):
        return Response(update_config(self.kind, request.data))
