"""Admins manage usage limits and model prices over the API (/api/v1/usage/limits, /api/v1/usage/prices),
through the live server; a limit made there binds calls at once and deleting it lifts it."""

import uuid

import pytest

from accounts.models import ModelPrice, UsageLimit
from tests import factories
from tests.conftest import bearer, connect
from tests.helpers import chat, fresh_minute

LIMITS = "/api/v1/usage/limits"
PRICES = "/api/v1/usage/prices"
UNKNOWN = "6f1c2a9e-0000-4000-8000-000000000008"  # no such limit (fixed: parametrized ids stay the same in every run)


def create(api, token, **body):
    return api.post(LIMITS, json=body, headers=bearer(token))


def test_an_admin_creates_reads_updates_and_deletes_a_limit(api, admin, user):
    made = create(api, admin["token"], scope_type="user", scope_id=user["id"], requests_per_minute=5, cost_budget=2.5)
    assert made.status_code == 200, made.text
    body = made.json()
    assert body["scope_id"] == user["id"] and body["requests_per_minute"] == 5 and body["cost_budget"] == 2.5
    assert body["budget_period"] == "month" and body["token_budget"] is None
    url = f"{LIMITS}/{body['id']}"
    assert api.get(url, headers=bearer(admin["token"])).json() == body
    changed = api.post(url, json={"requests_per_minute": None, "token_budget": 1000, "budget_period": "day"},
                       headers=bearer(admin["token"])).json()
    assert (changed["requests_per_minute"], changed["token_budget"], changed["budget_period"]) == (None, 1000, "day")
    assert changed["cost_budget"] == 2.5
    assert api.delete(url, headers=bearer(admin["token"])).json() is True
    assert not UsageLimit.objects.exists()
    assert api.get(url, headers=bearer(admin["token"])).status_code == 404


def test_the_list_filters_by_scope(api, admin, user):
    group = factories.group(name="Team", members=[])
    for scope_type, scope_id in [("user", user["id"]), ("group", str(group.id)), ("role", "user"), ("model", "gpt-4o")]:
        assert create(api, admin["token"], scope_type=scope_type, scope_id=scope_id, max_concurrent=2).status_code == 200
    everything = api.get(LIMITS, headers=bearer(admin["token"])).json()
    assert len(everything) == 4
    only = api.get(LIMITS, params={"scope_type": "role", "scope_id": "user"}, headers=bearer(admin["token"])).json()
    assert [(r["scope_type"], r["scope_id"]) for r in only] == [("role", "user")]
    bad = api.get(LIMITS, params={"scope_type": "planet"}, headers=bearer(admin["token"]))
    assert bad.status_code == 400 and "scope_type" in bad.json()["detail"]


def test_a_key_limit_names_an_existing_key(api, admin):
    key, _ = factories.api_key(factories.user(name="Keyholder"))
    assert create(api, admin["token"], scope_type="key", scope_id=str(key.id), token_budget=10).status_code == 200


@pytest.mark.parametrize("body, status, words", [
    ({"scope_type": "user", "scope_id": "6f1c2a9e-0000-4000-8000-000000000006", "requests_per_minute": 1}, 400, "No user with id"),
    ({"scope_type": "group", "scope_id": "not-a-uuid", "requests_per_minute": 1}, 400, "No group with id"),
    ({"scope_type": "key", "scope_id": "6f1c2a9e-0000-4000-8000-000000000007", "requests_per_minute": 1}, 400, "No api key with id"),
    ({"scope_type": "role", "scope_id": "pending", "requests_per_minute": 1}, 400, "admin, user"),
    ({"scope_type": "planet", "scope_id": "x", "requests_per_minute": 1}, 400, "scope_type"),
    ({"scope_type": "model", "scope_id": "gpt-4o"}, 400, "at least one of"),
    ({"scope_type": "model", "scope_id": "gpt-4o", "requests_per_minute": -1}, 400, "requests_per_minute"),
    ({"scope_type": "model", "scope_id": "gpt-4o", "token_budget": 5, "budget_period": "year"}, 400, "budget_period"),
])
def test_a_bad_limit_is_refused_and_nothing_is_stored(api, admin, body, status, words):
    response = create(api, admin["token"], **body)
    assert response.status_code == status and words in response.json()["detail"]
    assert not UsageLimit.objects.exists()


def test_a_second_limit_for_one_scope_is_a_conflict(api, admin):
    assert create(api, admin["token"], scope_type="role", scope_id="admin", requests_per_minute=1).status_code == 200
    again = create(api, admin["token"], scope_type="role", scope_id="admin", requests_per_minute=9)
    assert again.status_code == 409 and "exists already" in again.json()["detail"]
    assert list(UsageLimit.objects.values_list("requests_per_minute", flat=True)) == [1]


def test_moving_a_limit_onto_a_taken_scope_is_a_conflict(api, admin):
    create(api, admin["token"], scope_type="role", scope_id="admin", requests_per_minute=1)
    other = create(api, admin["token"], scope_type="role", scope_id="user", requests_per_minute=2).json()
    moved = api.post(f"{LIMITS}/{other['id']}", json={"scope_id": "admin"}, headers=bearer(admin["token"]))
    assert moved.status_code == 409
    assert UsageLimit.objects.get(pk=other["id"]).scope_id == "user"


def test_unknown_and_malformed_limit_ids_are_not_found(api, admin):
    for limit_id in (uuid.uuid4(), "not-a-uuid"):
        response = api.get(f"{LIMITS}/{limit_id}", headers=bearer(admin["token"]))
        assert (response.status_code, response.json()) == (404, {"detail": "Limit not found"})


def test_prices_are_upserted_by_model_and_deleted(api, admin):
    first = api.post(PRICES, json={"model": "org/gpt-4o", "input_per_million": 2.5, "output_per_million": 10},
                     headers=bearer(admin["token"]))
    assert first.status_code == 200 and first.json()["input_per_million"] == 2.5
    api.post(PRICES, json={"model": "org/gpt-4o", "input_per_million": 3, "default_max_tokens": 64},
             headers=bearer(admin["token"]))
    (row,) = api.get(PRICES, headers=bearer(admin["token"])).json()
    assert (row["model"], row["input_per_million"], row["output_per_million"], row["default_max_tokens"]) == (
        "org/gpt-4o", 3.0, 0.0, 64)
    assert api.delete(f"{PRICES}/org/gpt-4o", headers=bearer(admin["token"])).json() is True
    assert not ModelPrice.objects.exists()
    gone = api.delete(f"{PRICES}/org/gpt-4o", headers=bearer(admin["token"]))
    assert (gone.status_code, gone.json()) == (404, {"detail": "No price is set for this model"})


def test_a_bad_price_is_refused_and_nothing_is_stored(api, admin):
    response = api.post(PRICES, json={"model": "gpt-4o", "input_per_million": -1}, headers=bearer(admin["token"]))
    assert response.status_code == 400 and "input_per_million" in response.json()["detail"]
    assert not ModelPrice.objects.exists()


@pytest.mark.parametrize("method, path", [
    ("get", LIMITS), ("post", LIMITS), ("get", f"{LIMITS}/{UNKNOWN}"), ("post", f"{LIMITS}/{UNKNOWN}"),
    ("delete", f"{LIMITS}/{UNKNOWN}"), ("get", PRICES), ("post", PRICES), ("delete", f"{PRICES}/gpt-4o"),
])
def test_only_admins_manage_limits_and_prices(api, user, method, path):
    kwargs = {"json": {"scope_type": "role", "scope_id": "user", "requests_per_minute": 1}} if method == "post" else {}
    refused = api.request(method.upper(), path, headers=bearer(user["token"]), **kwargs)
    assert refused.status_code == 401 and "detail" in refused.json()
    assert api.request(method.upper(), path, **kwargs).status_code == 401
    assert not UsageLimit.objects.exists()


def test_a_limit_made_over_the_api_binds_at_once_and_deleting_it_lifts_it(api, admin, user, ollama):
    connect(ollama)
    factories.share("model", factories.preset(None, id="llama3.1:8b", base_model_id=None, name="Llama").id)
    fresh_minute()
    made = create(api, admin["token"], scope_type="user", scope_id=user["id"], requests_per_minute=1).json()
    assert chat(api, user["token"]).status_code == 200
    refused = chat(api, user["token"])
    assert refused.status_code == 429 and refused.json() == {"detail": "Rate limit reached: 1 requests per minute."}
    assert refused.headers["x-ratelimit-limit-requests"] == "1" and int(refused.headers["Retry-After"]) >= 1
    api.delete(f"{LIMITS}/{made['id']}", headers=bearer(admin["token"]))
    assert chat(api, user["token"]).status_code == 200


def test_the_status_shows_each_limits_use_and_what_is_left(api, admin, user, ollama):
    connect(ollama)
    factories.share("model", factories.preset(None, id="llama3.1:8b", base_model_id=None, name="Llama").id)
    fresh_minute()
    create(api, admin["token"], scope_type="user", scope_id=user["id"], requests_per_minute=5, token_budget=1000)
    create(api, admin["token"], scope_type="model", scope_id="qwen3:4b", max_concurrent=2)
    assert chat(api, user["token"], max_tokens=10).status_code == 200
    (row,) = api.get(f"{LIMITS}/status", params={"scope_type": "user", "scope_id": user["id"]},
                     headers=bearer(admin["token"])).json()
    counters = {c["kind"]: c for c in row["counters"]}
    assert (counters["requests"]["used"], counters["requests"]["remaining"]) == (1, 4)
    assert counters["requests"]["reset"].endswith("s")
    assert counters["budget_tokens"]["limit"] == 1000 and counters["budget_tokens"]["used"] == 10  # settled to 7 + 3
    assert len(api.get(f"{LIMITS}/status", headers=bearer(admin["token"])).json()) == 2
    assert api.get(f"{LIMITS}/status", headers=bearer(user["token"])).status_code == 401
