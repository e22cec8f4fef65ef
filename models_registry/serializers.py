from typing import Annotated

import httpx
from django.core.validators import RegexValidator
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError
from rest_framework import serializers

from accounts import access, grants
from accounts.serializers import ts
from config.common.fields import StrictCharField
from config.common.forms import says
from models_registry.models import Model
from models_registry.providers import header_safe


def model_out(model: Model, access_grants: list[dict], *, with_params: bool = True) -> dict:
    return {
        "id": model.id, "user_id": str(model.user_id) if model.user_id else None, "base_model_id": model.base_model_id,
        "name": model.name, "params": model.params if with_params else {}, "meta": model.meta,
        "access_grants": access_grants, "is_active": model.is_active, "version_id": str(model.version_id),
        "updated_at": ts(model.updated_at), "created_at": ts(model.created_at),
    }


def models_out(models: list[Model], user, writable: set[str]) -> list[dict]:
    """List items (model + owner + write_access) with grants fetched in one query."""
    by_id = grants.by_resource(access.MODEL, [m.id for m in models])
    items = []
    for m in models:
        item = model_out(m, by_id.get(m.id, []), with_params=m.id in writable)
        item["write_access"] = m.id in writable
        item["user"] = {"id": str(m.user.id), "name": m.user.name, "email": m.user.email, "role": m.user.role} if m.user else None
        items.append(item)
    return items


def _messages(message: str, *kinds: str) -> dict:
    return dict.fromkeys(("required", "null", "blank", "invalid", *kinds), message)


class ModelIdIn(serializers.Serializer):
    """A model id in a body (Open WebUI's own ids, free text without whitespace)."""

    id = StrictCharField(max_length=256, trim_whitespace=False, validators=[
        RegexValidator(r"^\S+$", "id must be 1 to 256 characters without whitespace.")],
        error_messages=_messages("id must be 1 to 256 characters without whitespace.", "max_length"))


class ModelAccessIn(ModelIdIn):
    name = serializers.JSONField(required=False)  # the override row's name, when one is created: any text, else the id
    access_grants = serializers.JSONField(required=False)


class ModelFormIn(ModelAccessIn):
    """Open WebUI's ModelForm: a preset (with a base model) or an admin's override of a provider model."""

    name = StrictCharField(max_length=256, error_messages={**_messages("name is required."),
                                                           "max_length": "name must be 256 characters at most."})
    base_model_id = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=256,
                                    error_messages=_messages("base_model_id must be a model id (256 characters at most).",
                                                             "max_length"))
    meta = serializers.DictField(error_messages=_messages("meta is required and must be an object.", "not_a_dict"))
    params = serializers.DictField(error_messages=_messages("params is required and must be an object.", "not_a_dict"))
    is_active = serializers.BooleanField(required=False, allow_null=True)
    commit_message = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=2000)


class VersionIn(serializers.Serializer):
    version_id = serializers.CharField(max_length=100)


def version_out(version, *, with_snapshot: bool = False) -> dict:
    out = {"id": str(version.id), "model_id": version.model_id,
           "parent_id": str(version.parent_id) if version.parent_id else None,
           "user_id": str(version.user_id) if version.user_id else None, "commit_message": version.commit_message or None,
           "created_at": ts(version.created_at), "user": {"name": version.user.name} if version.user else None}
    return out | {"snapshot": version.snapshot} if with_snapshot else out


class ModelsIn(serializers.Serializer):
    """POST /models/import and /models/sync: a list of models (each then checked as ModelFormIn)."""

    models = serializers.ListField(child=serializers.DictField(), max_length=10000)


class ConnectionOptionsIn(serializers.Serializer):
    """One connection's entry in `*_API_CONFIGS` (other fields Open WebUI sends are ignored)."""

    enable = serializers.BooleanField(required=False, default=True)
    key = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=500)
    prefix_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=64)
    model_ids = serializers.ListField(child=serializers.CharField(max_length=256), required=False, allow_null=True)
    tags = serializers.ListField(required=False, allow_null=True)
    connection_type = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=16)

    def validate_tags(self, tags):
        if tags and not all(isinstance(t, str) or (isinstance(t, dict) and isinstance(t.get("name"), str)) for t in tags):
            raise serializers.ValidationError("Each tag is a name or {\"name\": ...}.")
        return tags


class OllamaConfigIn(serializers.Serializer):
    """Open WebUI's OllamaConfigForm: the whole list of Ollama connections."""

    ENABLE_OLLAMA_API = serializers.BooleanField(required=False, allow_null=True)
    OLLAMA_BASE_URLS = serializers.ListField(child=serializers.CharField(max_length=500))
    OLLAMA_API_CONFIGS = serializers.DictField(child=ConnectionOptionsIn(), required=False, default=dict)


class OpenAIConfigIn(serializers.Serializer):
    """Open WebUI's OpenAIConfigForm: the whole list of OpenAI-compatible connections."""

    ENABLE_OPENAI_API = serializers.BooleanField(required=False, allow_null=True)
    OPENAI_API_BASE_URLS = serializers.ListField(child=serializers.CharField(max_length=500))
    OPENAI_API_KEYS = serializers.ListField(child=serializers.CharField(allow_blank=True, max_length=500))
    OPENAI_API_CONFIGS = serializers.DictField(child=ConnectionOptionsIn())


# Open WebUI's form for each /<kind>/config route
CONFIG_FORMS = {"ollama": OllamaConfigIn, "openai": OpenAIConfigIn}


class RelayedIn(BaseModel):
    """A body relayed to /ollama/* or /openai/*: any JSON object naming a model (sent on as it came)."""

    model_config = ConfigDict(extra="allow")

    model: Annotated[str, Field(min_length=1), says(": a model id is required.")] = Field(None, validate_default=True)


class ModelNameIn(RelayedIn):
    """/ollama/api/show and Ollama's model management bodies: older clients name the model `name`."""

    @model_validator(mode="before")
    @classmethod
    def _name_is_model(cls, data):
        return {**data, "model": data.get("model") or data.get("name")} if isinstance(data, dict) else data


class CopyIn(BaseModel):
    """/ollama/api/copy."""

    model_config = ConfigDict(extra="allow")

    source: Annotated[str, Field(min_length=1), says(": a model id is required.")] = Field(None, validate_default=True)
    destination: Annotated[str, Field(min_length=1), says(": a model name is required.")] = Field(None, validate_default=True)


def _printable(value: str) -> str:
    if not header_safe(value):
        raise PydanticCustomError("invalid", "must be printable ASCII (it is sent in an HTTP header).")
    return value


def _upstream_url(value: str) -> str:
    """An http(s) URL an HTTP client can call: ASCII (internationalised hosts in punycode), with a host."""
    try:
        url = httpx.URL(value) if value.isascii() else None
    except (httpx.InvalidURL, ValueError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise PydanticCustomError("invalid", "must be an http(s) URL (an internationalised host in its xn-- form).")
    return value


class VerifyIn(BaseModel):
    """/ollama/verify and /openai/verify: a connection to check before it is saved."""

    url: Annotated[str, Field(pattern=r"^https?://\S+$"), AfterValidator(_upstream_url), says("must be an http(s) URL.")] = Field(None, validate_default=True)
    key: Annotated[str | None, AfterValidator(lambda v: v if v is None else _printable(v)), says("must be printable ASCII (it is sent in an HTTP header).")] = None
    config: Annotated[dict | None, says("must be an object.")] = None

