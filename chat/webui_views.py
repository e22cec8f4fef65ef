"""Routes of Open WebUI's own web UI around a chat (main.py): its outlet filters, action plugins and
background tasks (Socket.IO generations). This server has none of them, so each answers as Open WebUI
does with none: `completed` returns the body's data unchanged, every action is unknown, no task runs."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from accounts.permissions import IsAdmin
from accounts.serializers import JsonObjectIn
from chat import history_selectors as selectors
from chat import history_services as services
from config.common.errors import ApplicationError
from config.common.exceptions import validated
from config.common.http import endpoint
from config.common.schema import documented
from models_registry import provider_admin_views
from models_registry.serializers import ModelNameIn


def _check_chat(user, body: dict) -> None:
    """Open WebUI's verify_chat_ownership: a `chat_id` named must be a chat the caller may open
    (temporary chats, `local:...`, have no owner to check)."""
    chat_id = body.get("chat_id")
    if not chat_id or str(chat_id).startswith("local:"):
        return
    if str(chat_id).startswith("channel:"):
        raise ApplicationError(400, "Channel chats are not supported on this endpoint")
    selectors.get(selectors.readable(user), chat_id)


@extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
@api_view(["POST"])
def chat_completed(request):
    """No outlet filters run here: the data comes back as sent (without Open WebUI's `model_item`)."""
    body = dict(validated(JsonObjectIn, request.data, status=400))
    _check_chat(request.user, body)
    body.pop("model_item", None)
    return Response(body)


@extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
@api_view(["POST"])
def chat_action(request, action_id):
    """Action plugins (Open WebUI's functions) are not offered: every action is unknown."""
    body = validated(JsonObjectIn, request.data, status=400)
    _check_chat(request.user, body)
    raise ApplicationError(400, f"Action not found: {str(action_id).split('.')[0]}")


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
@permission_classes([IsAdmin])
def tasks(request):
    return Response({"tasks": []})


@extend_schema(request=None, responses=OpenApiTypes.OBJECT)
@api_view(["POST"])
@permission_classes([IsAdmin])
def stop_task(request, task_id):
    raise ApplicationError(404, f"Task with ID {task_id} not found.")


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def chat_tasks(request, chat_id):
    """None of the caller's chats has a task running (an unknown chat has none either, as in Open WebUI)."""
    return Response({"task_ids": []})


@extend_schema(request=None, responses=OpenApiTypes.OBJECT)
@api_view(["POST"])
def stop_chat_tasks(request, chat_id):
    services.owned_chat(request.user, chat_id)
    return Response({"status": True, "message": "No tasks found."})


@documented(post={"request": ModelNameIn, "responses": OpenApiTypes.OBJECT,
                  "summary": "Unload a model from the Ollama servers holding it (admin)"})
@endpoint("POST")
async def models_unload(request):
    """Open WebUI's unified unload: the Ollama unload of /ollama/api/unload (OpenAI-compatible servers
    here manage no models)."""
    return await provider_admin_views.ollama_unload(request)
