"""/openapi.json documents every route with request and response schemas and generates with no
warning; /docs is served with Swagger UI's files from here, under our Content-Security-Policy (the
Chromium test that renders it offline is tests/test_browser_docs.py)."""

import re

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator

# URL patterns that are pages or the documentation itself, not API routes.
NOT_API = re.compile(r"^/(admin/|docs$|openapi\.json$|$)")
WRITES = ("post", "put", "patch")


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _url_paths(patterns=None, prefix="^") -> list[str]:
    """Every URL pattern of the URLConf, in OpenAPI's `/a/{param}` form."""
    enumerator = EndpointEnumerator()
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        regex = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _url_paths(pattern.url_patterns, regex)
        elif isinstance(pattern, URLPattern):
            found.append(enumerator.get_path_from_regex(regex))
    return found


def test_schema_generation_gives_no_warning(tmp_path):
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yaml"))


def test_every_url_pattern_is_in_the_schema(schema):
    paths = [p for p in _url_paths() if not NOT_API.match(p)]
    assert len(paths) > 50
    missing = sorted(set(paths) - set(schema["paths"]))
    assert not missing, f"URL patterns missing from /openapi.json: {missing}"


def test_every_operation_documents_its_request_and_response(schema):
    undocumented = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in WRITES and "content" not in operation.get("requestBody", {}):
                undocumented.append(f"{method.upper()} {path}: no request body")
            ok = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
            if not any("content" in r for r in ok.values()):
                undocumented.append(f"{method.upper()} {path}: no response body")
    assert not undocumented, "\n".join(undocumented)


@pytest.mark.parametrize(("path", "method", "fields"), [
    ("/api/chat/completions", "post", {"model", "messages", "stream"}),
    ("/api/v1/chat/completions", "post", {"model", "messages", "stream"}),
    ("/ollama/api/chat", "post", {"model", "messages", "stream"}),
    ("/openai/embeddings", "post", {"model", "input"}),
])
def test_wire_protocol_routes_document_their_request_fields(schema, path, method, fields):
    reference = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][reference.rsplit("/", 1)[1]]
    assert fields <= set(component["properties"])


def test_chat_completions_document_the_json_answer_and_the_event_stream(schema):
    answer = schema["paths"]["/api/chat/completions"]["post"]["responses"]["200"]["content"]
    assert set(answer) == {"application/json", "text/event-stream"}


def test_models_list_documents_its_entries(schema):
    answer = schema["paths"]["/api/models"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    model_list = schema["components"]["schemas"][answer["$ref"].rsplit("/", 1)[1]]
    assert "data" in model_list["properties"]


def test_docs_page_loads_swagger_ui_from_this_server_only(api):
    response = api.get("/docs")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "http" not in policy
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    for source in sources:
        assert api.get(source).status_code == 200, source
