"""The Django admin over real HTTP: sign in, approve users, create a key and see it once."""

import re

import httpx
import pytest

from accounts.models import ApiKey, User
from tests import factories
from tests.conftest import PASSWORD


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.fixture
def browser(gateway, admin):
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        page = client.get("/admin/login/")
        response = client.post(
            "/admin/login/?next=/admin/",
            data={"csrfmiddlewaretoken": _csrf(page.text), "username": admin["email"], "password": PASSWORD, "next": "/admin/"},
        )
        assert response.status_code == 302, response.text
        yield client


def test_non_admin_cannot_sign_in_to_the_admin(gateway, user):
    with httpx.Client(base_url=gateway.url) as client:
        page = client.get("/admin/login/")
        response = client.post(
            "/admin/login/", data={"csrfmiddlewaretoken": _csrf(page.text), "username": user["email"], "password": PASSWORD}
        )
        assert response.status_code == 200
        assert "staff account" in response.text


def test_admin_approves_pending_users_in_bulk(api, browser):
    pending = [factories.session(factories.pending(name=f"P{i}")) for i in range(2)]
    page = browser.get("/admin/accounts/user/?role__exact=pending")
    assert all(p["email"] in page.text for p in pending)
    response = browser.post(
        "/admin/accounts/user/",
        data={"csrfmiddlewaretoken": _csrf(page.text), "action": "approve", "_selected_action": [p["id"] for p in pending]},
    )
    assert response.status_code == 302
    assert set(User.objects.filter(id__in=[p["id"] for p in pending]).values_list("role", flat=True)) == {"user"}


def test_admin_creates_a_key_and_sees_it_once(api, browser, user):
    page = browser.get("/admin/accounts/apikey/add/")
    response = browser.post(
        "/admin/accounts/apikey/add/",
        data={
            "csrfmiddlewaretoken": _csrf(page.text),
            "user": user["id"],
            "name": "from-admin",
            "expires_at_0": "",
            "expires_at_1": "",
            "allowed_paths": "/api/version\n/api/models",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    plaintext = re.search(r'id="new-api-key">(sk-[0-9a-f]{32})<', response.text).group(1)
    key = ApiKey.objects.get(name="from-admin")
    assert key.allowed_paths == ["/api/version", "/api/models"]
    assert plaintext not in browser.get("/admin/accounts/apikey/").text
    assert plaintext not in browser.get(f"/admin/accounts/apikey/{key.id}/change/").text
    assert api.get("/api/version/updates", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 200


def test_admin_revokes_a_key(api, browser, user):
    created = api.post("/api/v1/auths/api_keys", json={"name": "doomed"}, headers={"Authorization": f"Bearer {user['token']}"}).json()
    page = browser.get("/admin/accounts/apikey/")
    browser.post(
        "/admin/accounts/apikey/",
        data={"csrfmiddlewaretoken": _csrf(page.text), "action": "revoke", "_selected_action": [created["id"]]},
    )
    assert not ApiKey.objects.filter(id=created["id"]).exists()
    assert api.get("/api/version/updates", headers={"Authorization": f"Bearer {created['api_key']}"}).status_code == 401


def test_admin_pages_render(browser):
    for path in ["/admin/", "/admin/accounts/user/", "/admin/accounts/apikey/", "/admin/accounts/user/add/", "/admin/config/runtimesetting/"]:
        assert browser.get(path).status_code == 200, path


def test_admin_cannot_save_an_invalid_runtime_setting(browser):
    page = browser.get("/admin/config/runtimesetting/add/")
    response = browser.post(
        "/admin/config/runtimesetting/add/",
        data={"csrfmiddlewaretoken": _csrf(page.text), "key": "DEFAULT_USER_ROLE", "value": '"king"'},
    )
    assert response.status_code == 200
    assert "Invalid value" in response.text


def test_admin_static_files_are_served(gateway):
    response = httpx.get(f"{gateway.url}/static/admin/css/base.css")
    assert response.status_code == 200
    assert "text/css" in response.headers["content-type"]


def test_admin_uploads_a_file_and_it_completes(browser, admin):
    import time

    from files.models import File

    page = browser.get("/admin/files/file/add/")
    response = browser.post("/admin/files/file/add/", data={"csrfmiddlewaretoken": _csrf(page.text), "user": admin["id"]},
                            files={"upload": ("guide.txt", b"admin upload MARKER", "text/plain")})
    assert response.status_code == 302, response.text[:2000]
    file = File.objects.get(filename="guide.txt")
    deadline = time.monotonic() + 20
    while File.objects.get(pk=file.pk).status != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    for path in ["/admin/files/file/", f"/admin/files/file/{file.pk}/change/", "/admin/knowledge/knowledgebase/",
                 "/admin/knowledge/knowledgebase/add/"]:
        assert browser.get(path).status_code == 200, path
