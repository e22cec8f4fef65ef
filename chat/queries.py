"""Search queries written by a model before retrieval (DECISIONS #4: off unless
ENABLE_RETRIEVAL_QUERY_GENERATION is on), as /api/v1/tasks/queries/completions writes them: Open
WebUI's query template (or QUERY_GENERATION_PROMPT_TEMPLATE) sent to the task model. Any failure
falls back to the last user message."""

import asyncio
import json
import logging
import re

from chat import context, task_model, task_prompts, task_templates
from config.common.errors import ApplicationError
from models_registry import registry

logger = logging.getLogger(__name__)

TIMEOUT = 30.0  # seconds the task model gets before the last user message is used instead
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


async def queries_for(user, entry: registry.Entry, body: dict, preset_knowledge: list, config: dict) -> list[str]:
    """What to search the request's files for: nothing when no item is searched."""
    if config["RAG_FULL_CONTEXT"] or not context.needs_search(body, preset_knowledge):
        return []
    messages = body["messages"]
    last = context.last_user_text(messages)
    if not config["ENABLE_RETRIEVAL_QUERY_GENERATION"] or not last:
        return [last] if last else []
    try:
        written = await asyncio.wait_for(_ask(user, entry.id, messages, config), TIMEOUT)
    except (TimeoutError, ApplicationError, ValueError, LookupError, TypeError) as exc:
        logger.warning("Query generation failed (%s); searching with the last message", exc.__class__.__name__)
        return [last]
    return written or [last]


async def _ask(user, model_id: str, messages: list[dict], config: dict) -> list[str]:
    from chat import completions

    model, params = await task_model.choose(user, model_id, config)
    template = config["QUERY_GENERATION_PROMPT_TEMPLATE"]
    prompt = task_prompts.from_messages(template if template.strip() else task_templates.QUERY, messages, user)
    body = {"model": model, "stream": False, "messages": [{"role": "user", "content": prompt}], "params": params}
    # no retrieval for this request: a preset with knowledge as the task model would ask itself again
    answer = json.loads(await completions.complete(await completions.prepare(user, body, retrieval=False)))
    text = answer["choices"][0]["message"]["content"]
    match = _OBJECT.search(text or "")
    queries = json.loads(match.group(0)).get("queries") if match else None
    if not isinstance(queries, list):
        return []
    return [q.strip() for q in queries if isinstance(q, str) and q.strip()][:3]
