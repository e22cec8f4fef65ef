"""/api/v1/tasks/* (Open WebUI 0.12.4's task routes): each fills in Open WebUI's template and asks
the task model through the chat completion service; the fake upstreams show what was sent."""

import json

import pytest

from chat import task_templates
from config.runtime.models import RuntimeSetting
from tests import factories
from tests.conftest import bearer, connect

BASE = "/api/v1/tasks"
CHAT = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": "user", "content": "Plan a trip to Rome"}]


def _set(**values):
    for key, value in values.items():
        RuntimeSetting.objects.update_or_create(key=key, defaults={"value": value})


def _sent(upstream) -> dict:
    """The last chat request the fake upstream received."""
    return [body for _, path, body in upstream.requests if path in ("/api/chat", "/v1/chat/completions")][-1]


def _ask(api, token, task, **body):
    return api.post(f"{BASE}/{task}/completions", json=body, headers=bearer(token))


def test_title_sends_open_webuis_template_to_the_chat_model(api, admin, ollama):
    connect(ollama)
    response = _ask(api, admin["token"], "title", model="llama3.1:8b", messages=CHAT, chat_id="c1")
    assert response.status_code == 200, response.text
    expected = task_templates.TITLE.replace("{{MESSAGES:END:2}}", "ASSISTANT: Hi! How can I help?\nUSER: Plan a trip to Rome")
    sent = _sent(ollama)
    assert sent["model"] == "llama3.1:8b" and sent["stream"] is False
    assert sent["messages"] == [{"role": "user", "content": expected}]
    assert sent["options"]["num_predict"] == 1000
    body = response.json()
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["content"] == f"Echo: {expected}"


def test_a_local_model_uses_the_task_model(api, admin, ollama):
    connect(ollama)
    _set(TASK_MODEL="qwen3:4b", TASK_MODEL_EXTERNAL="llama3.1:8b")
    assert _ask(api, admin["token"], "tags", model="llama3.1:8b", messages=CHAT).status_code == 200
    assert _sent(ollama)["model"] == "qwen3:4b"


def test_an_external_model_uses_the_external_task_model(api, admin, ollama, openai_upstream):
    connect(ollama), connect(openai_upstream)
    _set(TASK_MODEL="qwen3:4b", TASK_MODEL_EXTERNAL="gpt-4o")
    assert _ask(api, admin["token"], "title", model="gpt-4o-mini", messages=CHAT).status_code == 200
    assert _sent(openai_upstream)["model"] == "gpt-4o"
    assert not [r for r in ollama.requests if r[1] == "/api/chat"]


def test_a_task_model_the_user_may_not_use_falls_back_to_the_chat_model(api, user, ollama):
    connect(ollama)
    factories.preset(None, id="llama3.1:8b", base_model_id=None, name="Llama")
    factories.share("model", "llama3.1:8b")
    _set(TASK_MODEL="qwen3:4b")
    assert _ask(api, user["token"], "title", model="llama3.1:8b", messages=CHAT).status_code == 200
    assert _sent(ollama)["model"] == "llama3.1:8b"


def test_task_params_from_the_settings_are_sent(api, admin, ollama):
    connect(ollama)
    _set(TASK_MODEL_PARAMS={"temperature": 0.1, "seed": None})
    _ask(api, admin["token"], "title", model="llama3.1:8b", messages=CHAT)
    assert _sent(ollama)["options"] == {"temperature": 0.1}


def test_a_custom_template_is_filled_in(api, admin, ollama):
    connect(ollama)
    _set(TAGS_GENERATION_PROMPT_TEMPLATE="Tags for {{prompt:start:4}} by {{USER_NAME}}:\n{{MESSAGES:START:1|start:2}}")
    _ask(api, admin["token"], "tags", model="llama3.1:8b", messages=CHAT)
    assert _sent(ollama)["messages"][0]["content"] == f"Tags for Plan by {admin['name']}:\nUSER: He"


@pytest.mark.parametrize("task, template", [("tags", task_templates.TAGS), ("image_prompt", task_templates.IMAGE_PROMPT),
                                            ("queries", task_templates.QUERY)])
def test_history_tasks_send_the_last_six_messages(api, admin, ollama, task, template):
    connect(ollama)
    assert _ask(api, admin["token"], task, model="llama3.1:8b", messages=CHAT, type="web_search").status_code == 200
    content = _sent(ollama)["messages"][0]["content"]
    assert content.startswith(template.split("{{")[0])
    assert "USER: Hello\nASSISTANT: Hi! How can I help?\nUSER: Plan a trip to Rome" in content and "{{" not in content


def test_follow_ups_send_the_default_template(api, admin, ollama):
    connect(ollama)
    assert _ask(api, admin["token"], "follow_up", model="llama3.1:8b", messages=CHAT).status_code == 200
    history = "USER: Hello\nASSISTANT: Hi! How can I help?\nUSER: Plan a trip to Rome"
    assert _sent(ollama)["messages"][0]["content"] == task_templates.FOLLOW_UP.replace("{{MESSAGES:END:5}}", history)


def test_emoji_asks_for_four_tokens_at_most(api, admin, ollama):
    connect(ollama)
    assert _ask(api, admin["token"], "emoji", model="llama3.1:8b", prompt="I won!").status_code == 200
    sent = _sent(ollama)
    assert sent["messages"][0]["content"] == task_templates.EMOJI.replace("{{prompt}}", "I won!")
    assert sent["options"]["num_predict"] == 4


def test_autocompletion_is_off_by_default_and_bounded_when_on(api, admin, ollama):
    connect(ollama)
    off = _ask(api, admin["token"], "auto", model="llama3.1:8b", prompt="The sun")
    assert (off.status_code, off.json()) == (400, {"detail": "Autocompletion generation is disabled"})
    _set(ENABLE_AUTOCOMPLETE_GENERATION=True, AUTOCOMPLETE_GENERATION_INPUT_MAX_LENGTH=10)
    assert _ask(api, admin["token"], "auto", model="llama3.1:8b", prompt="The sun", type="General").status_code == 200
    content = _sent(ollama)["messages"][0]["content"]
    assert "<type>General</type>" in content and "<text>The sun</text>" in content
    long = _ask(api, admin["token"], "auto", model="llama3.1:8b", prompt="x" * 11)
    assert (long.status_code, long.json()) == (400, {"detail": "Input prompt exceeds maximum length of 10"})


def test_moa_merges_answers_with_the_chat_model_and_streams(api, admin, ollama):
    connect(ollama)
    _set(TASK_MODEL="qwen3:4b")
    with api.stream("POST", f"{BASE}/moa/completions", headers=bearer(admin["token"]), json={
            "model": "llama3.1:8b", "prompt": "Why?", "responses": ["Because.", "No idea."], "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]" and json.loads(events[0])["object"] == "chat.completion.chunk"
    sent = _sent(ollama)
    assert sent["model"] == "llama3.1:8b"
    assert sent["messages"][0]["content"] == task_templates.MOA.replace("{{prompt}}", "Why?").replace(
        "{{responses}}", '"""Because."""\n\n"""No idea."""')


@pytest.mark.parametrize("task, switch, feature", [("title", "ENABLE_TITLE_GENERATION", "Title"),
                                                   ("tags", "ENABLE_TAGS_GENERATION", "Tags"),
                                                   ("follow_up", "ENABLE_FOLLOW_UP_GENERATION", "Follow-up")])
def test_a_disabled_task_answers_200_with_a_detail_as_open_webui(api, admin, ollama, task, switch, feature):
    connect(ollama)
    _set(**{switch: False})
    response = _ask(api, admin["token"], task, model="llama3.1:8b", messages=CHAT)
    assert (response.status_code, response.json()) == (200, {"detail": f"{feature} generation is disabled"})
    assert not ollama.requests or all(path != "/api/chat" for _, path, _ in ollama.requests)


def test_retrieval_queries_are_off_by_default(api, admin, ollama):
    connect(ollama)
    response = _ask(api, admin["token"], "queries", model="llama3.1:8b", messages=CHAT, type="retrieval")
    assert (response.status_code, response.json()) == (400, {"detail": "Query generation is disabled"})
    _set(ENABLE_RETRIEVAL_QUERY_GENERATION=True)
    assert _ask(api, admin["token"], "queries", model="llama3.1:8b", messages=CHAT, type="retrieval").status_code == 200


def test_an_unknown_or_forbidden_model_is_404(api, user, ollama):
    connect(ollama)
    for model in ("nope", "llama3.1:8b"):  # the second exists but is not shared with the user
        response = _ask(api, user["token"], "title", model=model, messages=CHAT)
        assert (response.status_code, response.json()) == (404, {"detail": f"Model '{model}' was not found"})


@pytest.mark.parametrize("body", [["a list"], {"messages": CHAT}, {"model": "llama3.1:8b"}, {"model": "llama3.1:8b", "messages": "hi"}])
def test_bad_bodies_are_400(api, admin, body):
    response = api.post(f"{BASE}/title/completions", json=body, headers=bearer(admin["token"]))
    assert response.status_code == 400 and response.json()["detail"]


def test_upstream_errors_keep_their_status(api, admin, ollama):
    connect(ollama)
    api.get("/api/models", headers=bearer(admin["token"]))  # the model list is known (and cached) first
    ollama.fail_status = 500
    response = _ask(api, admin["token"], "title", model="llama3.1:8b", messages=CHAT)
    assert (response.status_code, response.json()) == (502, {"detail": "upstream exploded"})


def test_tasks_need_a_verified_user(api):
    pending = factories.session(factories.pending())
    assert _ask(api, pending["token"], "title", model="x", messages=CHAT).status_code == 401
    assert api.post(f"{BASE}/title/completions", json={}).status_code == 401


# --- config -------------------------------------------------------------------------------------------


def test_users_read_the_config_and_admins_change_it(api, admin, user):
    config = api.get(f"{BASE}/config", headers=bearer(user["token"])).json()
    assert config["TASK_MODEL"] == "" and config["ENABLE_TITLE_GENERATION"] is True
    assert config["ENABLE_AUTOCOMPLETE_GENERATION"] is False and config["AUTOCOMPLETE_GENERATION_INPUT_MAX_LENGTH"] == -1
    assert len(config) == 19
    change = {"TASK_MODEL": "qwen3:4b", "ENABLE_TAGS_GENERATION": False, "AUTOCOMPLETE_GENERATION_INPUT_MAX_LENGTH": None}
    assert api.post(f"{BASE}/config/update", json=change, headers=bearer(user["token"])).status_code == 401
    updated = api.post(f"{BASE}/config/update", json=change, headers=bearer(admin["token"])).json()
    assert (updated["TASK_MODEL"], updated["ENABLE_TAGS_GENERATION"]) == ("qwen3:4b", False)
    assert updated["AUTOCOMPLETE_GENERATION_INPUT_MAX_LENGTH"] == -1
    assert api.get(f"{BASE}/config", headers=bearer(user["token"])).json() == updated


@pytest.mark.parametrize("change", [{"ENABLE_TITLE_GENERATION": "yes"}, {"TASK_MODEL_PARAMS": [1]},
                                    {"AUTOCOMPLETE_GENERATION_INPUT_MAX_LENGTH": "10"}])
def test_a_bad_config_is_422_and_saves_nothing(api, admin, change):
    response = api.post(f"{BASE}/config/update", json={"TASK_MODEL": "saved?", **change}, headers=bearer(admin["token"]))
    assert response.status_code == 422 and response.json()["detail"]
    assert not RuntimeSetting.objects.filter(key="TASK_MODEL").exists()


def test_public_clients_ask_for_titles_tags_and_follow_ups(gateway, admin, ollama):
    import asyncio

    from owui_client import OpenWebUI

    connect(ollama)
    ollama.reply = '{"title": "Rome Trip"}'

    async def run():
        client = OpenWebUI(api_url=f"{gateway.url}/api", api_key=admin["token"])
        title = await client.tasks.generate_title({"model": "llama3.1:8b", "messages": CHAT})
        assert title["choices"][0]["message"]["content"] == '{"title": "Rome Trip"}'
        config = await client.tasks.get_config()
        assert config["ENABLE_TAGS_GENERATION"] is True

    asyncio.run(run())
    assert _sent(ollama)["messages"][0]["content"].startswith("### Task:\nGenerate a concise title")

    from openwebui_sdk import OpenWebUIClient as SdkClient

    sdk = SdkClient(gateway.url, token=admin["token"])
    assert sdk.generate_title(model="llama3.1:8b", messages=CHAT, chat_id="c1") == '{"title": "Rome Trip"}'

    from openwebui_chat_client import OpenWebUIClient as ChatClient

    ollama.reply = '["Travel", "Italy"]'
    chat_client = ChatClient(gateway.url, admin["token"], "llama3.1:8b", skip_model_refresh=True)
    assert chat_client._get_tags(CHAT) == ["Travel", "Italy"]  # what its chat flows call after a chat
