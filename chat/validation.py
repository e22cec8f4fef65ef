"""The OpenAI chat request, declared as pydantic models: what our conversions would trip over (a 500)
or what we would forward for the upstream to refuse (a 502) is a 400 with a one-line detail naming
the place (`messages[0].content[1].text must be a string.`). Fields we do not look at pass as they
are (the body itself is forwarded, not the model), and types are strict: "5" is not an integer."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag
from pydantic_core import PydanticCustomError

from config.common.forms import first_error, says


def _falsy_is_none(value):
    return value or None  # Open WebUI sends `params: {}`, some clients `""` or `[]`: all mean none


class _Open(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


Integer = Annotated[int | None, says("must be an integer.")]
Number = Annotated[float | None, says("must be a number.")]
Object = Annotated[dict | None, says("must be an object.")]


class GenerationParams(_Open):
    """Typed generation parameters, at the top level or in `params` (None means unset)."""

    max_tokens: Integer = None
    max_completion_tokens: Integer = None
    num_predict: Integer = None
    top_k: Integer = None
    seed: Integer = None
    n: Integer = None
    num_ctx: Integer = None
    num_batch: Integer = None
    num_keep: Integer = None
    num_gpu: Integer = None
    num_thread: Integer = None
    repeat_last_n: Integer = None
    mirostat: Integer = None
    temperature: Number = None
    top_p: Number = None
    min_p: Number = None
    frequency_penalty: Number = None
    presence_penalty: Number = None
    repeat_penalty: Number = None
    typical_p: Number = None
    tfs_z: Number = None
    mirostat_eta: Number = None
    mirostat_tau: Number = None
    options: Object = None
    custom_params: Object = None


class _TextPart(_Open):
    text: Annotated[str, says("must be a string.")] = Field(None, validate_default=True)


class _ImageUrl(_Open):
    url: str


class _ImagePart(_Open):
    image_url: Annotated[_ImageUrl, says("must be an object with a url string.", whole=True)] = Field(
        None, validate_default=True)


def _tag(value, tags: dict[str, str], other: str) -> str | None:
    """A tagged union's tag: by the object's `type`, `other` for any other type, None if not an object."""
    return tags.get(value.get("type"), other) if isinstance(value, dict) else None


_PART_TAGS = {"text": "<text>", "image_url": "<image>"}
Part = Annotated[
    Annotated[_TextPart, Tag("<text>")] | Annotated[_ImagePart, Tag("<image>")] | Annotated[_Open, Tag("<other>")],
    Discriminator(lambda v: _tag(v, _PART_TAGS, "<other>"), custom_error_type="invalid",
                  custom_error_message="must be an object."),
]


def _content_kind(value) -> str | None:
    return "<parts>" if isinstance(value, list) else "<text>" if isinstance(value, str) else "<none>" if value is None else None


Content = Annotated[
    Annotated[str, Tag("<text>")] | Annotated[list[Part], Tag("<parts>")] | Annotated[None, Tag("<none>")],
    Discriminator(_content_kind, custom_error_type="invalid", custom_error_message="must be a string or a list of parts."),
]


class _ToolCall(_Open):
    function: dict | None = None


class Message(_Open):
    role: Annotated[str, says("must be a string.")] = ""
    content: Content = None
    tool_calls: Annotated[list[_ToolCall] | None, says("must be a list of objects with a function object.", whole=True)] = None


class _FileRef(_Open):
    id: Annotated[str | int, says("must be a string.", whole=True)] = Field(None, validate_default=True)


class _TextRef(_Open):
    content: Annotated[str, says("must be a string.")] = Field(None, validate_default=True)


_FILE_TAGS = {"file": "<file>", "collection": "<file>", "text": "<text>"}
FileItem = Annotated[
    Annotated[_FileRef, Tag("<file>")] | Annotated[_TextRef, Tag("<text>")] | Annotated[Any, Tag("<other>")],
    Discriminator(lambda v: _tag(v, _FILE_TAGS, "<other>") or "<other>"),  # not ours to retrieve from: ignored
]


class _ResponseFormat(_Open):
    json_schema: dict | None = None


class _Target(_Open):
    model: Annotated[str, Field(min_length=1), says(": a model id is required.")] = Field(None, validate_default=True)
    messages: Annotated[list[Message], Field(min_length=1),
                        says(": a non-empty list of message objects is required.", depth=1)] = Field(None, validate_default=True)


class ChatRequest(GenerationParams, _Target):
    """POST /api/chat/completions (and a WebSocket `chat` message's body); checked in the order of its
    fields: the model and messages first (pydantic puts the last base's fields first)."""

    params: Annotated[GenerationParams | None, BeforeValidator(_falsy_is_none), says("must be an object.")] = None
    files: Annotated[list[FileItem] | None, BeforeValidator(_falsy_is_none), says("must be a list.")] = None
    response_format: Annotated[_ResponseFormat | None,
                               says("must be an object (its json_schema too).", whole=True)] = None


def request_error(body) -> str | None:
    """The first problem of a chat request, or None."""
    return first_error(ChatRequest, body)


# --- POST /api/embeddings (OpenAI's embeddings request) -------------------------------------------

MAX_EMBEDDING_INPUTS = 2048  # as OpenAI's own limit


def _embedding_input(value):
    """A text, a list of texts, a token array or a list of token arrays; as a list either way."""
    if isinstance(value, list) and len(value) > MAX_EMBEDDING_INPUTS:
        raise PydanticCustomError("invalid", f"must hold at most {MAX_EMBEDDING_INPUTS} items.")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, str) for v in value):
            return value
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return [value]
        if all(isinstance(v, list) and v and all(isinstance(t, int) and not isinstance(t, bool) for t in v) for v in value):
            return value
    raise PydanticCustomError("invalid", "must be a string, a non-empty list of strings, or token arrays (lists of integers).")


class EmbeddingsRequest(_Open):
    model: Annotated[str, Field(min_length=1), says(": a model id is required.")] = Field(None, validate_default=True)
    input: Annotated[list, BeforeValidator(_embedding_input)] = Field(None, validate_default=True)
    encoding_format: Annotated[Literal["float", "base64"] | None, says('must be "float" or "base64".')] = None
    dimensions: Annotated[int | None, Field(gt=0), says("must be a positive integer.")] = None
    user: Annotated[str | None, says("must be a string.")] = None


def embeddings_error(body) -> str | None:
    return first_error(EmbeddingsRequest, body)


# --- POST /api/v1/messages (Anthropic's Messages request) ------------------------------------------


class _TextBlock(_Open):
    text: Annotated[str, says("must be a string.")] = Field(None, validate_default=True)


class _ImageSource(_Open):
    type: Annotated[Literal["base64", "url"], says('must be "base64" or "url".')] = Field(None, validate_default=True)


class _ImageBlock(_Open):
    source: Annotated[_ImageSource, says('must be an object with type "base64" (and data) or "url" (and url).',
                                         whole=True)] = Field(None, validate_default=True)


class _ToolUseBlock(_Open):
    id: Annotated[str, says("must be a string.")] = ""
    name: Annotated[str, says("must be a string.")] = Field(None, validate_default=True)
    input: Annotated[dict, says("must be an object.")] = Field(default_factory=dict)


class _ToolResultBlock(_Open):
    tool_use_id: Annotated[str, says("must be a string.")] = Field(None, validate_default=True)


_BLOCK_TAGS = {"text": "<text>", "image": "<image>", "tool_use": "<tool_use>", "tool_result": "<tool_result>"}
Block = Annotated[
    Annotated[_TextBlock, Tag("<text>")] | Annotated[_ImageBlock, Tag("<image>")]
    | Annotated[_ToolUseBlock, Tag("<tool_use>")] | Annotated[_ToolResultBlock, Tag("<tool_result>")]
    | Annotated[_Open, Tag("<other>")],
    Discriminator(lambda v: _tag(v, _BLOCK_TAGS, "<other>"), custom_error_type="invalid",
                  custom_error_message="must be a content block object."),
]
BlockContent = Annotated[
    Annotated[str, Tag("<text>")] | Annotated[list[Block], Tag("<parts>")],
    Discriminator(lambda v: _content_kind(v) if v is not None else None, custom_error_type="invalid",
                  custom_error_message="must be a string or a list of content blocks."),
]


class _AnthropicMessage(_Open):
    role: Annotated[Literal["user", "assistant"], says('must be "user" or "assistant".')] = Field(None, validate_default=True)
    content: BlockContent = Field(None, validate_default=True)


class _Tool(_Open):
    name: Annotated[str, Field(min_length=1), says("must be a non-empty string.")] = Field(None, validate_default=True)
    input_schema: Object = None


class MessagesRequest(_Open):
    """POST /api/v1/messages (and count_tokens): what the conversion reads, typed; the rest passes."""

    model: Annotated[str, Field(min_length=1), says(": a model id is required.")] = Field(None, validate_default=True)
    messages: Annotated[list[_AnthropicMessage], Field(min_length=1),
                        says(": a non-empty list of message objects is required.", depth=1)] = Field(None, validate_default=True)
    system: Annotated[str | list[_TextBlock] | None, says("must be a string or a list of text blocks.", whole=True)] = None
    max_tokens: Annotated[int | None, Field(gt=0), says("must be a positive integer.")] = None
    stop_sequences: Annotated[list[str] | None, says("must be a list of strings.", whole=True)] = None
    temperature: Number = None
    top_p: Number = None
    top_k: Integer = None
    stream: Annotated[bool | None, says("must be a boolean.")] = None
    tools: Annotated[list[_Tool] | None, says("must be a list of tool objects.", depth=1)] = None
    tool_choice: Object = None


def messages_error(body) -> str | None:
    return first_error(MessagesRequest, body)
