"""/api/v1/auths/* and /api/v1/users/* (API.md §1). Thin: parse, call a service, serialize."""

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import api_keys, profile_image, selectors, services, tokens
from accounts.permissions import AnyRole, Forbidden, HumanSession, IsAdmin, api_keys_allowed_for
from accounts.serializers import (
    ADMIN_CONFIG_KEYS,
    AdminConfigIn,
    ApiKeyIn,
    PasswordUpdateIn,
    ProfileUpdateIn,
    SigninIn,
    SignupIn,
    UserUpdateIn,
    api_key_out,
    is_active,
    session_out,
    user_out,
    user_status_out,
)
from accounts.user_views import target_user
from config import runtime
from config.common.errors import ApplicationError
from config.common.exceptions import validated
from config.common.pagination import page_slice

AUTH_BODY_ERROR = "Invalid authentication request."


def _with_cookie(response: Response, token: str, expires_at: int | None) -> Response:
    seconds = runtime.parse_duration(runtime.get("JWT_EXPIRES_IN"))
    response.set_cookie(
        "token",
        token,
        max_age=int(seconds) if seconds else None,
        httponly=True,
        samesite=settings.WEBUI_AUTH_COOKIE_SAME_SITE.capitalize(),
        secure=settings.WEBUI_AUTH_COOKIE_SECURE,
    )
    return response


def _session_response(user, *, stored_image=False) -> Response:
    token, expires_at = tokens.issue(user)
    return _with_cookie(Response(session_out(user, token, expires_at, stored_image=stored_image)), token, expires_at)


class SignupView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=SignupIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(SignupIn, request.data, message=AUTH_BODY_ERROR)
        return _session_response(services.signup(**data))


class SigninView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=SigninIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(SigninIn, request.data, message=AUTH_BODY_ERROR)
        return _session_response(services.signin(**data, address=request.META.get("REMOTE_ADDR") or ""))


class SessionView(APIView):
    permission_classes = [HumanSession]

    def get(self, request):
        expires_at = tokens.expires_at(request.auth.claims)
        response = Response(session_out(request.user, request.auth.token, expires_at, stored_image=True))
        return _with_cookie(response, request.auth.token, expires_at)


class SignoutView(APIView):
    """Public: revokes the presented JWT (if any) and clears the cookie."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def post(self, request):
        from rest_framework_simplejwt.exceptions import TokenError

        from accounts.authentication import credential_from

        raw = credential_from(request.headers, request.COOKIES)
        if raw and not api_keys.looks_like_key(raw):
            try:
                claims = tokens.SessionToken(raw).payload
                services.signout(jti=claims["jti"], exp=claims["exp"])
            except (TokenError, KeyError):
                pass  # an invalid or expired token is signed out already
        response = Response({"status": True})
        response.delete_cookie("token")
        return response


class PasswordUpdateView(APIView):
    permission_classes = [AnyRole]

    @extend_schema(request=PasswordUpdateIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(PasswordUpdateIn, request.data)
        services.change_password(user=request.user, **data)
        return Response(True)


class ProfileUpdateView(APIView):
    permission_classes = [AnyRole]

    @extend_schema(request=ProfileUpdateIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(ProfileUpdateIn, request.data)
        user = services.update_user(actor=request.user, user=request.user, data=data)
        return Response(user_out(user))


def _require_keys_allowed(user) -> None:
    if not api_keys_allowed_for(user):
        raise Forbidden("API key creation is not allowed in the environment.")


class DefaultApiKeyView(APIView):
    """Open WebUI's single key per user, stored hashed here (DECISIONS #2)."""

    permission_classes = [AnyRole]

    def post(self, request):
        _require_keys_allowed(request.user)
        return Response({"api_key": api_keys.rotate_default(user=request.user)})

    def get(self, request):
        _require_keys_allowed(request.user)
        key = selectors.default_key_of(request.user)
        if key is None:
            raise ApplicationError(404, "API key not found")
        out = api_key_out(key)
        return Response({k: out[k] for k in ("api_key", "created_at", "last_used_at", "expires_at")})

    def delete(self, request):
        _require_keys_allowed(request.user)
        api_keys.revoke(selectors.api_keys_of(request.user).filter(is_default=True))
        return Response(True)


class ApiKeyListView(APIView):
    """Several named keys per user, with optional expiry and allowed path prefixes."""

    permission_classes = [AnyRole]

    def get(self, request):
        _require_keys_allowed(request.user)
        return Response([api_key_out(k) for k in selectors.api_keys_of(request.user)])

    @extend_schema(request=ApiKeyIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        _require_keys_allowed(request.user)
        data = validated(ApiKeyIn, request.data)
        if selectors.api_keys_of(request.user).filter(name=data["name"]).exists():
            raise ApplicationError(400, f"An API key named {data['name']!r} already exists.")
        key, plaintext = api_keys.create(
            user=request.user, name=data["name"], expires_at=data["expires_at"], allowed_paths=data.get("allowed_paths")
        )
        return Response(api_key_out(key, plaintext))


class ApiKeyDetailView(APIView):
    permission_classes = [AnyRole]

    def delete(self, request, key_id):
        _require_keys_allowed(request.user)
        deleted = api_keys.revoke(selectors.api_keys_of(request.user).filter(id=key_id))
        if not deleted:
            raise ApplicationError(404, "API key not found")
        return Response(True)


class AdminConfigView(APIView):
    permission_classes = [IsAdmin]

    def get(self, request):
        config = runtime.snapshot()
        return Response({key: config[key] for key in ADMIN_CONFIG_KEYS})

    @extend_schema(request=AdminConfigIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        config = runtime.update(validated(AdminConfigIn, request.data, status=400))
        return Response({key: config[key] for key in ADMIN_CONFIG_KEYS})


class UserListView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT, parameters=[
        OpenApiParameter("query", str, description="part of a name or email"),
        OpenApiParameter("role", str, enum=["admin", "user", "pending"]),
        OpenApiParameter("page", int, description="30 a page, from 1"),
    ])
    def get(self, request):
        qs = selectors.users(query=request.query_params.get("query", ""), role=request.query_params.get("role", ""))
        page = list(qs[page_slice(request, per_page=30)])
        groups = selectors.groups_of_users([u.pk for u in page])
        return Response({"users": [user_out(u, group_ids=[str(g.id) for g in groups[str(u.pk)]]) for u in page],
                         "total": qs.count()})


class UserDetailView(APIView):
    permission_classes = [IsAdmin]

    def get(self, request, user_id):
        """Open WebUI's UserActiveResponse: the user with its groups and whether it is active now."""
        user = target_user(user_id)
        groups = selectors.groups_of_users([user.pk])[str(user.pk)]
        return Response({**user_out(user), "groups": [{"id": str(g.id), "name": g.name} for g in groups],
                         "is_active": is_active(user), **user_status_out(user)})

    def delete(self, request, user_id):
        services.delete_user(actor=request.user, user=target_user(user_id))
        return Response(True)


class UserUpdateView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=UserUpdateIn, responses=OpenApiTypes.OBJECT)
    def post(self, request, user_id):
        user = target_user(user_id)
        data = validated(UserUpdateIn, request.data)
        return Response(user_out(services.update_user(actor=request.user, user=user, data=data)))


_DEFAULT_AVATAR = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#d4d4d8"/>'
    '<circle cx="32" cy="24" r="12" fill="#71717a"/><rect x="12" y="42" width="40" height="22" rx="11" fill="#71717a"/></svg>'
)


class ProfileImageView(APIView):
    permission_classes = [AnyRole]

    def get(self, request, user_id):
        user = target_user(user_id)
        url = user.profile_image_url
        if profile_image.is_web_url(url):
            return HttpResponseRedirect(url)
        raster = profile_image.decode(url)  # anything else stored before it was refused: the default
        return HttpResponse(*raster) if raster else HttpResponse(_DEFAULT_AVATAR, content_type="image/svg+xml")
