"""Which model runs a task (Open WebUI 0.12.4's get_task_model_id) and with which params: shared
by /api/v1/tasks/* and the retrieval query generation of chat completions."""

from config.common.errors import ApplicationError
from models_registry import registry

LOCAL = "local"  # a model's connection_type that selects TASK_MODEL (others: TASK_MODEL_EXTERNAL)


async def choose(user, model_id: str, config: dict) -> tuple[str, dict]:
    """TASK_MODEL for a chat model of a local connection, TASK_MODEL_EXTERNAL for others, when set
    and usable by the user; else the chat model itself. The params are TASK_MODEL_PARAMS' set ones."""
    models = {entry.id: entry for entry in await registry.models_for(user)}
    if model_id not in models:
        raise ApplicationError(404, f"Model '{model_id}' was not found")
    chosen = config["TASK_MODEL"] if models[model_id].public.get("connection_type") == LOCAL else config["TASK_MODEL_EXTERNAL"]
    params = {k: v for k, v in (config["TASK_MODEL_PARAMS"] or {}).items() if v is not None and v != ""}
    return (chosen if chosen and chosen in models else model_id), params
