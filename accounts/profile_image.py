"""Profile images: only raster data URLs (PNG, JPEG, GIF, WebP), http(s) URLs or the default.

An SVG (or HTML) data URL served back from our origin by /users/{id}/profile/image would run its
script where the chat page keeps its token, so such URLs are refused when set and never served."""

import base64
import binascii
import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from rest_framework.exceptions import APIException, ValidationError

DEFAULT = "/user.png"
MAX_LENGTH = 1024 * 1024  # the row is read with every request's user: a 250 px avatar needs far less
_DATA_URL = re.compile(r"data:image/(png|jpeg|jpg|gif|webp);base64,([A-Za-z0-9+/]*={0,2})", re.IGNORECASE)
_URL = URLValidator(schemes=["http", "https"])
REFUSED = "profile_image_url must be a PNG, JPEG, GIF or WebP data URL (base64) or an http(s) URL."


def decode(url: str) -> tuple[bytes, str] | None:
    """The bytes and content type of a raster data URL, or None."""
    match = _DATA_URL.fullmatch(url)
    if not match:
        return None
    try:
        data = base64.b64decode(match.group(2), validate=True)
    except binascii.Error:
        return None
    kind = match.group(1).lower()
    return data, "image/jpeg" if kind == "jpg" else f"image/{kind}"


def is_web_url(url: str) -> bool:
    try:
        _URL(url)
    except DjangoValidationError:
        return False
    return True


class TooLarge(APIException):
    status_code = 413
    default_detail = f"profile_image_url is too large ({MAX_LENGTH // 1024} KB at most)."


def check(url) -> str:
    """The URL to store, or a 400 naming what is accepted (413 when too large)."""
    if not isinstance(url, str):
        raise ValidationError(REFUSED)
    url = url.strip()
    if url in ("", DEFAULT):
        return DEFAULT
    if len(url) > MAX_LENGTH:
        raise TooLarge()
    if decode(url) is not None or is_web_url(url):
        return url
    raise ValidationError(REFUSED)


def validate(url) -> None:
    """The model field's validator (the admin's user form)."""
    try:
        check(url)
    except APIException as exc:
        raise DjangoValidationError(str(exc.detail))
