"""What /openapi.json says beyond what drf-spectacular finds by itself: our bearer authentication,
and a JSON object body for every write that does not declare its own (so clients and the schema
fuzzer in tests/test_schema_fuzz.py know these operations take one)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ANY_OBJECT = {"content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}}}


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A JWT session or an `sk-` API key"}


def object_bodies(result, generator, request, public):
    """POSTPROCESSING_HOOKS entry: a free-form object body where a write has none documented."""
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method in ("post", "put", "patch") and "requestBody" not in operation:
                operation["requestBody"] = ANY_OBJECT
    return result
