"""Pydantic input models (for the OpenAI and Ollama shapes): `says` gives a field its message, and
`first_error` the one-line detail of a body's first problem, naming its place
(`messages[0].content[1].text must be a string.`)."""

from pydantic import BaseModel, ValidationError, WrapValidator
from pydantic_core import ErrorDetails, PydanticCustomError

NOT_AN_OBJECT = "The request body must be a JSON object."


def says(message: str, *, whole: bool = False, depth: int = 0) -> WrapValidator:
    """The field's own errors (wrong type, empty list, missing; with `depth` 1, also a list item's own)
    in our words; errors deeper inside keep theirs, unless `whole`. A message starting with ":"
    follows the field's name without a space. Union tags are named `<...>`, to be left out of places."""

    def wrap(value, handler):
        try:
            return handler(value)
        except ValidationError as exc:
            if whole or any(len(e["loc"]) <= depth for e in exc.errors()):
                raise PydanticCustomError("invalid", message) from None
            raise

    return WrapValidator(wrap)


def _place(loc: tuple) -> str:
    """`messages[0].content[1]` from pydantic's location (union tags left out)."""
    place = ""
    for part in loc:
        if isinstance(part, int):
            place += f"[{part}]"
        elif not part.startswith("<"):
            place += f".{part}" if place else part
    return place


def _detail(error: ErrorDetails) -> str:
    place, message = _place(error["loc"]), error["msg"]
    if not place:
        return NOT_AN_OBJECT
    return f"{place}{message}" if message.startswith(":") else f"{place} {message}"


def first_error(model: type[BaseModel], body) -> str | None:
    """The detail of the first problem `model` finds in `body`, or None."""
    try:
        model.model_validate(body)
    except ValidationError as exc:
        return _detail(exc.errors()[0])
    return None
