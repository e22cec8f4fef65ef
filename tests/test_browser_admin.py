"""The operator's panel in headless Chromium: sign in, the dashboard, approve a pending user, put it
in a new group, create an API key (shown once), add a connection and refresh its models, upload files and watch them
complete, create a collection with a file."""

import httpx
from playwright.sync_api import expect

from accounts.models import Group, User
from knowledge.models import KnowledgeBase
from tests import factories
from tests.browser import screenshot, wait_until
from tests.conftest import PASSWORD, bearer


def admin_sign_in(page, gateway, admin):
    page.goto(gateway.url + "/admin/")
    page.fill("#id_username", admin["email"])
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#dashboard")).to_be_visible()


def autocomplete(page, field_id, text):
    """Pick `text` in one of Django's autocomplete (select2) fields."""
    page.click(f"#{field_id} + .select2 .select2-selection")
    page.fill(".select2-container--open .select2-search__field", text)
    page.click(f".select2-results__option:has-text('{text}')")


def run_action(page, row_text, action):
    page.locator("#result_list tr", has_text=row_text).locator("input.action-select").check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def test_operator_manages_users_keys_connections_files_and_collections(gateway, page, api, admin, ollama, tmp_path):
    pending = factories.session(factories.pending(name="Pending"))
    admin_sign_in(page, gateway, admin)
    expect(page.locator("#tile-pending .n")).to_have_text("1")
    screenshot(page, "admin-dashboard")

    # approve the pending user from the dashboard's tile
    page.click("#tile-pending")
    run_action(page, pending["email"], "approve")
    expect(page.locator(".messagelist")).to_contain_text("1")
    assert User.objects.get(id=pending["id"]).role == "user"

    # a group granting API keys, with that user as its member
    page.goto(gateway.url + "/admin/accounts/group/add/")
    page.fill("#id_name", "Support")
    page.check("input[name=granted][value='features.api_keys']")
    autocomplete(page, "id_memberships-0-user", pending["email"])
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    expect(page.locator("#result_list")).to_contain_text("features.api_keys")
    assert [str(u.id) for u in Group.objects.get(name="Support").members.all()] == [pending["id"]]
    screenshot(page, "admin-group")

    # an API key: the plaintext once, then only its masked form
    page.goto(gateway.url + "/admin/accounts/apikey/add/")
    autocomplete(page, "id_user", pending["email"])
    page.fill("#id_name", "ci key")
    page.click("input[name=_save]")
    key = page.locator("#new-api-key").text_content()
    assert key.startswith("sk-")
    expect(page.locator(".messagelist button", has_text="Copy")).to_be_visible()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.url)
    page.click(".messagelist button:has-text('Copy')")  # a static script's listener: the CSP runs no inline onclick
    wait_until(lambda: page.evaluate("navigator.clipboard.readText()") == key, 5, "the key in the clipboard")
    screenshot(page, "admin-api-key-once")
    assert httpx.get(f"{gateway.url}/api/models", headers=bearer(key)).status_code == 200  # the key works
    page.click("#result_list a:has-text('ci key')")
    expect(page.locator("body")).not_to_contain_text(key)
    expect(page.locator("#new-api-key")).to_have_count(0)

    # a connection, then its models refreshed from the upstream
    page.goto(gateway.url + "/admin/models_registry/connection/add/")
    page.select_option("#id_kind", "ollama")
    page.fill("#id_base_url", ollama.url)
    page.click("input[name=_save]")
    run_action(page, ollama.url, "refresh_models")
    expect(page.locator(".messagelist")).to_contain_text("2 model(s): llama3.1:8b, qwen3:4b")
    expect(page.locator("#result_list")).to_contain_text("up")
    screenshot(page, "admin-connections")

    # two files at once; the list refreshes until both are completed
    paths = []
    for name, text in (("handbook.md", "# Handbook\nRefunds take 14 days. MARKER-ADMIN"), ("notes.txt", "Other notes")):
        paths.append(tmp_path / name)
        paths[-1].write_text(text)
    page.goto(gateway.url + "/admin/files/file/add/")
    autocomplete(page, "id_user", admin["email"])
    page.set_input_files("#id_upload", [str(p) for p in paths])
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("2 file(s) uploaded")
    expect(page.locator(".file-status-completed")).to_have_count(2, timeout=20_000)
    screenshot(page, "admin-files")

    # a collection holding one of them, its status shown inline
    page.goto(gateway.url + "/admin/knowledge/knowledgebase/add/")
    autocomplete(page, "id_user", admin["email"])
    page.fill("#id_name", "Handbook")
    autocomplete(page, "id_memberships-0-file", "handbook.md")
    page.select_option("#id_everyone", "read")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    expect(page.locator("#memberships-group")).to_contain_text("completed")
    screenshot(page, "admin-collection")
    kb = KnowledgeBase.objects.get(name="Handbook")
    files = api.get(f"/api/v1/knowledge/{kb.id}/files", headers=bearer(key)).json()  # shared with everyone
    assert [f["meta"]["name"] for f in files["items"]] == ["handbook.md"]

    # retrieval settings, from the dashboard
    page.goto(gateway.url + "/admin/")
    page.click("#tile-retrieval")
    page.fill("#id_RAG_TOP_K", "4")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("Saved: RAG_TOP_K")
    assert api.get("/api/v1/retrieval/config", headers=bearer(admin["token"])).json()["TOP_K"] == 4
    screenshot(page, "admin-retrieval-settings")


def test_operator_writes_shares_and_revises_a_prompt(gateway, page, api, admin):
    reader = factories.session(factories.user(name="Reader"))
    admin_sign_in(page, gateway, admin)
    page.goto(gateway.url + "/admin/chat/prompt/add/")
    autocomplete(page, "id_user", admin["email"])
    page.fill("#id_command", "/brief")
    page.fill("#id_name", "Brief")
    page.fill("#id_content", "Be brief.")
    page.fill("#id_tags", '["style"]')
    page.select_option("#id_everyone", "read")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    expect(page.locator("#history-group")).to_contain_text("Initial version")

    page.fill("#id_content", "Be briefer.")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(page.locator("#history-group")).to_contain_text("Changed in the admin")
    screenshot(page, "admin-prompt-versions")
    [prompt] = api.get("/api/v1/prompts/", headers=bearer(reader["token"])).json()  # shared with everyone
    assert (prompt["command"], prompt["content"], prompt["tags"]) == ("/brief", "Be briefer.", ["style"])
    assert len(api.get(f"/api/v1/prompts/id/{prompt['id']}/history", headers=bearer(reader["token"])).json()) == 2

    page.goto(gateway.url + "/admin/chat/prompt/?q=brief")
    expect(page.locator("#result_list")).to_contain_text("/brief")
