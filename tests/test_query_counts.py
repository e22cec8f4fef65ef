"""List endpoints make a bounded number of queries, whatever the number of rows (no N+1).
Run in-process (Django's test client) so the queries can be counted."""

from accounts import api_keys
from accounts.models import AccessGrant, User
from models_registry.models import Model


def _admin_with_key():
    admin = User.objects.create_user("admin@example.com", "pw", name="Admin", role="admin")
    return admin, {"HTTP_AUTHORIZATION": f"Bearer {api_keys.create(user=admin, name='t')[1]}"}


def test_user_list_queries_do_not_grow(client, django_assert_max_num_queries):
    admin, headers = _admin_with_key()
    for i in range(25):
        User.objects.create_user(f"u{i}@example.com", "pw", name=f"U{i}", role="user")
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/users/", **headers)
    assert response.json()["total"] == 26


def test_preset_list_queries_do_not_grow(client, django_assert_max_num_queries):
    admin, headers = _admin_with_key()
    for i in range(25):
        Model.objects.create(id=f"p{i}", base_model_id="base", name=f"P{i}", user=admin)
        AccessGrant.objects.create(resource_type="model", resource_id=f"p{i}", principal_id="*", permission="read")
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/models/list", **headers)
    assert response.json()["total"] == 25
    assert all(item["access_grants"] for item in response.json()["items"])


def test_api_key_list_queries_do_not_grow(client, django_assert_max_num_queries):
    admin, headers = _admin_with_key()
    for i in range(20):
        api_keys.create(user=admin, name=f"k{i}")
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/auths/api_keys", **headers)
    assert len(response.json()) == 21
