"""The small chat page (templates/chat.html + chat/static/chat/): plain HTML and a little JavaScript
over the public API, no build step."""

from django.shortcuts import render

from config import runtime
from config.common.middleware import STRICT_PAGE_POLICY


def chat_page(request):
    response = render(request, "chat.html", {"name": runtime.get("WEBUI_NAME")})
    response["Content-Security-Policy"] = STRICT_PAGE_POLICY  # no inline script or style at all
    return response
