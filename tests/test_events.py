"""Events: admin-registered webhooks get signed JSON through the durable job queue (retried when the
receiver fails, never failing the upload), and GET /api/events streams the caller's own events."""

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from config.events import signing
from models_registry.models import Connection
from tests.conftest import bearer
from tests.helpers import upload, wait_done
from tests.server import free_port


class Receiver:
    """A local webhook receiver: answers `statuses` in turn (then 200) and keeps what it got."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.received: queue.Queue = queue.Queue()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.received.put((dict(self.headers), body))
                self.send_response(owner.statuses.pop(0) if owner.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout=20) -> tuple[dict, bytes]:
        return self.received.get(timeout=timeout)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=()):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.stop()


class Feed(threading.Thread):
    """GET /api/events read in the background: its parsed events."""

    def __init__(self, url: str, token: str):
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.events: queue.Queue = queue.Queue()
        self.opened = threading.Event()
        self.status = None

    def run(self):
        headers = {**bearer(self.token), "Accept": "text/event-stream"}
        with httpx.stream("GET", self.url + "/api/events", headers=headers, timeout=httpx.Timeout(5, read=30)) as response:
            self.status = response.status_code
            self.opened.set()
            kind = None
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    self.events.put((kind, json.loads(line[6:])))

    def types_within(self, seconds: float) -> list[tuple[str, dict]]:
        found, deadline = [], time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                found.append(self.events.get(timeout=left))
            except queue.Empty:
                break
        return found

    def next(self, timeout=20):
        return self.events.get(timeout=timeout)


def _feed(gateway, token) -> Feed:
    feed = Feed(gateway.url, token)
    feed.start()
    assert feed.opened.wait(10) and feed.status == 200
    return feed


def _register(api, admin, url, **fields) -> dict:
    response = api.post("/api/events/webhooks", json={"url": url, **fields}, headers=bearer(admin["token"]))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_webhook_gets_a_correctly_signed_file_completed_after_an_upload(api, admin, user, receiver):
    hook_receiver = receiver()
    hook = _register(api, admin, hook_receiver.url, name="ops", events=["file.completed"])
    file_id = upload(api, user["token"]).json()["id"]
    headers, body = hook_receiver.next()
    assert signing.verify(hook["secret"], body, headers[signing.TIMESTAMP], headers[signing.SIGNATURE])
    assert not signing.verify(hook["secret"] + "x", body, headers[signing.TIMESTAMP], headers[signing.SIGNATURE])
    event = json.loads(body)
    assert (event["type"], headers[signing.EVENT], headers[signing.EVENT_ID]) == ("file.completed", "file.completed", event["id"])
    assert event["data"] == {"id": file_id, "filename": "notes.txt", "status": "completed", "error": ""}
    assert event["user_id"] == user["id"]


def test_a_failing_receiver_is_retried_and_the_upload_is_unaffected(api, admin, user, receiver):
    hook_receiver = receiver(statuses=[500, 503])
    hook = _register(api, admin, hook_receiver.url)
    file_id = upload(api, user["token"]).json()["id"]
    assert wait_done(api, user["token"], file_id) == "completed"
    deliveries = [hook_receiver.next(timeout=30) for _ in range(3)]  # two failures, then accepted
    assert len({headers[signing.EVENT_ID] for headers, _ in deliveries}) == 1
    for headers, body in deliveries:
        assert signing.verify(hook["secret"], body, headers[signing.TIMESTAMP], headers[signing.SIGNATURE])
    time.sleep(1.5)
    assert hook_receiver.received.empty(), "an accepted delivery is not sent again"


def test_an_unreachable_receiver_never_fails_the_upload(api, admin, user):
    _register(api, admin, f"http://127.0.0.1:{free_port()}/gone")
    file_id = upload(api, user["token"]).json()["id"]
    assert wait_done(api, user["token"], file_id) == "completed"


def test_the_feed_shows_the_users_own_file_events_and_not_another_users(api, gateway, admin, user, make_user):
    other = make_user("Eve")
    mine, theirs = _feed(gateway, user["token"]), _feed(gateway, other["token"])
    file_id = upload(api, user["token"]).json()["id"]
    kind, event = mine.next()
    assert (kind, event["type"], event["data"]["id"]) == ("file.completed", "file.completed", file_id)
    their_file = upload(api, other["token"], name="theirs.txt").json()["id"]
    assert [e["data"]["id"] for _, e in theirs.types_within(5)] == [their_file]
    assert mine.types_within(1) == []


def test_the_feed_resumes_after_last_event_id(api, gateway, user):
    feed = _feed(gateway, user["token"])
    first = upload(api, user["token"], name="a.txt").json()["id"]
    _, seen = feed.next()
    second = upload(api, user["token"], name="b.txt").json()["id"]
    assert feed.next()[1]["data"]["id"] == second
    headers = {**bearer(user["token"]), "Last-Event-ID": seen["id"]}
    with httpx.stream("GET", gateway.url + "/api/events", headers=headers, timeout=10) as response:
        lines = response.iter_lines()
        data = next(json.loads(line[6:]) for line in lines if line.startswith("data: "))
    assert (seen["data"]["id"], data["data"]["id"]) == (first, second)


def test_admins_see_a_connection_going_down_on_their_feed_and_users_do_not(api, gateway, admin, user):
    admin_feed, user_feed = _feed(gateway, admin["token"]), _feed(gateway, user["token"])
    dead = Connection.objects.create(kind="openai", base_url=f"http://127.0.0.1:{free_port()}/v1")
    api.get("/api/models", headers=bearer(admin["token"]))
    kind, event = admin_feed.next()
    assert (kind, event["data"]["id"], event["user_id"]) == ("connection.down", dead.pk, None)
    assert event["data"]["error"]
    assert user_feed.types_within(1) == []


def test_webhooks_are_listed_updated_and_deleted_by_admins(api, admin):
    created = _register(api, admin, "http://127.0.0.1:9/a", events=["file.failed"])
    assert created["secret"].startswith("whsec_")
    listed = api.get("/api/events/webhooks", headers=bearer(admin["token"])).json()
    assert [(h["id"], h["events"], h["secret"]) for h in listed] == [(created["id"], ["file.failed"], created["secret"][:10] + "…")]
    updated = api.put(f"/api/events/webhooks/{created['id']}", json={"enabled": False, "events": []},
                      headers=bearer(admin["token"])).json()
    assert (updated["enabled"], updated["events"], updated["url"]) == (False, [], "http://127.0.0.1:9/a")
    assert api.delete(f"/api/events/webhooks/{created['id']}", headers=bearer(admin["token"])).json() == {"status": True}
    assert api.get("/api/events/webhooks", headers=bearer(admin["token"])).json() == []


def test_an_unknown_event_or_bad_url_is_refused(api, admin):
    bad = api.post("/api/events/webhooks", json={"url": "http://x.test/", "events": ["file.exploded"]}, headers=bearer(admin["token"]))
    assert bad.status_code == 400 and "Unknown event: file.exploded" in bad.json()["detail"]
    assert api.post("/api/events/webhooks", json={"url": "not a url"}, headers=bearer(admin["token"])).status_code == 400


@pytest.mark.parametrize("webhook_id", ["6f1c2a9e-0000-4000-8000-000000000001", "not-a-uuid"])
def test_an_unknown_webhook_is_404(api, admin, webhook_id):
    for method in ("PUT", "DELETE"):
        response = api.request(method, f"/api/events/webhooks/{webhook_id}", json={}, headers=bearer(admin["token"]))
        assert (response.status_code, response.json()) == (404, {"detail": "Webhook not found"})


def test_users_can_neither_list_create_change_nor_delete_webhooks(api, admin, user):
    created = _register(api, admin, "http://127.0.0.1:9/a")
    for method, path in (("GET", ""), ("POST", ""), ("PUT", f"/{created['id']}"), ("DELETE", f"/{created['id']}")):
        response = api.request(method, f"/api/events/webhooks{path}", json={"url": "http://x.test/"}, headers=bearer(user["token"]))
        assert response.status_code in (401, 403), (method, path)
    assert len(api.get("/api/events/webhooks", headers=bearer(admin["token"])).json()) == 1


def test_the_feed_needs_a_credential_and_json_callers_get_the_catalog(api, user):
    assert api.get("/api/events").status_code == 401
    catalog = api.get("/api/events", headers={**bearer(user["token"]), "Accept": "application/json"}).json()
    assert [e["type"] for e in catalog["events"]] == ["file.completed", "file.failed", "connection.down", "connection.up"]
