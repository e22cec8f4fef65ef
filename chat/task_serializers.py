"""Request bodies of /api/v1/tasks/* (Open WebUI 0.12.4's routers/tasks.py)."""

from rest_framework import serializers
from rest_framework.fields import empty

from config import runtime
from config.runtime.serializers import SettingField, settings_serializer

# GET /tasks/config answers these (Open WebUI's TASK_CONFIG_KEYS), by their setting names
CONFIG_FIELDS = (
    "TASK_MODEL", "TASK_MODEL_EXTERNAL", "TASK_MODEL_PARAMS", "TITLE_GENERATION_PROMPT_TEMPLATE",
    "IMAGE_PROMPT_GENERATION_PROMPT_TEMPLATE", "ENABLE_AUTOCOMPLETE_GENERATION", "AUTOCOMPLETE_GENERATION_INPUT_MAX_LENGTH",
    "AUTOCOMPLETE_GENERATION_PROMPT_TEMPLATE", "TAGS_GENERATION_PROMPT_TEMPLATE", "FOLLOW_UP_GENERATION_PROMPT_TEMPLATE",
    "ENABLE_FOLLOW_UP_GENERATION", "ENABLE_TAGS_GENERATION", "ENABLE_TITLE_GENERATION", "ENABLE_SEARCH_QUERY_GENERATION",
    "ENABLE_RETRIEVAL_QUERY_GENERATION", "QUERY_GENERATION_PROMPT_TEMPLATE", "TOOLS_FUNCTION_CALLING_PROMPT_TEMPLATE",
    "ENABLE_VOICE_MODE_PROMPT", "VOICE_MODE_PROMPT_TEMPLATE",
)


class _NullIsDefault(SettingField):
    """Open WebUI puts the environment's default back when the form sends null."""

    def run_validation(self, data=empty):
        if data is None:
            data = runtime.DECLARED[self.field_name].default()
        return super().run_validation(data)


# POST /tasks/config/update: every field optional (a field not sent keeps its value)
TaskConfigIn = settings_serializer("TaskConfigIn", CONFIG_FIELDS,
                                   AUTOCOMPLETE_GENERATION_INPUT_MAX_LENGTH=_NullIsDefault())

MAX_MESSAGES = 10_000


class _Task(serializers.Serializer):
    model = serializers.CharField(max_length=512, error_messages={
        "blank": "No model specified. Please ensure a model is selected for this chat.",
        "required": "No model specified. Please ensure a model is selected for this chat."})
    chat_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class MessagesTaskIn(_Task):
    """Title, tags, follow-ups, image prompt, queries: from the chat's messages."""

    messages = serializers.ListField(child=serializers.DictField(), max_length=MAX_MESSAGES)
    type = serializers.CharField(required=False, allow_null=True, allow_blank=True)  # queries: web_search | retrieval


class EmojiIn(_Task):
    prompt = serializers.CharField(allow_blank=True, trim_whitespace=False)


class AutocompleteIn(_Task):
    prompt = serializers.CharField(allow_blank=True, trim_whitespace=False)
    type = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    messages = serializers.ListField(child=serializers.DictField(), max_length=MAX_MESSAGES, required=False, allow_null=True)


class MoaIn(_Task):
    prompt = serializers.CharField(allow_blank=True, trim_whitespace=False)
    responses = serializers.ListField(child=serializers.CharField(allow_blank=True, trim_whitespace=False), max_length=100)
    stream = serializers.BooleanField(required=False, default=False)
