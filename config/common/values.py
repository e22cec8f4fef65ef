"""Small value helpers shared by the apps."""

import uuid


def as_uuid(value) -> str | None:
    """The canonical form of a UUID string, or None when `value` is not one (ids from clients)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def mask_secret(value: str) -> str:
    """A key as shown back to admins: enough to recognise it, never enough to use it."""
    return f"{value[:3]}…{value[-4:]}" if len(value) > 10 else ("•••" if value else "")
