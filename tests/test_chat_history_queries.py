"""Chat history lists make a bounded number of queries, whatever the number of chats, and the admin's
chat pages too. In-process (Django's test client) so the queries can be counted."""

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import api_keys
from accounts.models import User
from chat.models import Chat, Folder, Tag
from tests.helpers import chat_body as body

LISTS = ["/api/v1/chats/", "/api/v1/chats/list?page=1", "/api/v1/chats/search?text=refund", "/api/v1/chats/pinned",
         "/api/v1/chats/archived", "/api/v1/chats/all/archived", "/api/v1/chats/all/tags", "/api/v1/chats/shared",
         "/api/v1/chats/stats/usage", "/api/v1/folders/", "/api/v1/chats/all/db"]


def _rows(owner, n):
    folder = Folder.objects.create(user=owner, name=f"Folder {Folder.objects.count()}")
    now = timezone.now()
    for i in range(n):
        Chat.objects.create(user=owner, title=f"Refund {i}", chat=body(), meta={"tags": ["work"]}, pinned=i % 3 == 0,
                            archived=i % 4 == 0, folder=folder if i % 5 == 0 else None, created_at=now, updated_at=now)
    Tag.objects.get_or_create(user=owner, tag_id="work", defaults={"name": "work"})


def _counts(client, headers, urls):
    counts = {}
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.content)
        counts[url] = len(captured.captured_queries)
    return counts


def test_chat_and_folder_lists_query_count_does_not_grow_with_chats(client):
    admin = User.objects.create_user("admin@example.com", "pw", name="Admin", role="admin")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_keys.create(user=admin, name='t')[1]}"}
    _rows(admin, 3)
    _counts(client, headers, LISTS)  # warm: the key's last use and the settings are written and read once
    few = _counts(client, headers, LISTS)
    _rows(admin, 30)
    assert _counts(client, headers, LISTS) == few


def test_admin_chat_pages_query_count_does_not_grow_with_chats():
    admin = User.objects.create_user("root@example.com", "pw", name="Root", role="admin")
    client = Client()
    client.force_login(admin)
    pages = ["/admin/chat/chat/", "/admin/chat/chat/?q=refund", f"/admin/chat/chat/?user__id__exact={admin.pk}"]
    _rows(admin, 3)
    _counts(client, {}, pages)
    few = _counts(client, {}, pages)
    for i in range(5):
        _rows(User.objects.create_user(f"u{i}@example.com", "pw", name=f"U{i}", role="user"), 6)
    assert _counts(client, {}, pages) == few


def test_the_admin_shows_a_chat_read_only_and_deletes_it():
    admin = User.objects.create_user("root@example.com", "pw", name="Root", role="admin")
    client = Client()
    client.force_login(admin)
    chat = Chat.objects.create(user=admin, title="Support case", chat=body(answer="<b>bold</b> answer"))
    page = client.get(f"/admin/chat/chat/{chat.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt; answer" in html and 'name="title"' not in html  # shown, escaped, not editable
    assert client.post(f"/admin/chat/chat/{chat.pk}/change/", {"title": "changed"}).status_code == 403
    assert client.get("/admin/chat/chat/add/").status_code == 403
    assert client.post(f"/admin/chat/chat/{chat.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Chat.objects.exists()
