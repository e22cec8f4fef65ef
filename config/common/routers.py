"""DRF routing for Open WebUI's paths: no trailing slash on a resource (`/knowledge/<id>`), the list
at the prefix itself (`/knowledge/`), verb-style actions below it (`/knowledge/<id>/file/add`)."""

from rest_framework.routers import SimpleRouter

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # as Django's <uuid:> converter


class Router(SimpleRouter):
    def __init__(self):
        super().__init__(trailing_slash=False)
