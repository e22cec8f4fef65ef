"""Recording events and managing webhooks (writes); delivery is config.events.tasks'."""

import logging
import secrets
import uuid

from django.db import transaction

from config.common.errors import ApplicationError
from config.events.models import Event, Webhook

log = logging.getLogger("gateway.events")

CATALOG = {
    "file.completed": "A file was processed: its text is searchable.",
    "file.failed": "A file could not be processed (`data.error` says why).",
    "connection.down": "An upstream connection stopped answering (`data.error` says how).",
    "connection.up": "An upstream connection answers again.",
}
NOT_FOUND = "Webhook not found"


def emit(event_type: str, *, subject_id, user_id=None, data: dict | None = None) -> None:
    """Record the event and queue its webhook deliveries, in one savepoint of the caller's
    transaction. Never raises: the caller's work does not depend on its events."""
    try:
        with transaction.atomic():
            event = Event.objects.create(type=event_type, subject_id=str(subject_id), user_id=user_id, data=data or {})
            hooks = [hook for hook in Webhook.objects.filter(enabled=True) if hook.wants(event_type)]
            if hooks:
                from config.events.tasks import deliver

                for hook in hooks:
                    deliver.defer(webhook_id=str(hook.id), event_id=event.id)
    except Exception:
        log.exception("Could not record the event %s for %s", event_type, subject_id)


def envelope(event: Event) -> dict:
    """The JSON an event is sent as, to webhooks and on the feed."""
    return {"id": str(event.id), "type": event.type, "created_at": int(event.created_at.timestamp()),
            "user_id": str(event.user_id) if event.user_id else None, "data": event.data}


def _check_events(events: list[str] | None) -> list[str]:
    unknown = [name for name in events or [] if name not in CATALOG]
    if unknown:
        raise ApplicationError(400, f"Unknown event: {', '.join(unknown)} (known: {', '.join(CATALOG)})")
    return list(dict.fromkeys(events or []))


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def create_webhook(*, url: str, name: str | None = None, enabled: bool = True, events: list[str] | None = None,
                   targets: list | None = None, secret: str | None = None) -> Webhook:
    return Webhook.objects.create(url=url, name=name or "", enabled=enabled, events=_check_events(events),
                                  targets=targets or [], secret=secret or new_secret())


def webhooks() -> list[Webhook]:
    return list(Webhook.objects.all())


def get_webhook(webhook_id: str) -> Webhook:
    try:
        key = uuid.UUID(str(webhook_id))
    except ValueError:
        raise ApplicationError(404, NOT_FOUND)
    hook = Webhook.objects.filter(id=key).first()
    if hook is None:
        raise ApplicationError(404, NOT_FOUND)
    return hook


def update_webhook(*, webhook: Webhook, changes: dict) -> Webhook:
    """`changes`: the fields the client sent (others keep their value)."""
    if "events" in changes:
        changes = {**changes, "events": _check_events(changes["events"])}
    for field, value in changes.items():
        if value is not None or field in ("events", "targets"):  # null keeps a scalar field as it is
            setattr(webhook, field, value)
    webhook.events, webhook.targets = webhook.events or [], webhook.targets or []
    webhook.save()
    return webhook


def delete_webhook(*, webhook: Webhook) -> None:
    webhook.delete()
