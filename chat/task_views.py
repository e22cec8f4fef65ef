"""/api/v1/tasks/*: title, tags, follow-ups, search queries, emoji, autocompletion, image prompt
and mixture-of-agents completions (Open WebUI 0.12.4's routers/tasks.py). Each fills in Open
WebUI's template and sends it to the task model through the same completion service as
/api/chat/completions (chat.completions), answering with its chat.completion JSON."""

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.async_views import authenticated
from accounts.permissions import IsAdmin
from chat import completions, task_model, task_prompts, task_templates, views
from chat.task_serializers import CONFIG_FIELDS, AutocompleteIn, EmojiIn, MessagesTaskIn, MoaIn, TaskConfigIn
from config import drain, runtime
from config.common import errors
from config.common import wire_schema as wire
from config.common.db import db_call
from config.common.errors import ApplicationError
from config.common.exceptions import validated
from config.common.http import endpoint
from config.common.schema import documented
from models_registry import registry

TITLE_MAX_TOKENS = 1000  # a title's budget when neither the task params nor the model set one
EMOJI_MAX_TOKENS = 4


def _config_out(config: dict) -> dict:
    return {name: config[name] for name in CONFIG_FIELDS}


class TaskConfigView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(_config_out(runtime.snapshot()))


class TaskConfigUpdateView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=TaskConfigIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        return Response(_config_out(runtime.update(validated(TaskConfigIn, request.data))))


# --- completions ----------------------------------------------------------------------------------


async def _settings() -> dict:
    return runtime.cached_snapshot() or await db_call(runtime.snapshot)()


def _body(request, serializer) -> dict:
    return validated(serializer, views.parse_json(request), status=400)


def _disabled(feature: str) -> HttpResponse:
    """Title, tags and follow-ups switched off: Open WebUI answers 200 with a detail."""
    return errors.json_response(ApplicationError(200, f"{feature} generation is disabled"))


async def _complete(user, model: str, content: str, params: dict, *, stream: bool = False):
    """One user message to `model` through chat.completions; no retrieval (a task is about the chat)."""
    body = {"model": model, "messages": [{"role": "user", "content": content}], "stream": stream, "params": params}
    prepared = await completions.prepare(user, body, force_stream=stream, retrieval=False)
    if prepared.stream:
        events = await completions.open_stream(prepared)
        return StreamingHttpResponse(drain.guarded(views.sse(events), views.CUT_OFF), content_type="text/event-stream",
                                     headers=views.SSE_HEADERS)
    return HttpResponse(await completions.complete(prepared), content_type="application/json")


def _template(config: dict, name: str, default: str) -> str:
    return config[name] if config[name].strip() else default


@documented(post={"request": MessagesTaskIn, "responses": wire.answers(wire.ChatCompletion),
                   "summary": "A title for the chat (answers 200 with a `detail` when switched off)"})
@endpoint("POST")
@authenticated("user")
async def title(request):
    config = await _settings()
    if not config["ENABLE_TITLE_GENERATION"]:
        return _disabled("Title")
    data = _body(request, MessagesTaskIn)
    model, params = await task_model.choose(request.user, data["model"], config)
    if not params:  # the model's own max_tokens, else 1000
        entry = await registry.resolve(request.user, model)
        params = {"max_tokens": ((entry.row.params if entry and entry.row else {}).get("max_tokens") or TITLE_MAX_TOKENS)}
    template = _template(config, "TITLE_GENERATION_PROMPT_TEMPLATE", task_templates.TITLE)
    return await _complete(request.user, model, task_prompts.from_messages(template, data["messages"], request.user), params)


@documented(post={"request": MessagesTaskIn, "responses": wire.answers(wire.ChatCompletion),
                   "summary": "Follow-up questions for the chat (answers 200 with a `detail` when switched off)"})
@endpoint("POST")
@authenticated("user")
async def follow_up(request):
    config = await _settings()
    if not config["ENABLE_FOLLOW_UP_GENERATION"]:
        return _disabled("Follow-up")
    data = _body(request, MessagesTaskIn)
    model, params = await task_model.choose(request.user, data["model"], config)
    custom = config["FOLLOW_UP_GENERATION_PROMPT_TEMPLATE"]
    content = task_prompts.follow_up(custom or task_templates.FOLLOW_UP, data["messages"], request.user, default=not custom)
    return await _complete(request.user, model, content, params)


@documented(post={"request": MessagesTaskIn, "responses": wire.answers(wire.ChatCompletion),
                   "summary": "Tags for the chat (answers 200 with a `detail` when switched off)"})
@endpoint("POST")
@authenticated("user")
async def tags(request):
    config = await _settings()
    if not config["ENABLE_TAGS_GENERATION"]:
        return _disabled("Tags")
    data = _body(request, MessagesTaskIn)
    model, params = await task_model.choose(request.user, data["model"], config)
    template = _template(config, "TAGS_GENERATION_PROMPT_TEMPLATE", task_templates.TAGS)
    return await _complete(request.user, model, task_prompts.from_messages(template, data["messages"], request.user), params)


@documented(post={"request": MessagesTaskIn, "responses": wire.answers(wire.ChatCompletion),
                   "summary": "An image description for the chat (text only; no image is made)"})
@endpoint("POST")
@authenticated("user")
async def image_prompt(request):
    """A text task (the model describes an image for a prompt); no image is generated here."""
    config = await _settings()
    data = _body(request, MessagesTaskIn)
    model, params = await task_model.choose(request.user, data["model"], config)
    template = _template(config, "IMAGE_PROMPT_GENERATION_PROMPT_TEMPLATE", task_templates.IMAGE_PROMPT)
    return await _complete(request.user, model, task_prompts.from_messages(template, data["messages"], request.user), params)


QUERY_SWITCHES = {"web_search": ("ENABLE_SEARCH_QUERY_GENERATION", "Search query generation"),
                  "retrieval": ("ENABLE_RETRIEVAL_QUERY_GENERATION", "Query generation")}


@documented(post={"request": MessagesTaskIn, "responses": wire.answers(wire.ChatCompletion),
                   "summary": "Search queries for the chat (`type`: web_search or retrieval)"})
@endpoint("POST")
@authenticated("user")
async def queries(request):
    config = await _settings()
    data = _body(request, MessagesTaskIn)
    switch, feature = QUERY_SWITCHES.get(data.get("type") or "", (None, ""))
    if switch and not config[switch]:
        raise ApplicationError(400, f"{feature} is disabled")
    model, params = await task_model.choose(request.user, data["model"], config)
    template = _template(config, "QUERY_GENERATION_PROMPT_TEMPLATE", task_templates.QUERY)
    return await _complete(request.user, model, task_prompts.from_messages(template, data["messages"], request.user), params)


@documented(post={"request": AutocompleteIn, "responses": wire.answers(wire.ChatCompletion),
                   "summary": "Autocompletion of the prompt being typed"})
@endpoint("POST")
@authenticated("user")
async def autocomplete(request):
    config = await _settings()
    if not config["ENABLE_AUTOCOMPLETE_GENERATION"]:
        raise ApplicationError(400, "Autocompletion generation is disabled")
    data = _body(request, AutocompleteIn)
    limit = config["AUTOCOMPLETE_GENERATION_INPUT_MAX_LENGTH"]
    if limit > 0 and len(data["prompt"]) > limit:
        raise ApplicationError(400, f"Input prompt exceeds maximum length of {limit}")
    model, params = await task_model.choose(request.user, data["model"], config)
    template = _template(config, "AUTOCOMPLETE_GENERATION_PROMPT_TEMPLATE", task_templates.AUTOCOMPLETE)
    content = task_prompts.autocomplete(template, data["prompt"], data.get("messages"), data.get("type"), request.user)
    return await _complete(request.user, model, content, params)


@documented(post={"request": EmojiIn, "responses": wire.answers(wire.ChatCompletion),
                   "summary": "An emoji for the prompt"})
@endpoint("POST")
@authenticated("user")
async def emoji(request):
    config = await _settings()
    data = _body(request, EmojiIn)
    model, _ = await task_model.choose(request.user, data["model"], config)
    content = task_prompts.emoji(task_templates.EMOJI, data["prompt"], request.user)
    return await _complete(request.user, model, content, {"max_tokens": EMOJI_MAX_TOKENS})


@documented(post={"request": MoaIn, "responses": wire.answers(wire.ChatCompletion, stream="sse"),
                   "summary": "Mixture of agents: the chat's model merges several answers, streamed when `stream` is true"})
@endpoint("POST")
@authenticated("user")
async def moa(request):
    """Mixture of agents: the chat's own model (not the task model) merges several answers; it may stream."""
    data = _body(request, MoaIn)
    if await registry.resolve(request.user, data["model"]) is None:
        raise ApplicationError(404, f"Model '{data['model']}' was not found")
    content = task_prompts.moa(task_templates.MOA, data["prompt"], data["responses"])
    return await _complete(request.user, data["model"], content, {}, stream=data["stream"])
