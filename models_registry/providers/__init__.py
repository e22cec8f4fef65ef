"""The one interface to upstreams (DESIGN.md): `provider_for(connection)` gives the provider of its
kind (base.py says what each provides); `endpoint(...)` one for an upstream that is not a Connection
row. Pooled clients, deadlines and error mapping are shared by every kind (pools.py, http.py,
errors.py)."""

from models_registry.providers.base import Embedded, Endpoint, Provider
from models_registry.providers.errors import UpstreamError, header_safe
from models_registry.providers.ollama import OllamaProvider
from models_registry.providers.openai import OpenAIProvider
from models_registry.providers.pools import forget, release_stale

__all__ = ["KINDS", "Embedded", "Endpoint", "Provider", "UpstreamError", "endpoint", "forget", "from_settings", "header_safe", "provider_for",
           "release_stale"]

KINDS: dict[str, type[Provider]] = {p.kind: p for p in (OllamaProvider, OpenAIProvider)}


def provider_for(conn) -> Provider:
    """The provider for a Connection (or an Endpoint). Cheap: clients are pooled per connection."""
    return KINDS[conn.kind](conn)


def endpoint(name: str, kind: str, base_url: str, api_key: str = "") -> Provider:
    """A provider for an upstream named in the settings rather than stored as a Connection (the RAG
    embedding engine), with a pooled client of its own under `name`, replaced when the URL or key
    change."""
    return provider_for(Endpoint(name, kind, base_url.rstrip("/"), api_key))


def from_settings(name: str, kind: str, config: dict) -> Provider:
    """A provider for the endpoint that Open WebUI's runtime settings name for `kind` (the RAG
    embedding engine's URL and key)."""
    url_setting, key_setting = KINDS[kind].endpoint_settings
    return endpoint(name, kind, config[url_setting], config[key_setting])
