"""The webhook signature: `X-Gateway-Signature: sha256=<hex>`, the HMAC-SHA256 with the webhook's
secret of `<X-Gateway-Timestamp>.<raw body>`. A receiver recomputes it over the bytes it got,
compares in constant time and refuses timestamps older than a few minutes (replays)."""

import hashlib
import hmac
import time

SIGNATURE = "X-Gateway-Signature"
TIMESTAMP = "X-Gateway-Timestamp"
EVENT = "X-Gateway-Event"
EVENT_ID = "X-Gateway-Event-Id"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def headers(secret: str, body: bytes, *, event_type: str, event_id: int) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {"Content-Type": "application/json", EVENT: event_type, EVENT_ID: str(event_id), TIMESTAMP: timestamp,
            SIGNATURE: signature(secret, timestamp, body)}


def verify(secret: str, body: bytes, timestamp: str, given: str, *, now: float | None = None) -> bool:
    """What a receiver does (kept here as the reference the README shows)."""
    try:
        age = abs((now or time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= TOLERANCE_SECONDS and hmac.compare_digest(signature(secret, timestamp, body), given)
