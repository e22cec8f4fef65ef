"""Which requests skip Django's request-signal receivers: only those resolved to async views."""

import pytest

from config.asgi_handler import _served_by_async_view


@pytest.mark.parametrize(("path", "skips"), [
    ("/api/chat/completions", True), ("/api/v1/chat/completions", True), ("/api/models", True),
    ("/ollama/api/tags", True), ("/api/v1/files/", False), ("/api/v1/auths/", False), ("/admin/", False),
    ("/no/such/route", False),
])
def test_only_async_views_skip_the_request_signal_receivers(path, skips):
    assert _served_by_async_view(path) is skips
