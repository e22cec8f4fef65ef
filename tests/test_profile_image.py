"""Profile images cannot carry script (stored XSS through /users/{id}/profile/image): only raster
data URLs and http(s) URLs are accepted, and what the API serves may not run anything; our HTML
pages have a Content-Security-Policy."""

import base64

import pytest

from accounts.models import User
from tests import factories
from tests.conftest import PASSWORD, bearer

SVG = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(localStorage.token)"/>').decode()
PNG_BYTES = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
PNG = "data:image/png;base64," + base64.b64encode(PNG_BYTES).decode()
REFUSED = [
    f"data:image/svg+xml;base64,{SVG}",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:image/png;base64,not base64!",
    "javascript:alert(1)",
    "/api/v1/auths/signout",
]


@pytest.mark.parametrize("url", REFUSED)
def test_signup_refuses_anything_but_raster_or_web_images(api, admin, url):
    response = api.post("/api/v1/auths/signup", json={"name": "Eve", "email": "eve@example.com", "password": PASSWORD,
                                                      "profile_image_url": url})
    assert response.status_code == 400, response.text
    assert "profile_image_url must be a PNG, JPEG, GIF or WebP data URL" in response.json()["detail"]
    assert not User.objects.filter(email="eve@example.com").exists()


@pytest.mark.parametrize("url", REFUSED)
def test_profile_updates_refuse_it_and_keep_the_stored_image(api, admin, user, url):
    headers = bearer(user["token"])
    assert api.post("/api/v1/auths/update/profile", json={"name": "Bob", "profile_image_url": PNG}, headers=headers).status_code == 200
    response = api.post("/api/v1/auths/update/profile", json={"name": "Bob", "profile_image_url": url}, headers=headers)
    assert response.status_code == 400 and "profile_image_url" in response.json()["detail"]
    response = api.post(f"/api/v1/users/{user['id']}/update", json={"profile_image_url": url}, headers=bearer(admin["token"]))
    assert response.status_code == 400 and "profile_image_url" in response.json()["detail"]
    assert User.objects.get(id=user["id"]).profile_image_url == PNG


def test_raster_images_are_served_as_such_and_web_urls_redirect(api, admin, user):
    headers = bearer(user["token"])
    api.post("/api/v1/auths/update/profile", json={"name": "Bob", "profile_image_url": PNG}, headers=headers)
    image = api.get(f"/api/v1/users/{user['id']}/profile/image", headers=headers)
    assert image.status_code == 200 and image.content == PNG_BYTES
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert image.headers["x-content-type-options"] == "nosniff"
    api.post("/api/v1/auths/update/profile", json={"name": "Bob", "profile_image_url": "https://img.example.com/b.png"},
             headers=headers)
    redirect = api.get(f"/api/v1/users/{user['id']}/profile/image", headers=headers)
    assert redirect.status_code == 302 and redirect.headers["location"] == "https://img.example.com/b.png"
    api.post("/api/v1/auths/update/profile", json={"name": "Bob", "profile_image_url": ""}, headers=headers)
    assert User.objects.get(id=user["id"]).profile_image_url == "/user.png"


def test_an_svg_stored_before_the_check_is_never_served(api, admin, user):
    User.objects.filter(id=user["id"]).update(profile_image_url=f"data:image/svg+xml;base64,{SVG}")
    image = api.get(f"/api/v1/users/{user['id']}/profile/image", headers=bearer(admin["token"]))
    assert image.status_code == 200
    assert b"onload" not in image.content and b"<svg" in image.content  # the default avatar
    assert image.headers["content-security-policy"] == "default-src 'none'; sandbox"


def test_a_huge_image_is_413(api, user):
    huge = "data:image/png;base64," + "A" * (1024 * 1024)
    response = api.post("/api/v1/auths/update/profile", json={"name": "Bob", "profile_image_url": huge},
                        headers=bearer(user["token"]))
    assert response.status_code == 413 and "too large" in response.json()["detail"]


def test_a_long_real_image_fits(api):
    big = "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8" + b"x" * 60_000).decode()
    session = factories.session(factories.admin(name="Ada"))
    response = api.post("/api/v1/auths/update/profile", json={"name": "Ada", "profile_image_url": big},
                        headers=bearer(session["token"]))
    assert response.status_code == 200, response.text
    image = api.get(f"/api/v1/users/{session['id']}/profile/image", headers=bearer(session["token"]))
    assert image.headers["content-type"] == "image/jpeg" and image.content.startswith(b"\xff\xd8")


def test_pages_have_a_content_security_policy(api):
    chat = api.get("/")
    policy = chat.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    login = api.get("/admin/login/")
    policy = login.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in policy and "object-src 'none'" in policy
    assert policy != api.get("/admin/login/").headers["content-security-policy"]  # a fresh nonce each time
    assert "content-security-policy" not in api.get("/static/chat/chat.js").headers
