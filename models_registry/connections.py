"""Connection writes: seeding from Open WebUI's environment variables, the /ollama/config and
/openai/config admin endpoints, and health checks."""

from datetime import UTC, datetime

from django.db import transaction
from rest_framework.exceptions import ValidationError

from config import runtime
from config.common.env import env_list, env_str
from config.runtime.models import RuntimeSetting
from models_registry import providers, registry
from models_registry.models import Connection
from models_registry.providers import UpstreamError, header_safe

SEEDED_FLAG = "CONNECTIONS_SEEDED"


def seed_from_env() -> int:
    """Create connections from OLLAMA_BASE_URL(S), OPENAI_API_BASE_URL(S) and OPENAI_API_KEY(S) the
    first time the gateway starts; afterwards they are managed in the admin."""
    if RuntimeSetting.objects.filter(key=SEEDED_FLAG).exists():
        return 0
    created = []
    ollama_urls = env_list("OLLAMA_BASE_URLS") or [env_str("OLLAMA_BASE_URL", "http://localhost:11434")]
    for i, url in enumerate(ollama_urls):
        created.append(Connection(kind="ollama", base_url=url.rstrip("/"), position=i))
    openai_urls = env_list("OPENAI_API_BASE_URLS") or env_list("OPENAI_API_BASE_URL")
    keys = env_list("OPENAI_API_KEYS") or env_list("OPENAI_API_KEY")
    if keys and not openai_urls:
        openai_urls = ["https://api.openai.com/v1"]
    for i, url in enumerate(openai_urls):
        created.append(Connection(kind="openai", base_url=url.rstrip("/"), api_key=keys[i] if i < len(keys) else "", position=i))
    with transaction.atomic():
        Connection.objects.bulk_create(created)
        RuntimeSetting.objects.create(key=SEEDED_FLAG, value=True)
    return len(created)


def config_out(kind: str) -> dict:
    fields = providers.KINDS[kind].config_fields
    connections = list(Connection.objects.filter(kind=kind))
    data = {
        fields.enable: bool(runtime.get(fields.enable)),
        fields.urls: [c.base_url for c in connections],
        fields.configs: {
            str(i): {"enable": c.enabled, "key": c.masked_key, "prefix_id": c.prefix_id, "model_ids": c.model_ids,
                     "tags": c.tags, "connection_type": c.effective_connection_type}
            for i, c in enumerate(connections)
        },
    }
    if fields.keys:
        data[fields.keys] = [c.masked_key for c in connections]
    return data


def _stored_key(sent: str, url: str, at_index: Connection | None, existing: list[Connection]) -> str:
    """The key to store for a posted one: the masked form of a stored key (the read-modify-write of
    GET then POST) keeps that key, whether the connection kept its index or only its URL."""
    same_url = [c for c in existing if c.base_url == url]
    for conn in ([at_index] if at_index else []) + same_url:
        if sent and sent == conn.masked_key:
            return conn.api_key
    if not header_safe(sent):
        raise ValidationError(f"The key for {url} is masked or cannot be sent in an HTTP header "
                              "(printable ASCII only): send the whole key.")
    return sent


def update_config(kind: str, data: dict) -> dict:
    """Replace the connections of a kind with the posted lists (API.md §7 config endpoints), `data`
    validated by the kind's form (serializers.CONFIG_FORMS). The whole body is checked first: on any
    error nothing changes."""
    fields = providers.KINDS[kind].config_fields
    urls = [u.strip().rstrip("/") for u in data[fields.urls]]
    if not all(u.startswith(("http://", "https://")) for u in urls):
        raise ValidationError(f"{fields.urls} must be a list of http(s) URLs.")
    configs, keys = data.get(fields.configs) or {}, (data.get(fields.keys) if fields.keys else None) or []
    existing = list(Connection.objects.filter(kind=kind))
    connections = []
    for i, url in enumerate(urls):
        options = configs.get(str(i)) or {}
        at_index = existing[i] if i < len(existing) else None
        conn = at_index or Connection(kind=kind)
        sent = options.get("key")
        if sent is None and i < len(keys):
            sent = keys[i]
        conn.api_key = conn.api_key if sent is None else _stored_key(sent.strip(), url, at_index, existing)
        conn.base_url, conn.position = url, i
        conn.enabled = options.get("enable", True)
        conn.prefix_id = options.get("prefix_id") or ""
        conn.model_ids = list(options.get("model_ids") or [])
        conn.tags = list(options.get("tags") or [])
        conn.connection_type = options.get("connection_type") or ""
        connections.append(conn)
    with transaction.atomic():
        for conn in connections:
            conn.save()
        Connection.objects.filter(pk__in=[c.pk for c in existing[len(urls):]]).delete()
        if data.get(fields.enable) is not None:
            runtime.update({fields.enable: data[fields.enable]})
    providers.release_stale(connections, among={c.pk for c in existing})  # sockets close once idle
    registry.forget()
    return config_out(kind)


def check(conn: Connection) -> tuple[list[str], str]:
    """Ask the upstream for its models now; record and return (model ids, error)."""
    try:
        ids, error = providers.provider_for(conn).check(), ""
    except UpstreamError as exc:
        ids, error = [], exc.detail
    registry.record_health(conn, error, models_found=ids)
    conn.models_found, conn.last_error, conn.last_checked_at = ids, error, datetime.now(UTC)
    return ids, error


def enabled_kinds() -> set[str]:
    config = runtime.snapshot()
    return {kind for kind, provider in providers.KINDS.items() if config.get(provider.config_fields.enable, True)}


