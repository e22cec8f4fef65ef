"""Open WebUI's users routes beyond the seed's (/api/v1/users/*) and the admin's /auths/add and
/auths/admin/details. Thin: parse, call a service or selector, serialize."""

from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permission_tree, selectors, services, tokens
from accounts.permissions import AnyRole, IsAdmin, IsVerifiedUser
from accounts.permissions import permission_tree as session_permissions
from accounts.serializers import (
    AddUserIn,
    JsonObjectIn,
    TimezoneIn,
    UserSettingsIn,
    UserStatusIn,
    UserVariablesIn,
    added_user_out,
    group_out,
    is_active,
    user_info_out,
    user_out,
    user_status_out,
)
from config import runtime
from config.common.errors import ApplicationError
from config.common.exceptions import validated
from config.common.pagination import page_slice

USER_NOT_FOUND = "User not found"
PER_PAGE = 30


def target_user(user_id):
    """The user a path names; 404 for an unknown id or one that is not a UUID."""
    found = selectors.user(user_id)
    if found is None:
        raise ApplicationError(404, USER_NOT_FOUND)
    return found


# --- /auths ---------------------------------------------------------------------------------------


class AddUserView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=AddUserIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(AddUserIn, request.data, status=400)
        user = services.add_user(actor=request.user, **data)
        token, _ = tokens.issue(user)
        return Response(added_user_out(user, token))


class AdminDetailsView(APIView):
    """Who to contact: the configured ADMIN_EMAIL's user, else the first admin (any signed-in role)."""

    permission_classes = [AnyRole]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        if not runtime.get("SHOW_ADMIN_DETAILS"):
            raise ApplicationError(400, "Action prohibited: the administrator's details are not shown.")
        email = runtime.get("ADMIN_EMAIL")
        admin = selectors.users().filter(email=email.lower()).first() if email else selectors.primary_user()
        return Response({"name": admin.name if admin else None, "email": email or (admin.email if admin else None)})


class TimezoneView(APIView):
    permission_classes = [AnyRole]

    @extend_schema(request=TimezoneIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        services.update_timezone(user=request.user, **validated(TimezoneIn, request.data))
        return Response({"status": True})


# --- /users: lists --------------------------------------------------------------------------------

PAGE_PARAMETERS = [
    OpenApiParameter("query", str, description="part of a name or email"),
    OpenApiParameter("order_by", str, enum=sorted(selectors.USER_ORDER)),
    OpenApiParameter("direction", str, enum=["asc", "desc"]),
    OpenApiParameter("page", int, description="30 a page, from 1"),
]


def _infos(users) -> list[dict]:
    users = list(users)
    groups = selectors.groups_of_users([u.pk for u in users])
    return [user_info_out(u, groups[str(u.pk)]) for u in users]


class AllUsersView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        users = list(selectors.users_page())
        return Response({"users": _infos(users), "total": len(users)})


class SearchUsersView(APIView):
    """Any verified user may find others by name or email (to share with them), as in Open WebUI."""

    permission_classes = [IsVerifiedUser]

    @extend_schema(responses=OpenApiTypes.OBJECT, parameters=PAGE_PARAMETERS)
    def get(self, request):
        params = request.query_params
        qs = selectors.users_page(query=params.get("query", ""), order_by=params.get("order_by", ""),
                                  direction=params.get("direction", ""))
        return Response({"users": _infos(qs[page_slice(request, per_page=PER_PAGE)]), "total": qs.count()})


# --- /users: the caller's own ---------------------------------------------------------------------


class MyGroupsView(APIView):
    permission_classes = [IsVerifiedUser]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response([group_out(g) for g in selectors.groups(member=request.user)])


class MyPermissionsView(APIView):
    permission_classes = [IsVerifiedUser]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(session_permissions(request.user))


class MySettingsView(APIView):
    permission_classes = [IsVerifiedUser]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return JsonResponse(request.user.settings, safe=False)  # null until the first save


class MySettingsUpdateView(APIView):
    permission_classes = [IsVerifiedUser]

    @extend_schema(request=UserSettingsIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(UserSettingsIn, request.data, status=400)
        return Response(services.update_settings(user=request.user, data=data).settings)


class MyInfoView(APIView):
    permission_classes = [IsVerifiedUser]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return JsonResponse(request.user.info, safe=False)


class MyInfoUpdateView(APIView):
    permission_classes = [IsVerifiedUser]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(JsonObjectIn, request.data, status=400)
        return Response(services.update_info(user=request.user, data=data).info)


class MyStatusView(APIView):
    permission_classes = [IsVerifiedUser]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({**user_out(request.user), **user_status_out(request.user)})


class MyStatusUpdateView(APIView):
    permission_classes = [IsVerifiedUser]

    @extend_schema(request=UserStatusIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        user = services.update_status(user=request.user, **validated(UserStatusIn, request.data, status=400))
        return Response({**user_out(user), **user_status_out(user)})


class MyVariablesView(APIView):
    permission_classes = [IsVerifiedUser]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"variables": request.user.variables or {}})


class MyVariablesUpdateView(APIView):
    permission_classes = [IsVerifiedUser]

    @extend_schema(request=UserVariablesIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(UserVariablesIn, request.data, status=400)
        return Response({"variables": services.update_variables(user=request.user, **data).variables})


# --- /users: default permissions (admin) ----------------------------------------------------------


class DefaultPermissionsView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(permission_tree.fill(runtime.get("USER_PERMISSIONS")))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        try:
            tree = permission_tree.fill(permission_tree.clean(request.data))
        except ValueError as exc:
            raise ApplicationError(400, str(exc))
        services.set_default_permissions(tree=tree)
        return Response(tree)


class DefaultPermissionsDefaultsView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(permission_tree.defaults())


# --- /users/{id} ----------------------------------------------------------------------------------


class UserInfoView(APIView):
    permission_classes = [IsVerifiedUser]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, user_id):
        user = target_user(user_id)
        return Response(user_info_out(user, selectors.groups_of_users([user.pk])[str(user.pk)]))


class UserActiveView(APIView):
    permission_classes = [IsVerifiedUser]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, user_id):
        return Response({"active": is_active(target_user(user_id))})


class UserGroupsView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, user_id):
        return Response([group_out(g) for g in selectors.groups(member=target_user(user_id))])


class UserOAuthSessionsView(APIView):
    """Sign-in through OAuth providers is not offered, so no user has OAuth sessions."""

    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, user_id):
        target_user(user_id)
        return Response([])


class RevokeSessionsView(APIView):
    """Rotates the user's session stamp: every JWT it holds dies (its API keys live on)."""

    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, user_id):
        user = target_user(user_id)
        if user.pk != request.user.pk and user.pk == selectors.primary_user().pk:
            raise ApplicationError(403, "Action prohibited: only the primary admin may revoke its own sessions.")
        services.revoke_sessions(user=user)
        return Response(True)
