"""DRF routing for Open WebUI's paths: no trailing slash on a resource (`/knowledge/<id>`), the list
at the prefix itself (`/knowledge/`), verb-style actions below it (`/knowledge/<id>/file/add`).

Object ids in paths use the `id` converter (`<id:file_id>`, and every Router's lookup): any path
segment reaches the view, so an id that is not a UUID is answered by the view exactly as an unknown
one (its own 404 or 400 with a readable detail), never by a router-level 404 or a 422."""

import uuid

from django.urls import path, register_converter
from rest_framework.routers import SimpleRouter

# What a non-UUID id is looked up as: the nil UUID, which no row has (our ids are uuid4s).
NO_OBJECT = uuid.UUID(int=0)


class ObjectIdConverter:
    regex = "[^/]+"

    def to_python(self, value: str) -> uuid.UUID:
        try:
            return uuid.UUID(value)
        except ValueError:
            return NO_OBJECT

    def to_url(self, value) -> str:
        return str(value)


register_converter(ObjectIdConverter, "id")


def _path(route: str, view, name: str):
    return path(route.removeprefix("/"), view, name=name)


class Router(SimpleRouter):
    def __init__(self):
        super().__init__(trailing_slash=False, use_regex_path=False)
        self._default_value_pattern = "id"
        # DRF's own handling of an empty prefix breaks on the list route's empty path (`regex[0]`)
        self._url_conf = _path
