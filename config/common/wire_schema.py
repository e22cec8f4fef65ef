"""The wire shapes of the OpenAI and Ollama protocols as /openapi.json documents them (for the plain
async views, through config.common.schema.documented). Documentation only: requests are checked by
the views' own forms and relayed as sent, so extra fields are allowed everywhere."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers as s

ANY = s.JSONField  # a value of any JSON type (string or content parts, numbers or lists...)
SSE = OpenApiResponse(OpenApiTypes.STR, description="Server-sent events: `data: {chunk}` lines, then `data: [DONE]`")
NDJSON = OpenApiResponse(OpenApiTypes.STR, description="Newline-delimited JSON objects (Ollama's stream format)")


class Detail(s.Serializer):
    detail = s.CharField(help_text="A readable message")


ERRORS = {400: Detail, 401: Detail, 403: Detail, 404: Detail, 422: Detail, 429: Detail, 502: Detail, 504: Detail}


def answers(ok, *, stream: str | None = None) -> dict:
    """extend_schema's `responses`: `ok` as JSON, the stream when the body may ask for one (`"sse"` or
    `"ndjson"`), and the errors (`{"detail": ...}`)."""
    found = {(200, "application/json"): ok, **{(code, "application/json"): e for code, e in ERRORS.items()}}
    if stream == "sse":
        found[(200, "text/event-stream")] = SSE
    elif stream == "ndjson":
        found[(200, "application/x-ndjson")] = NDJSON
    return found


def errors(*codes: int) -> dict:
    return {(code, "application/json"): Detail for code in codes}


NOT_OFFERED = OpenApiResponse(OpenApiTypes.OBJECT, description="What Open WebUI answers for set-ups this gateway does "
                              "not have; never answered here (see the error codes)")


def not_offered(methods, codes: tuple[int, ...], summary: str) -> dict:
    """`documented`'s operations for a route kept for Open WebUI's clients that always answers one of
    `codes` (an error)."""
    responses = {(200, "application/json"): NOT_OFFERED, **errors(*sorted({401, 403, *codes}))}
    return {m: {"responses": responses, "summary": summary, **({"request": OpenApiTypes.OBJECT} if m in ("post", "put") else {})}
            for m in methods}


REFRESH = OpenApiParameter("refresh", bool, description="Skip the cached model list")


# --- OpenAI --------------------------------------------------------------------------------------


class ChatMessage(s.Serializer):
    role = s.ChoiceField(["system", "developer", "user", "assistant", "tool"])
    content = ANY(required=False, allow_null=True, help_text="Text, or a list of content parts (text, image_url)")
    name = s.CharField(required=False)
    tool_calls = s.ListField(child=s.DictField(), required=False)
    tool_call_id = s.CharField(required=False)


class AttachedItem(s.Serializer):
    type = s.ChoiceField(["file", "collection"])
    id = s.CharField()


class ChatCompletionRequest(s.Serializer):
    model = s.CharField(help_text="A model id from GET /api/models")
    messages = ChatMessage(many=True)
    stream = s.BooleanField(required=False, default=False)
    temperature = s.FloatField(required=False)
    top_p = s.FloatField(required=False)
    max_tokens = s.IntegerField(required=False)
    max_completion_tokens = s.IntegerField(required=False)
    stop = ANY(required=False)
    seed = s.IntegerField(required=False)
    tools = s.ListField(child=s.DictField(), required=False)
    tool_choice = ANY(required=False)
    response_format = s.DictField(required=False)
    stream_options = s.DictField(required=False)
    files = AttachedItem(many=True, required=False, help_text="Files and collections to retrieve context from")


class Usage(s.Serializer):
    prompt_tokens = s.IntegerField()
    completion_tokens = s.IntegerField()
    total_tokens = s.IntegerField()


class Choice(s.Serializer):
    index = s.IntegerField()
    message = ChatMessage()
    finish_reason = s.CharField(allow_null=True)


class ChatCompletion(s.Serializer):
    id = s.CharField()
    object = s.CharField(help_text='always "chat.completion"')
    created = s.IntegerField()
    model = s.CharField()
    choices = Choice(many=True)
    usage = Usage(required=False)
    sources = s.ListField(child=s.DictField(), required=False, help_text="Retrieved passages the answer drew on")


class Model(s.Serializer):
    id = s.CharField()
    name = s.CharField()
    object = s.CharField(help_text='always "model"')
    created = s.IntegerField()
    owned_by = s.CharField()
    connection_type = s.CharField(required=False)
    preset = s.BooleanField(required=False)
    info = s.DictField(required=False)


class ModelList(s.Serializer):
    data = Model(many=True)


class OpenAIModelList(ModelList):
    object = s.CharField(help_text='always "list"', required=False)


class BareModel(s.Serializer):
    id = s.CharField()
    object = s.CharField(help_text='always "model"')
    created = s.IntegerField()
    owned_by = s.CharField()


class BareModelList(s.Serializer):
    """OpenAI's model list as Ollama's /v1/models gives it."""

    object = s.CharField(help_text='always "list"')
    data = BareModel(many=True)


class EmbeddingsRequest(s.Serializer):
    model = s.CharField()
    input = ANY(help_text="A string or a list of strings (or of token lists)")
    encoding_format = s.ChoiceField(["float", "base64"], required=False)
    dimensions = s.IntegerField(required=False, min_value=1)
    user = s.CharField(required=False)


class Embedding(s.Serializer):
    object = s.CharField(help_text='always "embedding"')
    index = s.IntegerField()
    embedding = ANY(help_text='A list of floats, or (`encoding_format` "base64") the base64 of its little-endian float32 bytes')


class EmbeddingsResponse(s.Serializer):
    object = s.CharField(help_text='always "list"')
    data = Embedding(many=True)
    model = s.CharField()
    usage = s.DictField(required=False)


class CompletionRequest(s.Serializer):
    """The legacy completions API (Ollama's /v1/completions)."""

    model = s.CharField()
    prompt = ANY(help_text="A string or a list of strings")
    stream = s.BooleanField(required=False, default=False)
    max_tokens = s.IntegerField(required=False)
    temperature = s.FloatField(required=False)
    top_p = s.FloatField(required=False)
    stop = ANY(required=False)
    seed = s.IntegerField(required=False)
    suffix = s.CharField(required=False)


class CompletionChoice(s.Serializer):
    index = s.IntegerField()
    text = s.CharField(allow_blank=True)
    finish_reason = s.CharField(allow_null=True)


class Completion(s.Serializer):
    id = s.CharField()
    object = s.CharField(help_text='always "text_completion"')
    created = s.IntegerField()
    model = s.CharField()
    choices = CompletionChoice(many=True)
    usage = Usage(required=False)


class ResponsesRequest(s.Serializer):
    """OpenAI's Responses API, relayed as sent."""

    model = s.CharField()
    input = ANY(help_text="A string, or a list of input items (messages, function call outputs...)")
    instructions = s.CharField(required=False)
    stream = s.BooleanField(required=False, default=False)
    max_output_tokens = s.IntegerField(required=False)
    temperature = s.FloatField(required=False)
    top_p = s.FloatField(required=False)
    tools = s.ListField(child=s.DictField(), required=False)
    tool_choice = ANY(required=False)
    previous_response_id = s.CharField(required=False)
    text = s.DictField(required=False)
    reasoning = s.DictField(required=False)


class ResponsesResponse(s.Serializer):
    id = s.CharField()
    object = s.CharField(help_text='always "response"')
    created_at = s.IntegerField()
    model = s.CharField()
    status = s.CharField()
    output = s.ListField(child=s.DictField(), help_text="Output items (messages with output_text parts, function calls...)")
    usage = s.DictField(required=False)


RESPONSES_SSE = OpenApiResponse(OpenApiTypes.STR, description="The Responses API's server-sent events "
                                "(`event: response.created`, response.output_text.delta... response.completed)")


# --- Anthropic -----------------------------------------------------------------------------------


class AnthropicMessage(s.Serializer):
    role = s.ChoiceField(["user", "assistant"])
    content = ANY(help_text="Text, or a list of content blocks (text, image, tool_use, tool_result)")


class AnthropicTool(s.Serializer):
    name = s.CharField()
    description = s.CharField(required=False)
    input_schema = s.DictField(required=False)


class MessagesRequest(s.Serializer):
    """Anthropic's Messages API (also the body of count_tokens)."""

    model = s.CharField(help_text="A model id from GET /api/models")
    messages = AnthropicMessage(many=True)
    system = ANY(required=False, help_text="Text, or a list of text blocks")
    max_tokens = s.IntegerField(required=False, min_value=1)
    stop_sequences = s.ListField(child=s.CharField(), required=False)
    temperature = s.FloatField(required=False)
    top_p = s.FloatField(required=False)
    top_k = s.IntegerField(required=False)
    stream = s.BooleanField(required=False, default=False)
    tools = AnthropicTool(many=True, required=False)
    tool_choice = s.DictField(required=False, help_text='`{"type": "auto" | "any" | "none" | "tool", "name"?}`')


class AnthropicUsage(s.Serializer):
    input_tokens = s.IntegerField()
    output_tokens = s.IntegerField()


class AnthropicResponse(s.Serializer):
    id = s.CharField()
    type = s.CharField(help_text='always "message"')
    role = s.CharField(help_text='always "assistant"')
    model = s.CharField()
    content = s.ListField(child=s.DictField(), help_text="Content blocks: thinking, text, tool_use")
    stop_reason = s.CharField(help_text="end_turn, max_tokens or tool_use")
    stop_sequence = s.CharField(allow_null=True)
    usage = AnthropicUsage()


class TokenCount(s.Serializer):
    input_tokens = s.IntegerField()


ANTHROPIC_SSE = OpenApiResponse(OpenApiTypes.STR, description="Anthropic's server-sent events: `event: message_start`, "
                                "content_block_start/delta/stop, message_delta, message_stop")


# --- Ollama --------------------------------------------------------------------------------------


class OllamaMessage(s.Serializer):
    role = s.ChoiceField(["system", "user", "assistant", "tool"])
    content = s.CharField(allow_blank=True)
    images = s.ListField(child=s.CharField(), required=False, help_text="Base64 images")
    tool_calls = s.ListField(child=s.DictField(), required=False)
    thinking = s.CharField(required=False)


class OllamaChatRequest(s.Serializer):
    model = s.CharField()
    messages = OllamaMessage(many=True)
    stream = s.BooleanField(required=False, default=True)
    format = ANY(required=False)
    options = s.DictField(required=False)
    tools = s.ListField(child=s.DictField(), required=False)
    keep_alive = ANY(required=False)
    think = ANY(required=False)


class OllamaTimings(s.Serializer):
    model = s.CharField()
    created_at = s.CharField()
    done = s.BooleanField()
    done_reason = s.CharField(required=False)
    total_duration = s.IntegerField(required=False)
    prompt_eval_count = s.IntegerField(required=False)
    eval_count = s.IntegerField(required=False)


class OllamaChatResponse(OllamaTimings):
    message = OllamaMessage()


class OllamaGenerateRequest(s.Serializer):
    model = s.CharField()
    prompt = s.CharField(allow_blank=True, required=False)
    suffix = s.CharField(required=False)
    system = s.CharField(required=False)
    images = s.ListField(child=s.CharField(), required=False)
    stream = s.BooleanField(required=False, default=True)
    format = ANY(required=False)
    options = s.DictField(required=False)
    raw = s.BooleanField(required=False)
    keep_alive = ANY(required=False)


class OllamaGenerateResponse(OllamaTimings):
    response = s.CharField(allow_blank=True)


class OllamaEmbedRequest(s.Serializer):
    model = s.CharField()
    input = ANY(help_text="A string or a list of strings")
    truncate = s.BooleanField(required=False)
    options = s.DictField(required=False)
    keep_alive = ANY(required=False)


class OllamaEmbedResponse(s.Serializer):
    model = s.CharField()
    embeddings = s.ListField(child=s.ListField(child=s.FloatField()))


class OllamaEmbeddingsRequest(s.Serializer):
    model = s.CharField()
    prompt = s.CharField()
    options = s.DictField(required=False)


class OllamaEmbeddingsResponse(s.Serializer):
    embedding = s.ListField(child=s.FloatField())


class OllamaShowRequest(s.Serializer):
    model = s.CharField(required=False, help_text="The model id (older clients send `name`)")
    name = s.CharField(required=False)
    verbose = s.BooleanField(required=False)


class OllamaModel(s.Serializer):
    name = s.CharField()
    model = s.CharField()
    modified_at = s.CharField(required=False)
    size = s.IntegerField(required=False)
    digest = s.CharField(required=False)
    details = s.DictField(required=False)


class OllamaTags(s.Serializer):
    models = OllamaModel(many=True)


class OllamaModelRequest(s.Serializer):
    """pull, push, delete, unload: the model by name; pull, push and create stream their progress."""

    model = s.CharField(required=False, help_text="The model name (older clients send `name`)")
    name = s.CharField(required=False)
    insecure = s.BooleanField(required=False)
    stream = s.BooleanField(required=False, default=True)


class OllamaCreateRequest(OllamaModelRequest):
    model = s.CharField(help_text="The new model's name")
    from_ = s.CharField(required=False, help_text="The model to start from")
    files = s.DictField(required=False)
    adapters = s.DictField(required=False)
    template = s.CharField(required=False)
    system = s.CharField(required=False)
    parameters = s.DictField(required=False)
    quantize = s.CharField(required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class OllamaCopyRequest(s.Serializer):
    source = s.CharField()
    destination = s.CharField()


class OllamaProgress(s.Serializer):
    status = s.CharField()
    digest = s.CharField(required=False)
    total = s.IntegerField(required=False)
    completed = s.IntegerField(required=False)


class OllamaVersion(s.Serializer):
    version = s.CharField()


# --- ours ----------------------------------------------------------------------------------------


class Status(s.Serializer):
    status = s.BooleanField()


class Version(s.Serializer):
    version = s.CharField()
    deployment_id = s.CharField(allow_blank=True)


class Verify(s.Serializer):
    url = s.RegexField(r"^https?://\S+$", help_text="The server's base URL")
    key = s.CharField(required=False, allow_null=True)
    config = s.DictField(required=False, allow_null=True)


class EventType(s.Serializer):
    type = s.CharField()
    description = s.CharField()


class EventCatalog(s.Serializer):
    events = EventType(many=True)


class Readiness(Detail):
    checks = s.DictField(child=s.CharField(), required=False)
