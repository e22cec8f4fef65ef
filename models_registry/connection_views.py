from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from config.exceptions import UnprocessableEntity
from models_registry.connections import config_out, update_config


class ConnectionConfigView(APIView):
    """GET/POST /ollama/config and /openai/config (+ /update): the connections of one kind."""

    permission_classes = [IsAdmin]
    kind = "ollama"

    def get(self, request):
        return Response(config_out(self.kind))

    def post(self, request):
        if not isinstance(request.data, dict):
            raise UnprocessableEntity("The request body must be a JSON object.")
        return Response(update_config(self.kind, request.data))
