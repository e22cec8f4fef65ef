import time

import httpx
import jwt
import pytest

from accounts.models import User
from tests.conftest import PASSWORD, bearer, signup
from tests.server import TEST_SECRET, LiveServer


def test_first_user_becomes_admin_and_signup_closes(api):
    first = signup(api, "Ada", "Ada@Example.COM")
    assert first["role"] == "admin"
    assert first["email"] == "ada@example.com"
    assert first["token_type"] == "Bearer"
    response = api.post("/api/v1/auths/signup", json={"name": "Eve", "email": "eve@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert "detail" in response.json()


def test_later_signups_get_the_default_role_pending(api, admin):
    later = signup(api, "Bob")
    assert later["role"] == "pending"
    assert User.objects.get(id=later["id"]).role == "pending"


def test_default_user_role_setting_applies_to_new_signups(api, admin):
    api.post("/api/v1/auths/admin/config", json={"DEFAULT_USER_ROLE": "user"}, headers=bearer(admin["token"]))
    assert signup(api, "Bob")["role"] == "user"


def test_signin_returns_a_session_and_sets_the_cookie(api, admin):
    response = api.post("/api/v1/auths/signin", json={"email": admin["email"], "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"token", "token_type", "expires_at", "id", "email", "name", "role", "profile_image_url", "permissions"}
    assert body["profile_image_url"] == f"/api/v1/users/{admin['id']}/profile/image"
    cookie = response.headers["set-cookie"]
    assert "token=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_signin_with_wrong_password_is_400(api, admin):
    response = api.post("/api/v1/auths/signin", json={"email": admin["email"], "password": "wrong"})
    assert response.status_code == 400
    assert "incorrect" in response.json()["detail"]


def _signin(api, email, password, address):
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 (its default FORWARDED_ALLOW_IPS), as from a local proxy
    return api.post("/api/v1/auths/signin", json={"email": email, "password": password},
                    headers={"X-Forwarded-For": address})


def test_a_stranger_cannot_lock_the_owner_out(api, admin, gateway):
    attacker, owner = "203.0.113.66", "198.51.100.7"
    statuses = [_signin(api, admin["email"], "wrong", attacker).status_code for _ in range(17)]
    assert statuses[:15] == [400] * 15 and statuses[15:] == [429, 429]
    assert _signin(api, admin["email"], PASSWORD, attacker).status_code == 429  # that address has been failing
    assert _signin(api, admin["email"], PASSWORD, owner).status_code == 200  # the owner elsewhere is not
    assert _signin(api, admin["email"], "wrong", owner).status_code == 400
    log = gateway.log.read_text()
    assert f"Sign-in locked out for {admin['email']} from {attacker}" in log
    assert owner not in log


def test_one_address_trying_many_emails_is_limited(api, admin, gateway):
    sprayer = "203.0.113.99"
    statuses = [_signin(api, f"victim{i}@example.com", "guess", sprayer).status_code for i in range(101)]
    assert statuses[:100] == [400] * 100 and statuses[100] == 429
    assert _signin(api, "fresh@example.com", "guess", sprayer).status_code == 429
    assert _signin(api, admin["email"], PASSWORD, "203.0.113.100").status_code == 200
    assert f"from {sprayer}: 1 failures for this email, 100 from this address" in gateway.log.read_text()


def test_signin_is_rate_limited_per_email(api, admin):
    statuses = [
        api.post("/api/v1/auths/signin", json={"email": "brute@example.com", "password": "x"}).status_code for _ in range(16)
    ]
    assert statuses[:15] == [400] * 15
    assert statuses[15] == 429
    response = api.post("/api/v1/auths/signin", json={"email": "brute@example.com", "password": "x"})
    assert response.json() == {"detail": "API rate limit exceeded"}
    # another email is not affected
    assert api.post("/api/v1/auths/signin", json={"email": admin["email"], "password": PASSWORD}).status_code == 200


def test_expires_at_follows_jwt_expires_in(api, admin):
    headers = bearer(admin["token"])
    api.post("/api/v1/auths/admin/config", json={"JWT_EXPIRES_IN": "1h30m"}, headers=headers)
    session = api.post("/api/v1/auths/signin", json={"email": admin["email"], "password": PASSWORD}).json()
    assert abs(session["expires_at"] - (time.time() + 5400)) < 10
    api.post("/api/v1/auths/admin/config", json={"JWT_EXPIRES_IN": "-1"}, headers=headers)
    session = api.post("/api/v1/auths/signin", json={"email": admin["email"], "password": PASSWORD}).json()
    assert session["expires_at"] is None
    assert api.get("/api/v1/auths/", headers=bearer(session["token"])).json()["expires_at"] is None


def test_expired_jwt_is_refused(api, admin):
    claims = jwt.decode(admin["token"], TEST_SECRET, algorithms=["HS256"])
    claims["exp"] = int(time.time()) - 5
    expired = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    response = api.get("/api/v1/auths/", headers=bearer(expired))
    assert response.status_code == 401
    assert response.json() == {"detail": "401 Unauthorized"}


def test_jwt_signed_with_another_key_is_refused(api, admin):
    claims = jwt.decode(admin["token"], TEST_SECRET, algorithms=["HS256"])
    forged = jwt.encode({**claims, "id": admin["id"]}, "not-the-secret-but-just-as-long-as-the-real-one", algorithm="HS256")
    assert api.get("/api/v1/auths/", headers=bearer(forged)).status_code == 401


def test_garbage_token_is_401(api):
    assert api.get("/api/version/updates", headers=bearer("garbage")).status_code == 401


def test_no_token_is_401_not_authenticated(api):
    response = api.get("/api/version/updates")
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}


def test_session_endpoint_returns_the_user(api, admin):
    body = api.get("/api/v1/auths/", headers=bearer(admin["token"])).json()
    assert body["id"] == admin["id"]
    assert body["profile_image_url"] == "/user.png"
    assert body["token"] == admin["token"]
    assert "bio" in body


def test_cookie_authenticates(api, admin):
    response = api.get("/api/v1/auths/", headers={"Cookie": f"token={admin['token']}"})
    assert response.json()["id"] == admin["id"]


def test_signout_revokes_that_token_only(api, admin):
    other = api.post("/api/v1/auths/signin", json={"email": admin["email"], "password": PASSWORD}).json()
    response = api.post("/api/v1/auths/signout", headers=bearer(admin["token"]))
    assert response.json() == {"status": True}
    assert api.get("/api/v1/auths/", headers=bearer(admin["token"])).status_code == 401
    assert api.get("/api/v1/auths/", headers=bearer(other["token"])).status_code == 200


def test_password_change_kills_sessions_but_not_api_keys(api, admin):
    key = api.post("/api/v1/auths/api_key", headers=bearer(admin["token"])).json()["api_key"]
    response = api.post(
        "/api/v1/auths/update/password",
        json={"password": PASSWORD, "new_password": "another secret 2"},
        headers=bearer(admin["token"]),
    )
    assert response.status_code == 200
    response = api.get("/api/v1/auths/", headers=bearer(admin["token"]))
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token"}
    assert api.get("/api/version/updates", headers=bearer(key)).status_code == 200
    new = api.post("/api/v1/auths/signin", json={"email": admin["email"], "password": "another secret 2"})
    assert new.status_code == 200


def test_wrong_current_password_is_refused(api, admin):
    response = api.post(
        "/api/v1/auths/update/password", json={"password": "nope", "new_password": "x2"}, headers=bearer(admin["token"])
    )
    assert response.status_code == 400


def test_deleted_user_token_is_refused(api, admin, user):
    api.delete(f"/api/v1/users/{user['id']}", headers=bearer(admin["token"]))
    assert api.get("/api/v1/auths/", headers=bearer(user["token"])).status_code == 401


def test_pending_user_can_sign_in_but_use_nothing(api, admin):
    pending = signup(api, "Pat")
    assert api.get("/api/v1/auths/", headers=bearer(pending["token"])).status_code == 200
    response = api.get("/api/version/updates", headers=bearer(pending["token"]))
    assert response.status_code == 401
    assert api.post("/api/v1/auths/api_key", headers=bearer(pending["token"])).status_code == 403


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "a@example.com"}, {"name": "x", "email": "a@example.com"}, {"name": "x", "password": "p"}],
)
def test_signup_with_missing_fields_is_422(api, body):
    response = api.post("/api/v1/auths/signup", json=body)
    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid authentication request."}


def test_signup_with_bad_email_is_400(api):
    response = api.post("/api/v1/auths/signup", json={"name": "x", "email": "not-an-email", "password": PASSWORD})
    assert response.status_code == 400
    assert "email" in response.json()["detail"].lower()


def test_signup_with_taken_email_is_400(api, admin):
    response = api.post("/api/v1/auths/signup", json={"name": "x", "email": admin["email"].upper(), "password": PASSWORD})
    assert response.status_code == 400
    assert User.objects.count() == 1


def test_signup_with_too_long_password_is_400(api):
    response = api.post("/api/v1/auths/signup", json={"name": "x", "email": "a@example.com", "password": "é" * 40})
    assert response.status_code == 400
    assert User.objects.count() == 0


def test_passwords_are_hashed_with_argon2(database_url, tmp_path):
    """In production: a server on the production settings (the suite's own use a fast hasher)."""
    server = LiveServer(database_url=database_url, data_dir=tmp_path, env={"DJANGO_SETTINGS_MODULE": "config.settings"})
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            session = signup(client, "Ada")
            assert User.objects.get(id=session["id"]).password.startswith("argon2$argon2id$")
            signin = client.post("/api/v1/auths/signin", json={"email": session["email"], "password": PASSWORD})
            assert signin.status_code == 200
    finally:
        server.stop()


def test_the_suite_servers_hash_with_the_test_settings(api):
    session = signup(api, "Ada")
    assert User.objects.get(id=session["id"]).password.startswith("md5$")


def test_public_config_onboarding_then_features(api):
    assert api.get("/api/config").json()["onboarding"] is True
    session = signup(api, "Ada")
    anonymous = api.get("/api/config").json()
    assert anonymous["onboarding"] is False
    assert anonymous["features"]["enable_signup"] is False
    assert "enable_api_keys" not in anonymous["features"]
    signed_in = api.get("/api/config", headers=bearer(session["token"])).json()
    assert signed_in["features"]["enable_api_keys"] is True
    assert "permissions" in signed_in
