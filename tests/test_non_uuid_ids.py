"""Issue 12 item 6: an id that is not a UUID, wherever it names an object (path or body), is answered
like any unknown id (404 or 400 with a readable detail), never with a router-level 404 or a 422.
The path routes are read from the URLconf, so a route added later is covered as it comes."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from config.common.routers import ObjectIdConverter
from tests.conftest import bearer

BAD = "not-a-uuid"
ROUTER_LEVEL = "Not Found"  # what an unmatched URL answers (config.common.middleware)
# a body every route accepts the shape of, so that what is answered is the id's fate, not the body's
BODY = {"file_id": BAD, "name": "x", "description": "x", "filename": "x", "content": "x", "access_grants": []}


def _walk(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


def _methods(callback) -> list[str]:
    actions = getattr(callback, "actions", None)
    if actions:
        return sorted(m.upper() for m in actions)
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    return sorted(m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m))


def _object_routes():
    """(method, url) for every API route with an object id in its path, that id set to BAD."""
    cases = []
    for route, pattern in _walk(get_resolver().url_patterns):
        converters = getattr(pattern.pattern, "converters", {})
        if not route.startswith("api/") or not any(isinstance(c, ObjectIdConverter) for c in converters.values()):
            continue
        url = "/" + route
        for name, converter in converters.items():
            value = BAD if isinstance(converter, ObjectIdConverter) else "x.txt"
            url = url.replace(f"<{'id' if isinstance(converter, ObjectIdConverter) else 'str'}:{name}>", value)
        cases += [(method, url) for method in _methods(pattern.callback)]
    return cases


OBJECT_ROUTES = _object_routes()


def test_every_object_route_is_covered():
    """The families of this branch are all found (a regression in the walk would silently test nothing)."""
    urls = {url for _, url in OBJECT_ROUTES}
    for expected in (f"/api/v1/files/{BAD}", f"/api/v1/knowledge/{BAD}/files", f"/api/v1/knowledge/{BAD}/dirs/{BAD}/update",
                     f"/api/v1/users/{BAD}", f"/api/v1/auths/api_keys/{BAD}"):
        assert expected in urls
    assert len(OBJECT_ROUTES) > 30


@pytest.mark.parametrize("method,url", OBJECT_ROUTES, ids=[f"{m} {u}" for m, u in OBJECT_ROUTES])
def test_a_non_uuid_id_in_the_path_answers_as_an_unknown_id(api, admin, method, url):
    response = api.request(method, url, json=BODY, headers=bearer(admin["token"]))
    assert response.status_code in (400, 404), response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail and detail != ROUTER_LEVEL


def test_files_and_knowledge_answer_a_non_uuid_like_open_webui(api, admin):
    response = api.get(f"/api/v1/files/{BAD}", headers=bearer(admin["token"]))
    assert response.status_code == 404 and response.json() == {"detail": "We could not find what you're looking for :/"}
    response = api.get(f"/api/v1/knowledge/{BAD}", headers=bearer(admin["token"]))
    assert response.status_code == 404 and response.json() == {"detail": "We could not find what you're looking for :/"}


def _collection(api, token) -> str:
    return api.post("/api/v1/knowledge/create", json={"name": "KB", "description": ""}, headers=bearer(token)).json()["id"]


@pytest.mark.parametrize("path,body,status", [
    ("file/add", {"file_id": BAD}, 400),
    ("files/batch/add", [{"file_id": BAD}], 400),
    ("file/remove", {"file_id": BAD}, 400),
    ("file/update", {"file_id": BAD}, 400),
    ("file/move", {"file_id": BAD}, 404),
    ("dirs/create", {"name": "d", "parent_id": BAD}, 404),
])
def test_a_non_uuid_id_in_a_knowledge_body_answers_as_an_unknown_id(api, admin, path, body, status):
    kb_id = _collection(api, admin["token"])
    response = api.post(f"/api/v1/knowledge/{kb_id}/{path}", json=body, headers=bearer(admin["token"]))
    assert response.status_code == status, response.text
    assert "UUID" not in response.json()["detail"]


@pytest.mark.parametrize("path,body", [
    ("process/file", {"file_id": BAD}),
    ("delete", {"collection_name": "x", "file_id": BAD}),
])
def test_a_non_uuid_id_in_a_retrieval_body_answers_as_an_unknown_id(api, admin, path, body):
    response = api.post(f"/api/v1/retrieval/{path}", json=body, headers=bearer(admin["token"]))
    assert response.status_code == 404 and response.json()["detail"]
