from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from config.common.exceptions import validated
from models_registry.connections import config_out, update_config
from models_registry.serializers import CONFIG_FORMS


class _KindSchema(AutoSchema):
    """One view class serves both kinds (`as_view(kind=...)`): document the form of each."""

    def get_request_serializer(self):
        return CONFIG_FORMS[self.view.kind]

    def get_response_serializers(self):
        return OpenApiTypes.OBJECT


class ConnectionConfigView(APIView):
    """GET/POST /ollama/config and /openai/config (+ /update): the connections of one kind."""

    permission_classes = [IsAdmin]
    kind = "ollama"
    schema = _KindSchema()

    def get(self, request):
        return Response(config_out(self.kind))

    def post(self, request):
        return Response(update_config(self.kind, validated(CONFIG_FORMS[self.kind], request.data)))
