"""What /openapi.json says beyond what drf-spectacular finds by itself.

- Our bearer authentication.
- `documented(...)`: the plain Django async views (chat completions, models, the provider
  passthroughs, health) are not DRF views, so drf-spectacular would not see them; each gets a
  stand-in DRF view class that only carries its documentation (it never serves a request).
- `GatewayAutoSchema`: operation ids made from method and path (unique by construction); a free-form
  JSON object as the body of a DRF view that declares no serializer (they build their answers as
  dicts in Open WebUI's shapes), so generation never falls back with a warning; 200 for every success.
- A JSON object body for every write that does not declare its own (so clients and the schema
  fuzzer in tests/test_schema_fuzz.py know these operations take one)."""

import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

ANY_OBJECT = {"content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}}}


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A JWT session or an `sk-` API key"}


class GatewayAutoSchema(AutoSchema):
    def get_operation_id(self):
        name = re.sub(r"[^0-9a-zA-Z]+", "_", self.path.strip("/")).strip("_") or "root"
        return f"{self.method.lower()}_{name}{'_index' if self.path.endswith('/') and len(self.path) > 1 else ''}"

    def get_tags(self):
        """The route's family (`/api/v1/files/...` files, `/api/chat/...` chat, `/ollama/...` ollama)."""
        parts = [p for p in self.path.split("/") if p]
        rest = parts[2:] if parts[:2] == ["api", "v1"] else parts[1:] if parts[:1] == ["api"] else parts
        return [(rest or parts or ["root"])[0]]

    def _get_serializer(self):
        view = self.view
        declared = any(callable(getattr(view, name, None)) for name in ("get_serializer", "get_serializer_class"))
        if not declared and not hasattr(view, "serializer_class"):
            return OpenApiTypes.OBJECT
        return super()._get_serializer()

    def _get_response_bodies(self, direction="response"):
        """Open WebUI answers every success with a 200 and a JSON body (a delete answers `true`), never
        drf-spectacular's default 201 for creates or 204 for deletes."""
        found = self.get_response_serializers()
        if found is None or isinstance(found, dict):
            return super()._get_response_bodies(direction)
        return {"200": self._get_response_for_code(found, "200", direction=direction)}


def documented(**operations):
    """Documents a plain Django view: `operations` maps a lower-case HTTP method to extend_schema's
    keyword arguments (request, responses, parameters, auth, summary...). Applied outermost."""

    def wrap(view):
        handlers = {}
        for method, schema in operations.items():
            def handler(self, request, *args, **kwargs):  # never called: the URLConf routes to `view`
                raise NotImplementedError

            handlers[method] = extend_schema(**schema)(handler)
        view.cls = type(f"{view.__name__}_documentation", (APIView,), {"__doc__": view.__doc__, **handlers})
        view.initkwargs = {}
        return view

    return wrap


def object_bodies(result, generator, request, public):
    """POSTPROCESSING_HOOKS entry: a free-form object body where a write has none documented."""
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method in ("post", "put", "patch") and "requestBody" not in operation:
                operation["requestBody"] = ANY_OBJECT
    return result
