"""The chat page in headless Chromium: sign in, stream over SSE and over the WebSocket, stop a
generation (the upstream sees the cancel), sources of a collection answer, and a path prefix."""

import re

from playwright.sync_api import expect

from accounts.models import User
from models_registry.services import make_public
from tests import factories
from tests.browser import PrefixProxy, screenshot, wait_until
from tests.conftest import PASSWORD, bearer, connect
from tests.helpers import create_knowledge as create
from tests.helpers import ready_file as _ready_file


def publish(ollama, admin):
    """The upstream's models, made public by the admin (base models are admin-only by default)."""
    connect(ollama)
    make_public(model_ids=list(ollama.models), actor=User.objects.get(id=admin["id"]))


def sign_in(page, url, session):
    page.goto(url)
    page.fill("input[name=email]", session["email"])
    page.fill("input[name=password]", PASSWORD)
    page.click("#signin button[type=submit]")
    expect(page.locator("#who")).to_contain_text(session["name"])
    expect(page.locator("#model option").first).to_be_attached()  # models are listed before a message is sent


def send(page, text):
    page.fill("#prompt", text)
    page.click("#send")


def test_sign_in_and_stream_over_sse_then_websocket(gateway, page, admin, user, ollama):
    publish(ollama, admin)
    ollama.reply, ollama.token_delay = "Tokens arrive one after another here", 0.15
    page.goto(gateway.url + "/")
    page.fill("input[name=email]", user["email"])
    page.fill("input[name=password]", "wrong password")
    page.click("#signin button[type=submit]")
    expect(page.locator("#signin-error")).not_to_be_empty()
    sign_in(page, gateway.url + "/", user)
    expect(page.locator("#model option")).to_have_count(2)

    send(page, "Hello over SSE")
    answer = page.locator("#messages li.assistant").last
    expect(answer).to_have_class(re.compile("streaming"))
    expect(answer.locator(".text")).to_contain_text("Tokens arrive")  # part of it, while still streaming
    assert "streaming" in answer.get_attribute("class")
    expect(answer.locator(".text")).to_have_text("Tokens arrive one after another here")
    expect(answer).not_to_have_class(re.compile("streaming"))
    assert ollama.last("/api/chat")["messages"][-1]["content"] == "Hello over SSE"
    screenshot(page, "chat-sse")

    page.check("input[name=transport][value=ws]")
    send(page, "And over the socket")
    answer = page.locator("#messages li.assistant").last
    expect(answer.locator(".text")).to_have_text("Tokens arrive one after another here")
    sent = ollama.last("/api/chat")["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]  # the page keeps the conversation
    assert sent[-1]["content"] == "And over the socket"
    screenshot(page, "chat-websocket")


def _stop_mid_stream(page, ollama, transport):
    ollama.disconnected.clear()
    ollama.reply, ollama.tokens, ollama.token_delay = None, 200, 0.1
    page.check(f"input[name=transport][value={transport}]")
    send(page, f"A long answer please ({transport})")
    answer = page.locator("#messages li.assistant").last
    expect(answer.locator(".text")).to_contain_text("t3 ")
    page.click("#stop")
    expect(answer.locator(".status")).to_have_text("stopped")
    wait_until(ollama.disconnected.is_set, 10, f"the upstream to see the cancel ({transport})")
    assert "t199" not in answer.locator(".text").text_content()
    expect(page.locator("#send")).to_be_enabled()


def test_stop_cancels_the_generation_upstream(gateway, page, admin, user, ollama):
    publish(ollama, admin)
    sign_in(page, gateway.url + "/", user)
    _stop_mid_stream(page, ollama, "sse")
    _stop_mid_stream(page, ollama, "ws")
    screenshot(page, "chat-stopped")


def test_a_collection_answer_shows_its_sources(gateway, page, api, admin, ollama):
    connect(ollama)
    file = _ready_file(api, admin["token"], "MARKER-BROWSER", name="refund-policy.md")
    kb = create(api, admin["token"], name="Policies").json()
    api.post(f"/api/v1/knowledge/{kb['id']}/file/add", json={"file_id": file["id"]}, headers=bearer(admin["token"]))
    sign_in(page, gateway.url + "/", admin)
    page.locator("#collections label", has_text="Policies").locator("input").check()
    for transport in ("sse", "ws"):
        page.check(f"input[name=transport][value={transport}]")
        send(page, "How many days does a refund take?")
        answer = page.locator("#messages li.assistant").last
        expect(answer.locator(".sources")).to_contain_text("refund-policy.md")
        expect(answer).not_to_have_class(re.compile("streaming"))
    assert "MARKER-BROWSER" in ollama.last("/api/chat")["messages"][-1]["content"]
    screenshot(page, "chat-sources")


def test_the_page_works_behind_a_path_prefix(gateway, page, admin, user, ollama):
    publish(ollama, admin)
    ollama.reply = "Served under a prefix"
    with PrefixProxy(gateway.url) as proxy:
        sign_in(page, proxy.url, user)
        for transport in ("sse", "ws"):
            page.check(f"input[name=transport][value={transport}]")
            send(page, f"Hello through the proxy ({transport})")
            expect(page.locator("#messages li.assistant .text").last).to_have_text("Served under a prefix")
            expect(page.locator("#send")).to_be_enabled()
    screenshot(page, "chat-prefix")


def test_a_pending_user_is_told_to_wait(gateway, page, api, admin):
    pending = factories.session(factories.pending(name="Waiting"))
    page.goto(gateway.url + "/")
    page.fill("input[name=email]", pending["email"])
    page.fill("input[name=password]", PASSWORD)
    page.click("#signin button[type=submit]")
    expect(page.locator("#signin-error")).to_contain_text("waiting for an administrator")
    expect(page.locator("#chat")).to_be_hidden()


def test_a_chat_is_saved_listed_after_a_reload_reopened_and_deleted(gateway, page, admin, user, ollama):
    from chat.models import Chat

    publish(ollama, admin)
    ollama.reply, ollama.token_delay = "Saved for later", 0
    sign_in(page, gateway.url + "/", user)
    send(page, "Remember this conversation")
    expect(page.locator("#messages li.assistant .text").last).to_have_text("Saved for later")
    saved = page.locator("#chat-list li")
    expect(saved).to_have_count(1)
    expect(saved.locator(".open")).to_have_text("Remember this conversation")
    chat = Chat.objects.get()
    assert [m["content"] for m in chat.chat["messages"]] == ["Remember this conversation", "Saved for later"]

    page.reload()
    expect(page.locator("#chat-list li .open")).to_have_text(["Remember this conversation"])
    expect(page.locator("#messages li")).to_have_count(0)
    page.click("#chat-list li .open")
    expect(page.locator("#messages li .text")).to_have_text(["Remember this conversation", "Saved for later"])

    send(page, "And one more")  # the open chat is updated, not copied
    expect(page.locator("#messages li.assistant .text").last).to_have_text("Saved for later")
    wait_until(lambda: len(Chat.objects.get().chat["history"]["messages"]) == 4, 10, "the chat to be updated")
    screenshot(page, "chat-history")
    assert Chat.objects.count() == 1

    page.click("#chat-list li .delete")
    expect(page.locator("#chat-list li")).to_have_count(0)
    expect(page.locator("#messages li")).to_have_count(0)
    assert not Chat.objects.exists()
