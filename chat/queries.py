"""Search queries written by a model before retrieval (DECISIONS #4: off unless
ENABLE_RETRIEVAL_QUERY_GENERATION is on). Any failure falls back to the last user message."""

import asyncio
import json
import logging
import re

from chat import context
from config.common.errors import ApplicationError
from models_registry import registry

logger = logging.getLogger(__name__)

TIMEOUT = 30.0  # seconds the task model gets before the last user message is used instead
PROMPT = """Write up to 3 short search queries that would find the documents needed to answer the \
last message of the conversation below. Use the language of the conversation. Answer with JSON only, \
exactly this shape: {"queries": ["first query", "second query"]}

<conversation>
%s
</conversation>"""
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
        written = await asyncio.wait_for(_ask(user, config["TASK_MODEL"] or entry.id, messages), TIMEOUT)
    except (TimeoutError, ApplicationError, ValueError, LookupError, TypeError) as exc:
        logger.warning("Query generation failed (%s); searching with the last message", exc.__class__.__name__)
        return [last]
    return written or [last]


async def _ask(user, model: str, messages: list[dict]) -> list[str]:
    from chat import completions

    history = "\n".join(f"{m.get('role')}: {context.message_text(m.get('content'))}" for m in messages[-6:])
    body = {"model": model, "stream": False, "messages": [{"role": "user", "content": PROMPT % history}]}
    # no retrieval for this request: a preset with knowledge as the task model would ask itself again
    answer = json.loads(await completions.complete(await completions.prepare(user, body, retrieval=False)))
    text = answer["choices"][0]["message"]["content"]
    match = _OBJECT.search(text or "")
    queries = json.loads(match.group(0)).get("queries") if match else None
    if not isinstance(queries, list):
        return []
    return [q.strip() for q in queries if isinstance(q, str) and q.strip()][:3]
