"""Webhook delivery: one durable job per (webhook, event), on the `events` queue, retried with
exponential backoff (EVENTS_RETRY_SECONDS × 2^attempt, at most EVENTS_RETRY_MAX_SECONDS apart) up
to EVENTS_WEBHOOK_ATTEMPTS times. A receiver answering 2xx is done; anything else is retried."""

import json
import logging
from datetime import timedelta

import httpx
from django.conf import settings
from django.utils import timezone
from procrastinate import BaseRetryStrategy
from procrastinate.contrib.django import app

from config.events import signing
from config.events.models import Event, Webhook
from config.events.services import envelope

log = logging.getLogger("gateway.events")


class Backoff(BaseRetryStrategy):
    def get_schedule_in(self, *, exception: BaseException, attempts: int) -> int | None:
        if attempts + 1 >= settings.EVENTS_WEBHOOK_ATTEMPTS:
            return None
        return int(min(settings.EVENTS_RETRY_SECONDS * 2 ** attempts, settings.EVENTS_RETRY_MAX_SECONDS))


class DeliveryFailed(Exception):
    pass


@app.task(queue="events", retry=Backoff())
def deliver(webhook_id: str, event_id: int) -> None:
    hook = Webhook.objects.filter(id=webhook_id, enabled=True).first()
    event = Event.objects.filter(id=event_id).first()
    if hook is None or event is None:
        return  # removed or disabled since: nothing to send
    body = json.dumps(envelope(event), separators=(",", ":")).encode()
    headers = signing.headers(hook.secret, body, event_type=event.type, event_id=event.id)
    try:
        response = httpx.post(hook.url, content=body, headers=headers, timeout=settings.EVENTS_WEBHOOK_TIMEOUT)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{event.type} to {hook.url}: {exc.__class__.__name__}") from None
    if not response.is_success:
        raise DeliveryFailed(f"{event.type} to {hook.url}: HTTP {response.status_code}")


@app.periodic(cron="17 * * * *")
@app.task(queue="events", queueing_lock="prune_events")
def prune_events(timestamp: int) -> None:
    """The feed's history is for reconnecting clients, not an archive."""
    Event.objects.filter(created_at__lt=timezone.now() - timedelta(hours=settings.EVENTS_RETENTION_HOURS)).delete()
