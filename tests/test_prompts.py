"""/api/v1/prompts/* (Open WebUI 0.12.4's prompt routes): prompts, their versions and sharing."""

import uuid

import pytest

from accounts.models import AccessGrant, User
from chat.prompt_models import Prompt, PromptHistory
from tests import factories
from tests.conftest import bearer

BASE = "/api/v1/prompts"
FIELDS = {"id", "command", "user_id", "name", "content", "data", "meta", "tags", "is_active", "version_id",
          "created_at", "updated_at", "access_grants"}


def _create(api, token, command="/summarize", **extra):
    body = {"command": command, "name": "Summarize", "content": "Summarize this: {{CLIPBOARD}}", **extra}
    return api.post(f"{BASE}/create", json=body, headers=bearer(token))


def _update(api, token, prompt_id, **fields):
    body = {"command": "/summarize", "name": "Summarize", "content": "Summarize this: {{CLIPBOARD}}", **fields}
    return api.post(f"{BASE}/id/{prompt_id}/update", json=body, headers=bearer(token))


def _history(api, token, prompt_id) -> list[dict]:
    response = api.get(f"{BASE}/id/{prompt_id}/history", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def _owner(name="Owner") -> tuple[User, dict]:
    account = factories.user(name=name)
    return account, factories.session(account)


# --- creating, reading, versions --------------------------------------------------------------------


def test_admin_creates_a_prompt_with_its_first_version(api, admin):
    response = _create(api, admin["token"], tags=["writing"], commit_message=None)
    assert response.status_code == 200, response.text
    prompt = response.json()
    assert set(prompt) == FIELDS
    assert (prompt["command"], prompt["user_id"], prompt["tags"], prompt["is_active"]) == ("/summarize", admin["id"], ["writing"], True)
    [version] = _history(api, admin["token"], prompt["id"])
    assert version["id"] == prompt["version_id"] and version["commit_message"] == "Initial version"
    assert version["parent_id"] is None and version["user"]["id"] == admin["id"]
    assert version["snapshot"]["content"] == "Summarize this: {{CLIPBOARD}}"
    detail = api.get(f"{BASE}/id/{prompt['id']}", headers=bearer(admin["token"])).json()
    assert detail["write_access"] is True and detail["user"]["email"] == admin["email"]


def test_users_need_the_workspace_permission_to_create(api, user):
    response = _create(api, user["token"])
    assert (response.status_code, response.json()) == (401, {"detail": "401 Unauthorized"})
    assert not Prompt.objects.exists()


def test_a_command_is_taken_once(api, admin):
    _create(api, admin["token"])
    response = _create(api, admin["token"])
    assert response.status_code == 400 and "already registered" in response.json()["detail"]
    other = _create(api, admin["token"], command="/other").json()
    assert _update(api, admin["token"], other["id"], command="/summarize").status_code == 400
    assert Prompt.objects.get(id=other["id"]).command == "/other"


def test_an_update_is_saved_as_the_new_production_version(api, admin):
    prompt = _create(api, admin["token"]).json()
    updated = _update(api, admin["token"], prompt["id"], content="Shorter: {{CLIPBOARD}}", commit_message="tighter").json()
    assert updated["content"] == "Shorter: {{CLIPBOARD}}"
    newest, first = _history(api, admin["token"], prompt["id"])
    assert updated["version_id"] == newest["id"] != prompt["version_id"] == first["id"]
    assert newest["parent_id"] == first["id"] and newest["commit_message"] == "tighter"
    assert newest["snapshot"]["content"] == "Shorter: {{CLIPBOARD}}"


def test_an_update_that_changes_nothing_adds_no_version(api, admin):
    prompt = _create(api, admin["token"]).json()
    assert _update(api, admin["token"], prompt["id"], data={"x": 1}).status_code == 200
    assert len(_history(api, admin["token"], prompt["id"])) == 1


def test_a_draft_version_leaves_the_production_content(api, admin):
    prompt = _create(api, admin["token"]).json()
    draft = _update(api, admin["token"], prompt["id"], content="Draft", is_production=False).json()
    assert draft["content"] == prompt["content"] and draft["version_id"] == prompt["version_id"]
    newest = _history(api, admin["token"], prompt["id"])[0]
    assert newest["snapshot"]["content"] == "Draft"
    restored = api.post(f"{BASE}/id/{prompt['id']}/update/version", json={"version_id": newest["id"]}, headers=bearer(admin["token"]))
    assert restored.json()["content"] == "Draft" and restored.json()["version_id"] == newest["id"]


def test_setting_an_older_version_restores_its_content_but_not_its_command(api, admin):
    prompt = _create(api, admin["token"]).json()
    _update(api, admin["token"], prompt["id"], command="/renamed", name="Renamed", content="New")
    restored = api.post(f"{BASE}/id/{prompt['id']}/update/version", json={"version_id": prompt["version_id"]},
                        headers=bearer(admin["token"])).json()
    assert (restored["name"], restored["content"], restored["command"]) == ("Summarize", prompt["content"], "/renamed")
    assert restored["version_id"] == prompt["version_id"]


def test_a_version_of_another_prompt_cannot_be_set(api, admin):
    one, two = _create(api, admin["token"]).json(), _create(api, admin["token"], command="/two").json()
    for version_id in (two["version_id"], "not-a-uuid"):
        response = api.post(f"{BASE}/id/{one['id']}/update/version", json={"version_id": version_id}, headers=bearer(admin["token"]))
        assert response.status_code == 400
    assert Prompt.objects.get(id=one["id"]).version_id == uuid.UUID(one["version_id"])


def test_meta_update_changes_name_command_and_tags_without_a_version(api, admin):
    prompt = _create(api, admin["token"]).json()
    response = api.post(f"{BASE}/id/{prompt['id']}/update/meta", json={"name": "Brief", "command": "/brief", "tags": ["a"]},
                        headers=bearer(admin["token"]))
    assert (response.json()["name"], response.json()["command"], response.json()["tags"]) == ("Brief", "/brief", ["a"])
    assert len(_history(api, admin["token"], prompt["id"])) == 1


def test_one_version_and_the_diff_between_two(api, admin):
    prompt = _create(api, admin["token"], content="line one\nline two").json()
    _update(api, admin["token"], prompt["id"], content="line one\nline 2")
    newest, first = _history(api, admin["token"], prompt["id"])
    entry = api.get(f"{BASE}/id/{prompt['id']}/history/{first['id']}", headers=bearer(admin["token"])).json()
    assert entry["id"] == first["id"] and entry["prompt_id"] == prompt["id"] and "user" not in entry
    diff = api.get(f"{BASE}/id/{prompt['id']}/history/diff", params={"from_id": first["id"], "to_id": newest["id"]},
                   headers=bearer(admin["token"])).json()
    assert "-line two" in diff["content_diff"] and "+line 2" in diff["content_diff"]
    assert diff["name_changed"] is False and diff["line_endings_only"] is False
    missing = api.get(f"{BASE}/id/{prompt['id']}/history/diff", params={"from_id": first["id"]}, headers=bearer(admin["token"]))
    assert missing.status_code == 400


def test_deleting_a_version_reparents_its_child_and_spares_the_production_one(api, admin):
    prompt = _create(api, admin["token"]).json()
    _update(api, admin["token"], prompt["id"], content="v2")
    _update(api, admin["token"], prompt["id"], content="v3")
    v3, v2, v1 = _history(api, admin["token"], prompt["id"])
    active = api.delete(f"{BASE}/id/{prompt['id']}/history/{v3['id']}", headers=bearer(admin["token"]))
    assert (active.status_code, active.json()) == (400, {"detail": "Cannot delete the active production version"})
    assert api.delete(f"{BASE}/id/{prompt['id']}/history/{v2['id']}", headers=bearer(admin["token"])).json() is True
    assert PromptHistory.objects.get(id=v3["id"]).parent_id == uuid.UUID(v1["id"])
    assert [v["id"] for v in _history(api, admin["token"], prompt["id"])] == [v3["id"], v1["id"]]


def test_history_is_paged_by_twenty_from_page_zero(api, admin):
    prompt = _create(api, admin["token"]).json()
    for i in range(20):
        _update(api, admin["token"], prompt["id"], content=f"v{i}")
    assert len(_history(api, admin["token"], prompt["id"])) == 20
    last = api.get(f"{BASE}/id/{prompt['id']}/history", params={"page": 1}, headers=bearer(admin["token"])).json()
    assert [v["commit_message"] for v in last] == ["Initial version"]
    assert api.get(f"{BASE}/id/{prompt['id']}/history", params={"page": "x"}, headers=bearer(admin["token"])).status_code == 400


def test_toggling_hides_a_prompt_from_the_active_list_and_its_tags(api, admin):
    prompt = _create(api, admin["token"], tags=["Writing"]).json()
    assert api.get(f"{BASE}/tags", headers=bearer(admin["token"])).json() == ["Writing"]
    toggled = api.post(f"{BASE}/id/{prompt['id']}/toggle", headers=bearer(admin["token"])).json()
    assert toggled["is_active"] is False
    assert api.get(f"{BASE}/", headers=bearer(admin["token"])).json() == []
    assert api.get(f"{BASE}/tags", headers=bearer(admin["token"])).json() == []
    assert api.get(f"{BASE}/list", headers=bearer(admin["token"])).json()["total"] == 1  # /list shows inactive ones too


def test_the_list_filters_orders_and_pages(api, admin):
    owner = User.objects.get(id=admin["id"])
    other = factories.user(name="Zed")
    factories.prompt(owner, command="/alpha", name="Alpha", tags=["Mail"])
    factories.prompt(owner, command="/beta", name="Beta", content="about invoices")
    factories.prompt(other, command="/gamma", name="Gamma")
    for i in range(30):
        factories.prompt(other, command=f"/bulk-{i}", name=f"Bulk {i}")

    def listed(**params):
        return api.get(f"{BASE}/list", params=params, headers=bearer(admin["token"])).json()

    assert [p["command"] for p in listed(query="invoice")["items"]] == ["/beta"]
    assert [p["command"] for p in listed(query="zed", order_by="name", direction="asc")["items"]][:2] == ["/bulk-0", "/bulk-1"]
    assert [p["command"] for p in listed(tag="mail")["items"]] == ["/alpha"]
    assert {p["command"] for p in listed(view_option="created")["items"]} == {"/alpha", "/beta"}
    first, second = listed(), listed(page=2)
    assert first["total"] == 33 and len(first["items"]) == 30 and len(second["items"]) == 3
    assert first["items"][0]["user"]["id"] and first["items"][0]["write_access"] is True
    assert listed(page=0) == {"detail": "page must be a positive integer"}


# --- access -------------------------------------------------------------------------------------------


def _every_route(api, token, prompt_id, version_id) -> dict[str, int]:
    """The status of each route that names the prompt, for `token`."""
    headers, version_id = bearer(token), str(version_id)
    body = {"command": "/hijack", "name": "x", "content": "x"}
    calls = {
        "get": api.get(f"{BASE}/id/{prompt_id}", headers=headers),
        "update": api.post(f"{BASE}/id/{prompt_id}/update", json=body, headers=headers),
        "meta": api.post(f"{BASE}/id/{prompt_id}/update/meta", json=body, headers=headers),
        "version": api.post(f"{BASE}/id/{prompt_id}/update/version", json={"version_id": version_id}, headers=headers),
        "access": api.post(f"{BASE}/id/{prompt_id}/access/update", json={"access_grants": []}, headers=headers),
        "toggle": api.post(f"{BASE}/id/{prompt_id}/toggle", headers=headers),
        "history": api.get(f"{BASE}/id/{prompt_id}/history", headers=headers),
        "entry": api.get(f"{BASE}/id/{prompt_id}/history/{version_id}", headers=headers),
        "diff": api.get(f"{BASE}/id/{prompt_id}/history/diff", params={"from_id": version_id, "to_id": version_id}, headers=headers),
        "delete version": api.delete(f"{BASE}/id/{prompt_id}/history/{version_id}", headers=headers),
        "delete": api.delete(f"{BASE}/id/{prompt_id}/delete", headers=headers),
    }
    return {name: response.status_code for name, response in calls.items()}


def _unchanged(prompt: Prompt) -> None:
    now = Prompt.objects.get(id=prompt.id)
    assert (now.command, now.name, now.is_active, now.version_id) == (prompt.command, prompt.name, prompt.is_active, prompt.version_id)
    assert PromptHistory.objects.filter(prompt=prompt).count() == 1


def test_another_user_can_neither_read_list_change_nor_delete_a_prompt(api, make_user):
    owner, _ = _owner()
    prompt = factories.prompt(owner, tags=["secret"])
    other = make_user("Mallory")
    factories.share("prompt", prompt.id, principal_id=str(uuid.uuid4()), permission="write")  # someone else's grant
    assert set(_every_route(api, other["token"], prompt.id, prompt.version_id).values()) == {404}
    assert api.get(f"{BASE}/", headers=bearer(other["token"])).json() == []
    assert api.get(f"{BASE}/list", headers=bearer(other["token"])).json() == {"items": [], "total": 0}
    assert api.get(f"{BASE}/tags", headers=bearer(other["token"])).json() == []
    _unchanged(prompt)


def test_a_read_grant_reads_but_cannot_change(api, make_user):
    owner, _ = _owner()
    prompt = factories.prompt(owner, tags=["shared"])
    reader = make_user("Reader")
    factories.share("prompt", prompt.id, principal_id=reader["id"], permission="read")
    statuses = _every_route(api, reader["token"], prompt.id, prompt.version_id)
    assert {k: v for k, v in statuses.items() if k in ("get", "history", "entry", "diff")} == dict.fromkeys(("get", "history", "entry", "diff"), 200)
    assert {v for k, v in statuses.items() if k not in ("get", "history", "entry", "diff")} == {401}
    listed = api.get(f"{BASE}/list", headers=bearer(reader["token"])).json()
    assert [(p["id"], p["write_access"]) for p in listed["items"]] == [(str(prompt.id), False)]
    assert [p["id"] for p in api.get(f"{BASE}/", headers=bearer(reader["token"])).json()] == [str(prompt.id)]
    assert api.get(f"{BASE}/tags", headers=bearer(reader["token"])).json() == ["shared"]
    _unchanged(prompt)


def test_a_write_grant_changes_the_prompt(api, make_user):
    owner, _ = _owner()
    prompt = factories.prompt(owner)
    editor = make_user("Editor")
    for permission in ("read", "write"):
        factories.share("prompt", prompt.id, principal_id=editor["id"], permission=permission)
    updated = _update(api, editor["token"], prompt.id, command=prompt.command, content="Edited")
    assert updated.json()["content"] == "Edited"
    assert _history(api, editor["token"], prompt.id)[0]["user_id"] == editor["id"]
    assert api.get(f"{BASE}/list", headers=bearer(editor["token"])).json()["items"][0]["write_access"] is True


def test_a_prompt_shared_with_everyone_is_read_by_all(api, make_user):
    owner, _ = _owner()
    prompt = factories.prompt(owner)
    factories.share("prompt", prompt.id, principal_id="*", permission="read")
    anyone = make_user("Anyone")
    assert api.get(f"{BASE}/id/{prompt.id}", headers=bearer(anyone["token"])).json()["write_access"] is False


def test_only_admins_share(api, make_user):
    """Open WebUI's default sharing permissions: a user may not grant access, even to its own prompt."""
    owner, session = _owner()
    prompt = factories.prompt(owner)
    grant = [{"principal_type": "user", "principal_id": "*", "permission": "read"}]
    response = api.post(f"{BASE}/id/{prompt.id}/access/update", json={"access_grants": grant}, headers=bearer(session["token"]))
    assert response.status_code == 403
    assert not AccessGrant.objects.exists()


def test_admin_shares_and_deleting_removes_versions_and_grants(api, admin, user):
    prompt = _create(api, admin["token"]).json()
    grant = [{"principal_type": "user", "principal_id": user["id"], "permission": "read"}]
    shared = api.post(f"{BASE}/id/{prompt['id']}/access/update", json={"access_grants": grant}, headers=bearer(admin["token"])).json()
    assert [(g["principal_id"], g["permission"]) for g in shared["access_grants"]] == [(user["id"], "read")]
    assert api.get(f"{BASE}/id/{prompt['id']}", headers=bearer(user["token"])).status_code == 200
    assert api.delete(f"{BASE}/id/{prompt['id']}/delete", headers=bearer(admin["token"])).json() is True
    assert not Prompt.objects.exists() and not PromptHistory.objects.exists() and not AccessGrant.objects.exists()


def test_pending_users_are_refused(api):
    pending = factories.session(factories.pending())
    assert api.get(f"{BASE}/", headers=bearer(pending["token"])).status_code == 401


# --- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("prompt_id", ["not-a-uuid", "1", "6f1c2a9e-0000-4000-8000-000000000004"])
def test_ids_that_are_not_uuids_are_unknown_like_any_other(api, admin, prompt_id):
    prompt = factories.prompt(User.objects.get(id=admin["id"]))
    statuses = _every_route(api, admin["token"], prompt_id, prompt.version_id)
    assert set(statuses.values()) == {404}
    entry = api.get(f"{BASE}/id/{prompt.id}/history/{prompt_id}", headers=bearer(admin["token"]))
    assert (entry.status_code, entry.json()) == (404, {"detail": "We could not find what you're looking for :/"})


@pytest.mark.parametrize("body", [["a list"], {"name": "x", "content": "y"}, {"command": "/x", "name": "x", "content": "y", "tags": "t"},
                                  {"command": "/x", "name": "x", "content": "y", "data": [1]}])
def test_bad_bodies_are_422_and_store_nothing(api, admin, body):
    response = api.post(f"{BASE}/create", json=body, headers=bearer(admin["token"]))
    assert response.status_code == 422 and response.json()["detail"]
    assert not Prompt.objects.exists()


# --- a public client ------------------------------------------------------------------------------------


def test_owui_client_manages_prompts_and_their_versions(gateway, admin):
    import asyncio

    from owui_client import OpenWebUI
    from owui_client.models.prompts import PromptForm, PromptVersionUpdateForm

    async def run():
        client = OpenWebUI(api_url=f"{gateway.url}/api", api_key=admin["token"])
        created = await client.prompts.create_new_prompt(PromptForm(command="/help", name="Help", content="How do I {{x}}?"))
        assert created.command == "/help" and created.version_id and created.access_grants == []
        await client.prompts.update_prompt_by_id(created.id, PromptForm(command="/help", name="Help", content="Explain {{x}}"))
        history = await client.prompts.get_prompt_history(created.id)
        assert [h.snapshot["content"] for h in history] == ["Explain {{x}}", "How do I {{x}}?"]
        found = await client.prompts.get_prompt_by_command("help")  # Open WebUI 0.12.4 has no /command/ route: it lists
        assert found.id == created.id and found.write_access is True
        listed = await client.prompts.get_prompt_list()
        assert listed.total == 1 and listed.items[0].user.id == admin["id"]
        assert await client.prompts.get_prompt_tags() == []
        restored = await client.prompts.set_prompt_version(created.id, PromptVersionUpdateForm(version_id=history[-1].id))
        assert restored.content == "How do I {{x}}?"
        assert (await client.prompts.toggle_prompt_active(created.id)).is_active is False
        assert await client.prompts.delete_prompt_by_id(created.id) is True
        assert await client.prompts.get_prompts() == []

    asyncio.run(run())
