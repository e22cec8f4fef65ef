"""/api/v1/groups/* as Open WebUI 0.12.4's routers/groups.py: any verified user lists its own groups
(an admin all) and reads a group's info; everything else is the admin's."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access, groups, selectors
from accounts.permissions import IsAdmin, IsVerifiedUser
from accounts.serializers import GroupIn, GroupUpdateIn, UserIdsIn, group_info_out, group_out, user_info_out
from config.common.errors import ApplicationError
from config.common.exceptions import validated
from config.common.pagination import page_slice

GROUP_NOT_FOUND = "Group not found"
PER_PAGE = 30


def _group(group_id):
    found = selectors.group(group_id)
    if found is None:
        raise ApplicationError(404, GROUP_NOT_FOUND)
    return found


def _out(group_id) -> dict:
    """A group as it is now (its member count fresh)."""
    return group_out(_group(group_id))


class GroupListView(APIView):
    permission_classes = [IsVerifiedUser]

    @extend_schema(responses=OpenApiTypes.OBJECT, parameters=[
        OpenApiParameter("share", bool, description="only groups the caller may (or may not) share to")])
    def get(self, request):
        share = request.query_params.get("share")
        share = None if share is None else share.lower() in ("true", "1")
        found = (selectors.groups() if access.is_admin(request.user)
                 else selectors.groups(member=request.user, share=share))
        return Response([group_out(g) for g in found])


class GroupCreateView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=GroupIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        group = groups.create_group(actor=request.user, data=validated(GroupIn, request.data, status=400))
        return Response(_out(group.pk))


class GroupDetailView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, group_id):
        return Response(group_out(_group(group_id)))


class GroupInfoView(APIView):
    permission_classes = [IsVerifiedUser]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, group_id):
        return Response(group_info_out(_group(group_id)))


class GroupExportView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, group_id):
        group = _group(group_id)
        user_ids = [str(pk) for pk in selectors.members(group).values_list("id", flat=True)]
        return Response(group_out(group, user_ids=user_ids))


class GroupUsersView(APIView):
    """POST, as in Open WebUI: the members (UserInfoResponse)."""

    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, group_id):
        return Response([user_info_out(u) for u in selectors.members(_group(group_id))])


class GroupMembersView(APIView):
    """Open WebUI's member inspector (no hierarchy here: every member is direct)."""

    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT, parameters=[
        OpenApiParameter("membership", str, enum=["direct", "inherited", "effective"]),
        OpenApiParameter("query", str), OpenApiParameter("page", int)])
    def get(self, request, group_id):
        group = _group(group_id)
        params = request.query_params
        qs = selectors.members(group)
        total_members = qs.count()
        if params.get("membership") == "inherited":
            qs = qs.none()
        if params.get("query"):
            qs = qs.filter(selectors.name_or_email(params["query"]))
        items = [{"id": str(u.id), "name": u.name, "email": u.email, "role": u.role,
                  "membership_type": "direct", "via_group_ids": []}
                 for u in qs[page_slice(request, per_page=PER_PAGE)]]
        return Response({"items": items, "total": qs.count(),
                         "counts": {"direct": total_members, "effective": total_members, "inherited": 0}})


class GroupUpdateView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=GroupUpdateIn, responses=OpenApiTypes.OBJECT)
    def post(self, request, group_id):
        group = _group(group_id)
        groups.update_group(group=group, data=validated(GroupUpdateIn, request.data, status=400))
        return Response(_out(group.pk))


class GroupAddUsersView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=UserIdsIn, responses=OpenApiTypes.OBJECT)
    def post(self, request, group_id):
        group = _group(group_id)
        groups.add_members(group=group, user_ids=validated(UserIdsIn, request.data, status=400).get("user_ids"))
        return Response(_out(group.pk))


class GroupRemoveUsersView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=UserIdsIn, responses=OpenApiTypes.OBJECT)
    def post(self, request, group_id):
        group = _group(group_id)
        groups.remove_members(group=group, user_ids=validated(UserIdsIn, request.data, status=400).get("user_ids"))
        return Response(_out(group.pk))


class GroupDeleteView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def delete(self, request, group_id):
        groups.delete_group(group=_group(group_id))
        return Response(True)


class GroupPreviewView(APIView):
    """What the group's members reach through it: the models and collections granted to the group."""

    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, group_id):
        group = _group(group_id)
        reach = selectors.granted_to_group(group)
        return Response({
            "group": {"id": str(group.id), "name": group.name},
            "models": {"items": reach.get(access.MODEL, [])},
            "knowledge": {"items": reach.get(access.KNOWLEDGE, [])},
            "tools": {"items": [], "total": 0},
            "permissions": group.permissions or {},
            "effective_permissions": selectors.effective_group_permissions(group),
        })
