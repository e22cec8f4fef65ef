"""Shape checks on a chat request beyond "model" and "messages": what our conversions would trip
over (a 500) or what we would forward for the upstream to refuse (a 502) is a 400 here."""

INTEGER_PARAMS = (
    "max_tokens", "max_completion_tokens", "num_predict", "top_k", "seed", "n", "num_ctx", "num_batch",
    "num_keep", "num_gpu", "num_thread", "repeat_last_n", "mirostat",
)
NUMBER_PARAMS = (
    "temperature", "top_p", "min_p", "frequency_penalty", "presence_penalty", "repeat_penalty", "typical_p",
    "tfs_z", "mirostat_eta", "mirostat_tau",
)
OBJECT_PARAMS = ("options", "custom_params")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def param_errors(params: dict, where: str = "") -> str | None:
    """The first badly typed generation parameter (None values mean "unset" and pass)."""
    for key in INTEGER_PARAMS:
        if params.get(key) is not None and not _is_int(params[key]):
            return f"{where}{key} must be an integer."
    for key in NUMBER_PARAMS:
        if params.get(key) is not None and not _is_number(params[key]):
            return f"{where}{key} must be a number."
    for key in OBJECT_PARAMS:
        if params.get(key) is not None and not isinstance(params[key], dict):
            return f"{where}{key} must be an object."
    return None


def _part_error(part, where: str) -> str | None:
    if not isinstance(part, dict):
        return f"{where} must be an object."
    part_type = part.get("type")
    if part_type == "text" and not isinstance(part.get("text"), str):
        return f"{where}.text must be a string."
    if part_type == "image_url":
        image = part.get("image_url")
        if not isinstance(image, dict) or not isinstance(image.get("url"), str):
            return f"{where}.image_url must be an object with a url string."
    return None


def message_errors(messages: list[dict]) -> str | None:
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message.get("role", ""), str):
            return f"{where}.role must be a string."
        content = message.get("content")
        if isinstance(content, list):
            for j, part in enumerate(content):
                error = _part_error(part, f"{where}.content[{j}]")
                if error:
                    return error
        elif content is not None and not isinstance(content, str):
            return f"{where}.content must be a string or a list of parts."
        calls = message.get("tool_calls")
        if calls is not None and (
            not isinstance(calls, list)
            or not all(isinstance(c, dict) and isinstance(c.get("function", {}), dict) for c in calls)
        ):
            return f"{where}.tool_calls must be a list of objects with a function object."
    return None


def _files_error(files) -> str | None:
    for i, item in enumerate(files if isinstance(files, list) else []):
        if not isinstance(item, dict):
            continue  # not something we retrieve from: ignored, as other kinds are
        if item.get("type") in ("file", "collection") and not isinstance(item.get("id"), str | int):
            return f"files[{i}].id must be a string."
        if item.get("type") == "text" and not isinstance(item.get("content"), str):
            return f"files[{i}].content must be a string."
    return None


def _response_format_error(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("json_schema", {}), dict):
        return "response_format must be an object (its json_schema too)."
    return None


def request_error(body: dict) -> str | None:
    """The first problem of a chat request whose model and messages are present, or None."""
    return (
        message_errors(body["messages"])
        or param_errors(body)
        or param_errors(body.get("params") or {}, "params.")
        or _files_error(body.get("files"))
        or _response_format_error(body.get("response_format"))
    )
