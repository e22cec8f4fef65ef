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


class EmbeddingsRequest(s.Serializer):
    model = s.CharField()
    input = ANY(help_text="A string or a list of strings")
    encoding_format = s.ChoiceField(["float", "base64"], required=False)
    dimensions = s.IntegerField(required=False)


class Embedding(s.Serializer):
    object = s.CharField(help_text='always "embedding"')
    index = s.IntegerField()
    embedding = s.ListField(child=s.FloatField())


class EmbeddingsResponse(s.Serializer):
    object = s.CharField(help_text='always "list"')
    data = Embedding(many=True)
    model = s.CharField()
    usage = s.DictField(required=False)


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


class OllamaVersion(s.Serializer):
    version = s.CharField()


# --- ours ----------------------------------------------------------------------------------------


class Status(s.Serializer):
    status = s.BooleanField()


class Version(s.Serializer):
    version = s.CharField()
    deployment_id = s.CharField(allow_blank=True)


class Readiness(Detail):
    checks = s.DictField(child=s.CharField(), required=False)
