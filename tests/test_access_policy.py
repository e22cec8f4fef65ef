"""The access policy (accounts/access.py) as a table: every kind of object, every kind of caller, and
what it may read, write and see listed. Each case checks the object questions (`can_read`,
`can_write`), the batch question (`permitted_ids`), the queryset filter (`visible`) and the app's
own selector against one expectation, so they cannot drift apart."""

from dataclasses import dataclass

import pytest

from accounts import access
from accounts.models import AccessGrant, Group, GroupMember, User
from files.models import File
from files.selectors import files_for
from knowledge.models import KnowledgeBase
from knowledge.selectors import readable
from models_registry.models import Model
from models_registry.selectors import readable_models


def _model(owner):
    return Model.objects.create(id="team-helper", base_model_id="llama3.1:8b", name="Team helper", user=owner)


def _knowledge(owner):
    return KnowledgeBase.objects.create(user=owner, name="Handbook", description="")


def _file(owner):
    return File.objects.create(user=owner, filename="a.txt", storage_name="a", file_hash="0" * 64)


KINDS = {
    "model": (access.MODEL, _model, Model, readable_models),
    "knowledge": (access.KNOWLEDGE, _knowledge, KnowledgeBase, readable),
    "file": (access.FILE, _file, File, files_for),
}


@dataclass(frozen=True)
class Case:
    caller: str  # owner | other | admin | pending
    grant: tuple[str, str] | None = None  # (principal: "caller", "*", "group" (the caller's), "other group", permission)
    bypass_admin: bool = True
    read: bool = False
    write: bool = False


SHARED = {  # models and knowledge collections
    "owner": Case("owner", read=True, write=True),
    "other user": Case("other"),
    "read grant": Case("other", ("caller", "read"), read=True),
    "write grant": Case("other", ("caller", "write"), write=True),  # exact permission: no read
    "* read grant": Case("other", ("*", "read"), read=True),
    "* write grant": Case("other", ("*", "write"), write=True),
    "grant to someone else": Case("other", ("someone", "read")),
    "read grant to the caller's group": Case("other", ("group", "read"), read=True),
    "write grant to the caller's group": Case("other", ("group", "write"), write=True),
    "read grant to a group without the caller": Case("other", ("other group", "read")),
    "pending user, read grant to its group": Case("pending", ("group", "read")),
    "admin, bypass on": Case("admin", read=True, write=True),
    "admin, bypass off": Case("admin", bypass_admin=False),
    "admin, bypass off, read grant": Case("admin", ("caller", "read"), bypass_admin=False, read=True),
    "pending user, * read grant": Case("pending", ("*", "read")),
    "pending user, read grant": Case("pending", ("caller", "read")),
}

UNSHARED = {  # files: their owner's and the admins'; grants mean nothing
    "owner": Case("owner", read=True, write=True),
    "other user": Case("other"),
    "read grant": Case("other", ("caller", "read")),
    "* write grant": Case("other", ("*", "write")),
    "read grant to the caller's group": Case("other", ("group", "read")),
    "admin, bypass on": Case("admin", read=True, write=True),
    "admin, bypass off": Case("admin", bypass_admin=False),
    "pending user": Case("pending"),
}

TABLE = [
    pytest.param(kind, case, id=f"{kind}: {name}")
    for kind, cases in (("model", SHARED), ("knowledge", SHARED), ("file", UNSHARED))
    for name, case in cases.items()
]


def _user(name: str, role: str) -> User:
    return User.objects.create_user(f"{name}@example.com", None, name=name, role=role)


@pytest.mark.parametrize("kind_name,case", TABLE)
def test_access_table(kind_name, case, settings):
    kind, make, model_class, selector = KINDS[kind_name]
    settings.BYPASS_ADMIN_ACCESS_CONTROL = case.bypass_admin
    owner = _user("owner", "user")
    caller = {"owner": owner, "other": _user("other", "user"), "admin": _user("admin", "admin"),
              "pending": _user("pending", "pending")}[case.caller]
    obj = make(owner)
    if case.grant:
        principal, permission = case.grant
        principal_type = "group" if principal.endswith("group") else "user"
        if principal_type == "group":
            group = Group.objects.create(name=principal)
            GroupMember.objects.create(group=group, user=caller if principal == "group" else owner)
            principal_id = str(group.pk)
        else:
            principal_id = {"caller": str(caller.pk), "*": "*"}.get(principal) or str(_user(principal, "user").pk)
        AccessGrant.objects.create(resource_type=kind, resource_id=str(obj.pk), principal_type=principal_type,
                                   principal_id=principal_id, permission=permission)
    key = str(obj.pk)

    assert access.can_read(caller, kind, obj) is case.read
    assert access.can_write(caller, kind, obj) is case.write
    assert (key in access.permitted_ids(caller, kind, access.READ, [obj])) is case.read
    assert (key in access.permitted_ids(caller, kind, access.WRITE, [obj])) is case.write
    assert model_class.objects.filter(access.visible(caller, kind, access.READ), pk=obj.pk).exists() is case.read
    assert model_class.objects.filter(access.visible(caller, kind, access.WRITE), pk=obj.pk).exists() is case.write
    assert [str(o.pk) for o in selector(caller)] == ([key] if case.read else [])


@pytest.mark.parametrize("kind_name", KINDS)
@pytest.mark.parametrize("role,usable", [("user", True), ("admin", True), ("pending", False)])
def test_model_bypass_opens_use_of_models_only(kind_name, role, usable, settings):
    """BYPASS_MODEL_ACCESS_CONTROL: every verified user may use every model, not read or change it,
    and nothing else opens."""
    kind, make, model_class, _ = KINDS[kind_name]
    settings.BYPASS_ADMIN_ACCESS_CONTROL = False
    settings.BYPASS_MODEL_ACCESS_CONTROL = True
    obj, caller = make(_user("owner", "user")), _user("caller", role)
    opened = usable and kind == access.MODEL
    assert access.can_use(caller, kind, obj) is opened
    assert access.sees_all(caller, kind, access.USE) is opened
    assert model_class.objects.filter(access.visible(caller, kind, access.USE)).exists() is opened
    assert not access.can_read(caller, kind, obj)
    assert not access.can_write(caller, kind, obj)


@pytest.mark.parametrize("kind_name", KINDS)
def test_use_follows_read_without_the_model_bypass(kind_name, settings):
    kind, make, _, _ = KINDS[kind_name]
    settings.BYPASS_MODEL_ACCESS_CONTROL = False
    owner, caller = _user("owner", "user"), _user("caller", "user")
    obj = make(owner)
    assert access.can_use(owner, kind, obj)
    assert not access.can_use(caller, kind, obj)
    if access.KINDS[kind].shareable:
        AccessGrant.objects.create(resource_type=kind, resource_id=str(obj.pk), principal_id="*",
                                   permission="read")
        assert access.can_use(caller, kind, obj)


def test_permitted_ids_of_a_page_is_one_query(django_assert_num_queries):
    owner, caller = _user("owner", "user"), _user("caller", "user")
    rows = [Model.objects.create(id=f"p{i}", base_model_id="b", name=f"P{i}", user=owner) for i in range(5)]
    rows.append(Model.objects.create(id="mine", base_model_id="b", name="Mine", user=caller))
    AccessGrant.objects.create(resource_type="model", resource_id="p1", principal_id=str(caller.pk), permission="write")
    AccessGrant.objects.create(resource_type="model", resource_id="p3", principal_id="*", permission="write")
    AccessGrant.objects.create(resource_type="model", resource_id="p4", principal_id="*", permission="read")
    with django_assert_num_queries(1):
        assert access.permitted_ids(caller, access.MODEL, access.WRITE, rows) == {"p1", "p3", "mine"}


@pytest.mark.parametrize("role,requested,allowed", [
    ("admin", [("someone", "read"), ("*", "read"), ("*", "write")], 3),
    ("user", [("someone", "read")], 0),
    ("user", [("*", "read")], 0),
])
@pytest.mark.parametrize("kind", [access.MODEL, access.KNOWLEDGE, access.PROMPT])
def test_only_admins_share(kind, role, requested, allowed):
    """Open WebUI's default sharing permissions: users share nothing, admins anything."""
    grants = [{"principal_type": "user", "principal_id": p, "permission": perm} for p, perm in requested]
    assert len(access.allowed_grants(_user("caller", role), kind, grants)) == allowed


@pytest.mark.parametrize("kind,setting", [(access.MODEL, "USER_PERMISSIONS_WORKSPACE_MODELS_ACCESS"),
                                          (access.KNOWLEDGE, "USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS"),
                                          (access.PROMPT, "USER_PERMISSIONS_WORKSPACE_PROMPTS_ACCESS")])
def test_users_create_when_the_workspace_setting_allows(kind, setting, settings):
    admin, user = _user("admin", "admin"), _user("user", "user")
    setattr(settings, setting, False)
    assert access.can_create(admin, kind) and not access.can_create(user, kind)
    setattr(settings, setting, True)
    assert access.can_create(User.objects.get(pk=user.pk), kind)  # a user object memoises its tree


@pytest.mark.parametrize("kind,permission", [(access.MODEL, "models"), (access.KNOWLEDGE, "knowledge")])
def test_a_group_s_permissions_grant_creating_and_sharing(kind, permission):
    member, outsider = _user("member", "user"), _user("outsider", "user")
    group = Group.objects.create(name="Editors", permissions={"workspace": {permission: True},
                                                             "sharing": {permission: True}})
    GroupMember.objects.create(group=group, user=member)
    assert access.can_create(member, kind) and not access.can_create(outsider, kind)
    to_user = {"principal_type": "user", "principal_id": str(outsider.pk), "permission": "read"}
    public = {"principal_type": "user", "principal_id": "*", "permission": "read"}
    assert access.allowed_grants(member, kind, [to_user, public]) == [to_user]  # public needs sharing.public_*
    assert access.allowed_grants(outsider, kind, [to_user]) == []


def test_a_user_s_permission_tree_is_one_query(django_assert_num_queries, settings):
    from config import runtime

    settings.STATE_CACHE_SECONDS = 60  # the runtime settings cached, as in production
    runtime.snapshot()
    user = _user("member", "user")
    for name in ("a", "b"):
        GroupMember.objects.create(group=Group.objects.create(name=name, permissions={"chat": {"temporary_enforced": True}}),
                                   user=user)
    with django_assert_num_queries(1):
        assert access.has_permission(user, "chat.temporary_enforced")
        assert access.has_permission(user, "features.api_keys")
        assert not access.has_permission(user, "workspace.tools")
