"""GET /api/config (API.md §9): the public configuration, with the signed-in user's features and
permissions when the request carries a session."""

from django.conf import settings
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access
from accounts.api_keys import looks_like_key
from accounts.authentication import authenticate_token, credential_from
from accounts.models import User
from accounts.permissions import permission_tree
from config import runtime


def _session_user(request) -> User | None:
    """The JWT user of a request, or None (API keys are not recognised here, as in Open WebUI)."""
    raw = credential_from(request.headers, request.COOKIES)
    if not raw or looks_like_key(raw):
        return None
    try:
        return authenticate_token(raw, request.path_info)[0]
    except Exception:  # an invalid token is treated as anonymous
        return None


class PublicConfigView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request):
        config = runtime.snapshot()
        user = _session_user(request)
        features = {
            "slim": False,
            "auth": True,
            "auth_trusted_header": False,
            "enable_signup_password_confirmation": False,
            "enable_ldap": False,
            "enable_signup": bool(config["ENABLE_SIGNUP"]),
            "enable_login_form": bool(config["ENABLE_LOGIN_FORM"]),
            "enable_websocket": True,
        }
        data = {
            "onboarding": user is None and not User.objects.exists(),
            "status": True,
            "name": config["WEBUI_NAME"],
            "version": settings.VERSION,
            "default_locale": "",
            "i18n": {},
            "oauth": {"providers": {}, "auto_redirect": False},
            "features": features,
        }
        if user is not None and access.is_verified(user):
            features.update(
                enable_api_keys=bool(config["ENABLE_API_KEYS"]),
                enable_direct_connections=False,
                enable_web_search=False,
                enable_image_generation=False,
                enable_code_interpreter=False,
                enable_folders=False,
                enable_notes=False,
                enable_channels=False,
                enable_memories=False,
            )
            data.update(
                default_models=None,
                default_pinned_models=None,
                default_prompt_suggestions=[],
                file={"max_size": None, "max_count": None, "image_compression": {"width": None, "height": None}},
                permissions=permission_tree(user),
            )
        elif user is not None:
            data["ui"] = {
                "pending_user_overlay_title": config["PENDING_USER_OVERLAY_TITLE"],
                "pending_user_overlay_content": config["PENDING_USER_OVERLAY_CONTENT"],
            }
        return Response(data)
