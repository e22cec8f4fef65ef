import pytest

from tests.conftest import bearer


def test_malformed_json_is_400(api):
    response = api.post("/api/v1/auths/signin", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_non_object_body_is_422(api, user):
    response = api.post("/api/v1/auths/api_keys", json=["a"], headers=bearer(user["token"]))
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str)


def test_validation_error_names_the_field(api, user):
    response = api.post("/api/v1/auths/api_keys", json={"name": "x", "allowed_paths": ["no-slash"]}, headers=bearer(user["token"]))
    assert response.status_code == 422
    assert response.json()["detail"].startswith("allowed_paths")


@pytest.mark.parametrize("path", ["/api/nothing-here", "/api/v1/nothing", "/ollama/x/y", "/api/v1/files/a/b/c/d"])
def test_unknown_routes_are_json_404_naming_the_route(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": f"No route: GET {path}"}


def test_an_unknown_object_is_not_reported_as_an_unknown_route(api, admin):
    response = api.get("/api/v1/files/00000000-0000-4000-8000-000000000000", headers=bearer(admin["token"]))
    assert response.status_code == 404
    assert not response.json()["detail"].startswith("No route")


def test_wrong_method_is_json_405(api):
    response = api.delete("/api/v1/auths/signin")
    assert response.status_code == 405
    assert "detail" in response.json()
    response = api.post("/api/version")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


def test_unsupported_media_type_is_415(api):
    response = api.post("/api/v1/auths/signin", content=b"email=a", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert "detail" in response.json()


def test_bad_uuid_in_path_is_answered_as_an_unknown_id(api, admin):
    bad = api.get("/api/v1/users/not-a-uuid", headers=bearer(admin["token"]))
    unknown = api.get("/api/v1/users/00000000-0000-4000-8000-000000000000", headers=bearer(admin["token"]))
    assert bad.status_code == unknown.status_code == 404 and bad.json() == unknown.json()


def test_openapi_schema_and_docs_are_served(api):
    schema = api.get("/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/auths/signin" in schema.json()["paths"]
    assert api.get("/docs").status_code == 200
