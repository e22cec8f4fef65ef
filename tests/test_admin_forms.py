"""Crafted admin form posts fail validation; they never crash the admin."""

import pytest
from django.test import Client

from accounts.models import User


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url", ["/admin/accounts/apikey/add/", "/admin/files/file/add/", "/admin/knowledge/knowledgebase/add/"])
def test_a_non_uuid_user_id_is_a_form_error(url):
    admin = User.objects.create_user("root@example.com", "pw", name="Root", role="admin")
    client = Client()
    client.force_login(admin)
    response = client.post(url, {"user": "not-a-uuid", "name": "x"})
    assert response.status_code == 200  # the form again, with its errors
    assert b"errornote" in response.content or b"errorlist" in response.content
