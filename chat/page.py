"""The small chat page (templates/chat.html + chat/static/chat/): plain HTML and a little JavaScript
over the public API, no build step."""

from django.shortcuts import render

from config import runtime


def chat_page(request):
    return render(request, "chat.html", {"name": runtime.get("WEBUI_NAME")})
