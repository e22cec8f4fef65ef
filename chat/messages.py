"""POST /api/v1/messages (and /api/message) and their count_tokens: Anthropic's Messages API on the
chat completion path. The request is converted (chat.anthropic) and then prepared exactly as a
/api/chat/completions request is (model resolution and access, presets, a preset's knowledge), so
the same provider call serves it."""

import random

from chat import anthropic, completions, validation
from config.common import requestlog
from config.common.errors import ApplicationError
from models_registry import presets, providers, registry


def _validated(body) -> dict:
    error = validation.messages_error(body)
    if error:
        raise ApplicationError(400, error)
    return body


async def prepare(user, body) -> completions.Prepared:
    return await completions.prepare(user, anthropic.to_openai(_validated(body)))


async def count_tokens(user, body) -> int:
    """The request's input tokens: counted by the upstream when it can (an Anthropic-compatible
    OpenAI connection), else estimated from the text, the preset's system prompt included."""
    body = _validated(body)
    requestlog.note_model(body["model"])
    entry = await registry.resolve(user, body["model"])
    if entry is None:
        raise ApplicationError(400, "Model not found")
    provider = providers.provider_for(random.choice(entry.connections))
    counted = await provider.count_message_tokens({**body, "model": entry.upstream_id})
    if counted is not None:
        return counted
    request = anthropic.to_openai(body)
    messages = presets.apply(entry, request, user).messages
    return anthropic.estimate_tokens(messages, request.get("tools"))
