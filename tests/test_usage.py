"""The usage ledger, limits enforced at admission and API key scopes (DECISIONS #20, #21), through
the live server and the fake upstreams."""

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx

from accounts.models import ModelPrice, UsageLimit, UsageRecord
from tests import factories
from tests.conftest import bearer, connect
from tests.helpers import HELLO, chat, fresh_minute, upload, use_engine, wait_done, ws_frame, ws_url
from tests.server import LiveServer


def ledger(count: int = 1, timeout: float = 10) -> list[UsageRecord]:
    """The ledger once it holds `count` rows (it is written in batches, off the request path)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = list(UsageRecord.objects.order_by("created_at"))
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def sse(response) -> list[str]:
    return [line[6:] for line in response.iter_lines() if line.startswith("data: ")]


def limit(scope_type: str, scope_id, **fields) -> UsageLimit:
    return UsageLimit.objects.create(scope_type=scope_type, scope_id=str(scope_id), **fields)


# --- the ledger ----------------------------------------------------------------------------------


def test_a_json_completion_lands_in_the_ledger_with_the_upstreams_tokens(api, user, ollama):
    connect(ollama, name="local")
    factories.share("model", factories.preset(None, id="llama3.1:8b", base_model_id=None, name="Llama").id)
    assert chat(api, user["token"]).status_code == 200
    (row,) = ledger()
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (7, 3, 10)
    assert str(row.user_id) == user["id"] and row.api_key_id is None and row.model == "llama3.1:8b"
    assert row.connection == "local" and row.endpoint == "chat" and row.status == "ok"
    assert not row.streamed and not row.estimated and row.duration_ms > 0 and row.cost is None


def test_openai_streams_ask_for_usage_and_hide_it_from_clients_that_did_not(api, admin, openai_upstream):
    connect(openai_upstream)
    with api.stream("POST", "/api/chat/completions", json={"model": "gpt-4o", "messages": HELLO, "stream": True},
                    headers=bearer(admin["token"])) as response:
        events = sse(response)
    assert openai_upstream.last("/v1/chat/completions")["stream_options"] == {"include_usage": True}
    assert not any('"usage"' in e for e in events) and events[-1] == "[DONE]"
    (row,) = ledger()
    assert (row.prompt_tokens, row.completion_tokens) == (7, 3) and row.streamed and not row.estimated
    assert row.ttft_ms is not None and row.ttft_ms <= row.duration_ms


def test_a_client_that_asked_for_usage_still_gets_it(api, admin, openai_upstream):
    connect(openai_upstream)
    with api.stream("POST", "/api/chat/completions", headers=bearer(admin["token"]), json={
            "model": "gpt-4o", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}}) as response:
        events = sse(response)
    assert json.loads(events[-2])["usage"]["total_tokens"] == 10
    assert ledger()[0].total_tokens == 10


def test_an_api_key_call_is_priced_and_names_its_key(api, user, openai_upstream):
    connect(openai_upstream)
    ModelPrice.objects.create(model="gpt-4o", input_per_million=Decimal("2.5"), output_per_million=Decimal("10"))
    key, plaintext = factories.api_key(factories.admin(name="Ops"))
    assert chat(api, plaintext, model="gpt-4o").status_code == 200
    (row,) = ledger()
    assert row.api_key_id == key.id and row.user_id == key.user_id
    assert row.cost == Decimal("7") * Decimal("2.5") / 1_000_000 + Decimal("3") * 10 / 1_000_000


def test_websocket_generations_land_in_the_ledger(gateway, admin, ollama):
    from websockets.sync.client import connect as ws_connect

    connect(ollama)
    with ws_connect(ws_url(gateway, admin["token"])) as socket:
        assert ws_frame(socket.recv())["type"] == "ready"
        socket.send(json.dumps({"type": "chat", "id": "a", "body": {"model": "llama3.1:8b", "messages": HELLO}}))
        while ws_frame(socket.recv())["type"] != "done":
            pass
    (row,) = ledger()
    assert row.streamed and (row.prompt_tokens, row.completion_tokens) == (7, 3)


def test_passthroughs_land_in_the_ledger(api, admin, ollama, openai_upstream):
    connect(ollama)
    connect(openai_upstream)
    with api.stream("POST", "/ollama/api/chat", json={"model": "llama3.1:8b", "messages": HELLO},
                    headers=bearer(admin["token"])) as response:
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines[-1]["eval_count"] == 3
    api.post("/openai/chat/completions", json={"model": "gpt-4o", "messages": HELLO}, headers=bearer(admin["token"]))
    rows = ledger(2)
    assert {(r.model, r.endpoint, r.streamed, r.prompt_tokens, r.completion_tokens) for r in rows} == {
        ("llama3.1:8b", "passthrough", True, 7, 3), ("gpt-4o", "passthrough", False, 7, 3)}


def test_a_cancelled_stream_is_charged_what_it_used(api, admin, ollama):
    connect(ollama)
    ollama.tokens, ollama.token_delay = 200, 0.02
    with api.stream("POST", "/api/chat/completions", json={"model": "llama3.1:8b", "messages": HELLO, "stream": True},
                    headers=bearer(admin["token"])) as response:
        for i, _ in enumerate(response.iter_lines()):
            if i == 10:
                break
    assert ollama.disconnected.wait(5)
    (row,) = ledger()
    assert row.status == "cancelled" and row.estimated
    assert 5 <= row.completion_tokens < 200


def test_ingestion_and_query_embeddings_land_in_the_ledger_as_the_owners(api, user, ollama):
    use_engine(ollama)
    body = upload(api, user["token"], data=b"Refunds take 14 days.").json()
    assert wait_done(api, user["token"], body["id"]) == "completed"
    rows = ledger()
    assert rows[0].endpoint == "embedding" and rows[0].model == "embed-small" and str(rows[0].user_id) == user["id"]
    assert rows[0].prompt_tokens > 0 and rows[0].completion_tokens == 0


# --- limits --------------------------------------------------------------------------------------


def test_requests_per_minute_are_limited_with_openai_headers(api, user, ollama):
    connect(ollama)
    factories.share("model", factories.preset(None, id="llama3.1:8b", base_model_id=None, name="Llama").id)
    limit("user", user["id"], requests_per_minute=2)
    fresh_minute()
    first, second, third = (chat(api, user["token"]) for _ in range(3))
    assert first.status_code == second.status_code == 200
    assert first.headers["x-ratelimit-limit-requests"] == "2" and first.headers["x-ratelimit-remaining-requests"] == "1"
    assert second.headers["x-ratelimit-remaining-requests"] == "0"
    assert first.headers["x-ratelimit-reset-requests"].endswith("s")
    assert third.status_code == 429 and third.json() == {"detail": "Rate limit reached: 2 requests per minute."}
    assert 1 <= int(third.headers["Retry-After"]) <= 60 and third.headers["x-ratelimit-remaining-requests"] == "0"
    assert len([r for r in ollama.requests if r[1] == "/api/chat"]) == 2


def test_a_groups_limit_binds_its_members_and_no_one_else(api, user, make_user, ollama):
    connect(ollama)
    factories.share("model", factories.preset(None, id="llama3.1:8b", base_model_id=None, name="Llama").id)
    outsider = make_user("Outsider")
    team = factories.group(name="Team", members=[user])
    limit("group", team.id, requests_per_minute=1)
    fresh_minute()
    assert chat(api, user["token"]).status_code == 200
    refused = chat(api, user["token"])
    assert refused.status_code == 429 and refused.json() == {"detail": "Rate limit reached: 1 requests per minute."}
    assert [chat(api, outsider["token"]).status_code for _ in range(3)] == [200, 200, 200]


def test_tokens_per_minute_count_the_worst_case_then_the_real_usage(api, admin, openai_upstream):
    connect(openai_upstream)
    limit("role", "admin", tokens_per_minute=30)
    fresh_minute()
    first = chat(api, admin["token"], model="gpt-4o", max_tokens=10)
    assert first.status_code == 200 and first.headers["x-ratelimit-limit-tokens"] == "30"
    second = chat(api, admin["token"], model="gpt-4o", max_tokens=10)
    assert second.status_code == 429 and "tokens per minute" in second.json()["detail"]
    assert int(second.headers["x-ratelimit-remaining-tokens"]) == 30 - 10  # the first call settled to 7 + 3
    assert len(openai_upstream.requests) == 2  # the model list, and the first call only


def test_a_call_without_max_tokens_reserves_and_sends_the_models_cap(api, admin, ollama):
    connect(ollama)
    ModelPrice.objects.create(model="llama3.1:8b", default_max_tokens=64)
    limit("user", admin["id"], token_budget=1000)
    assert chat(api, admin["token"]).status_code == 200
    assert ollama.last("/api/chat")["options"]["num_predict"] == 64


def test_fifty_concurrent_streams_never_exceed_a_token_budget(api, admin, openai_upstream):
    connect(openai_upstream)
    openai_upstream.tokens, openai_upstream.token_delay = 10, 0.02
    budget = 200
    limit("user", admin["id"], token_budget=budget, budget_period="day")
    api.get("/api/models", headers=bearer(admin["token"]))  # the model list cached: 50 callers do not all ask for it
    upstream_before = len(openai_upstream.requests)

    def stream(_):
        with httpx.Client(base_url=api.base_url, timeout=30) as client, client.stream(
                "POST", "/api/chat/completions", headers=bearer(admin["token"]),
                json={"model": "gpt-4o", "messages": HELLO, "stream": True, "max_tokens": 10}) as response:
            if response.status_code == 200:
                assert sse(response)[-1] == "[DONE]"
            else:
                response.read()
                assert response.status_code == 429, response.text
            return response.status_code

    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(stream, range(50)))
    admitted = statuses.count(200)
    assert statuses.count(429) == 50 - admitted and 0 < admitted < 50
    assert len(openai_upstream.requests) - upstream_before == admitted  # refused ones never reached it
    rows = ledger(admitted)
    assert len(rows) == admitted and sum(r.total_tokens for r in rows) <= budget


def test_concurrency_limit_refuses_the_call_over_it(api, admin, ollama):
    connect(ollama)
    ollama.latency = 1.0
    limit("user", admin["id"], max_concurrent=1)
    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(lambda _: chat(api, admin["token"]).status_code, range(2)))
    assert statuses == [200, 429]
    ollama.latency = 0
    assert chat(api, admin["token"]).status_code == 200  # the slot was given back


def test_a_model_limit_binds_every_caller(api, admin, user, ollama):
    connect(ollama)
    limit("model", "qwen3:4b", requests_per_minute=1)
    fresh_minute()
    assert chat(api, admin["token"], model="qwen3:4b").status_code == 200
    assert chat(api, admin["token"], model="qwen3:4b").status_code == 429
    assert chat(api, admin["token"]).status_code == 200


def test_two_servers_share_counters_in_redis(database_url, tmp_path_factory, admin, ollama):
    connect(ollama)
    limit("user", admin["id"], requests_per_minute=3)
    env = {"REDIS_URL": "redis://127.0.0.1:6379/13", "USAGE_REDIS_PREFIX": f"test:{uuid.uuid4().hex}:"}
    servers = [LiveServer(database_url=database_url, data_dir=tmp_path_factory.mktemp("server"), env=env) for i in range(2)]
    try:
        fresh_minute()
        statuses = []
        for i in range(4):
            response = httpx.post(f"{servers[i % 2].url}/api/chat/completions", headers=bearer(admin["token"]), timeout=30,
                                  json={"model": "llama3.1:8b", "messages": HELLO})
            statuses.append(response.status_code)
    finally:
        for server in servers:
            server.stop()
    assert statuses == [200, 200, 200, 429]


# --- API key scopes ------------------------------------------------------------------------------


def test_a_key_scoped_to_models_can_use_only_those(api, admin, ollama):
    connect(ollama)
    _, plaintext = factories.api_key(factories.user(name="Scoped", role="admin"), allowed_models=["qwen3:4b"])
    assert [m["id"] for m in api.get("/api/models", headers=bearer(plaintext)).json()["data"]] == ["qwen3:4b"]
    refused = chat(api, plaintext)
    assert refused.status_code == 400 and refused.json() == {"detail": "Model not found"}  # as for a model one may not use
    refused = api.post("/ollama/api/chat", json={"model": "llama3.1:8b", "messages": HELLO, "stream": False},
                       headers=bearer(plaintext))
    assert refused.status_code == 403
    assert chat(api, plaintext, model="qwen3:4b").status_code == 200
    assert len([r for r in ollama.requests if r[1] == "/api/chat"]) == 1


def test_a_key_scoped_to_a_collection_reaches_no_other(api, admin):
    owner = factories.admin(name="Owner")
    mine, other = factories.collection(owner, name="Mine"), factories.collection(owner, name="Other")
    _, plaintext = factories.api_key(owner, allowed_collections=[str(mine.id)])
    assert api.get(f"/api/v1/knowledge/{mine.id}", headers=bearer(plaintext)).status_code == 200
    assert api.get(f"/api/v1/knowledge/{other.id}", headers=bearer(plaintext)).status_code == 404
    assert [k["id"] for k in api.get("/api/v1/knowledge/", headers=bearer(plaintext)).json()["items"]] == [str(mine.id)]


def test_a_read_only_key_cannot_change_a_collection(api, admin):
    owner = factories.admin(name="Owner")
    kb = factories.collection(owner)
    _, plaintext = factories.api_key(owner, read_only=True)
    assert api.get(f"/api/v1/knowledge/{kb.id}", headers=bearer(plaintext)).status_code == 200
    response = api.post(f"/api/v1/knowledge/{kb.id}/update", json={"name": "x", "description": ""}, headers=bearer(plaintext))
    assert response.status_code in (403, 404)
    kb.refresh_from_db()
    assert kb.name == "Handbook"


# --- reading it back -----------------------------------------------------------------------------


def _rows(user_id, model="gpt-4o", count=2, api_key_id=None):
    from datetime import UTC, datetime

    UsageRecord.objects.bulk_create(UsageRecord(
        created_at=datetime.now(UTC), user_id=user_id, api_key_id=api_key_id, model=model, endpoint="chat",
        prompt_tokens=7, completion_tokens=3, total_tokens=10, status="ok") for _ in range(count))


def test_a_user_reads_only_their_own_usage(api, admin, user):
    _rows(user["id"])
    _rows(admin["id"], model="llama3.1:8b")
    body = api.get("/api/v1/usage", headers=bearer(user["token"])).json()
    assert [(r["model"], r["requests"], r["total_tokens"]) for r in body["items"]] == [("gpt-4o", 2, 20)]
    assert body["total"]["total_tokens"] == 20
    refused = api.get("/api/v1/usage", params={"user_id": admin["id"]}, headers=bearer(user["token"]))
    assert refused.status_code == 403


def test_an_admin_reads_anyones_usage_by_model_and_as_csv(api, admin, user):
    _rows(user["id"])
    _rows(admin["id"], model="llama3.1:8b", count=3)
    body = api.get("/api/v1/usage", params={"group_by": "model"}, headers=bearer(admin["token"])).json()
    assert {r["model"]: r["requests"] for r in body["items"]} == {"gpt-4o": 2, "llama3.1:8b": 3}
    one = api.get("/api/v1/usage", params={"user_id": user["id"], "group_by": "user"}, headers=bearer(admin["token"])).json()
    assert one["items"] == [{**one["items"][0], "user_id": user["id"], "requests": 2}]
    exported = api.get("/api/v1/usage", params={"export": "csv", "group_by": "day,model"}, headers=bearer(admin["token"]))
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines()[0] == "day,model,requests,prompt_tokens,completion_tokens,total_tokens,cost,errors"


def test_bad_usage_queries_are_refused_with_a_detail(api, admin):
    response = api.get("/api/v1/usage", params={"group_by": "planet"}, headers=bearer(admin["token"]))
    assert response.status_code == 400 and "group_by" in response.json()["detail"]
    assert api.get("/api/v1/usage", params={"user_id": "nope"}, headers=bearer(admin["token"])).status_code == 400


def test_open_webui_analytics_read_the_ledger(api, admin, user):
    _rows(user["id"], count=2)
    _rows(admin["id"], model="llama3.1:8b", count=1)
    tokens = api.get("/api/v1/analytics/tokens", headers=bearer(admin["token"])).json()
    assert tokens["total_tokens"] == 30 and tokens["models"][0] == {
        "model_id": "gpt-4o", "input_tokens": 14, "output_tokens": 6, "total_tokens": 20, "message_count": 2}
    users = api.get("/api/v1/analytics/users", params={"metric": "tokens"}, headers=bearer(admin["token"])).json()["users"]
    assert [u["user_id"] for u in users] == [user["id"], admin["id"]] and users[0]["email"]
    daily = api.get("/api/v1/analytics/daily", headers=bearer(admin["token"])).json()["data"]
    assert daily[0]["models"] == {"gpt-4o": 2, "llama3.1:8b": 1}
    assert api.get("/api/v1/analytics/summary", headers=bearer(admin["token"])).json()["total_users"] == 2
    assert api.get("/api/v1/analytics/models", headers=bearer(user["token"])).status_code == 401
    assert api.get("/api/usage", headers=bearer(user["token"])).json() == {"model_ids": ["gpt-4o", "llama3.1:8b"], "user_count": 2}


def test_the_admin_dashboard_charts_usage_and_shows_top_users_against_their_limits():
    from django.test import Client

    root = factories.admin(name="Root")
    heavy = factories.user(name="Heavy")
    _rows(heavy.id, count=3)
    limit("user", heavy.id, token_budget=5000, budget_period="week")
    client = Client()
    client.force_login(root)
    page = client.get("/admin/").content.decode()
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" role="img" class="usage-chart"') == 2
    assert "gpt-4o" in page and "<script" not in page.split('id="usage"')[1].split("</div>\n  <div")[0]
    assert heavy.email in page and "5000 tokens / week" in page


def test_budgets_reset_on_calendar_boundaries_in_the_configured_zone():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from accounts.limits import period_bounds, reset_text

    zone = ZoneInfo("America/New_York")
    now = datetime(2026, 3, 1, 3, 30, tzinfo=ZoneInfo("UTC"))  # still Feb 28th, 22:30, in New York
    assert [d.isoformat() for d in period_bounds("day", now, zone)] == ["2026-02-28T00:00:00-05:00", "2026-03-01T00:00:00-05:00"]
    assert [d.date().isoformat() for d in period_bounds("week", now, zone)] == ["2026-02-23", "2026-03-02"]
    assert [d.date().isoformat() for d in period_bounds("month", now, zone)] == ["2026-02-01", "2026-03-01"]
    assert (reset_text(0.2), reset_text(360), reset_text(7384)) == ("1s", "6m0s", "2h3m4s")


def test_a_row_that_is_no_usage_record_is_dropped_alone_and_the_ledger_goes_on():
    """A bug that queues a malformed row loses that row, never the ones written with it."""
    from datetime import UTC, datetime

    from accounts import usage_ledger

    good = dict(created_at=datetime.now(UTC), model="ledger-goes-on", endpoint="chat", status="ok")
    usage_ledger.record({**good, "no_such_field": 1})
    usage_ledger.record(good)
    usage_ledger.flush()  # (or the writer thread, which takes the same lock, did it already)
    assert UsageRecord.objects.filter(model="ledger-goes-on").count() == 1
    assert usage_ledger.pending() == 0


def test_a_row_the_database_refuses_is_dropped_alone_and_the_ledger_goes_on():
    """An upstream that reports more tokens than an integer holds makes a row Postgres refuses: that
    row is lost, never the ones written with it or after it (the batch would be refused for ever)."""
    from datetime import UTC, datetime

    from accounts import usage_ledger

    good = dict(created_at=datetime.now(UTC), model="ledger-refused", endpoint="chat", status="ok")
    usage_ledger.record(good)
    usage_ledger.record({**good, "prompt_tokens": 3_000_000_000, "total_tokens": 3_000_000_000})
    usage_ledger.record(good)
    usage_ledger.flush()  # (or the writer thread, which takes the same lock, did it already)
    usage_ledger.record(good)
    usage_ledger.flush()
    assert UsageRecord.objects.filter(model="ledger-refused").count() == 3
    assert usage_ledger.pending() == 0
