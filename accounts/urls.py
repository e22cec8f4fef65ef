from django.urls import path

from accounts import group_views, limit_views, usage_views, user_views, views

auths = [
    path("", views.SessionView.as_view()),
    path("signup", views.SignupView.as_view()),
    path("signin", views.SigninView.as_view()),
    path("signout", views.SignoutView.as_view()),
    path("update/password", views.PasswordUpdateView.as_view()),
    path("update/profile", views.ProfileUpdateView.as_view()),
    path("api_key", views.DefaultApiKeyView.as_view()),
    path("api_keys", views.ApiKeyListView.as_view()),
    path("api_keys/<id:key_id>", views.ApiKeyDetailView.as_view()),
    path("update/timezone", user_views.TimezoneView.as_view()),
    path("add", user_views.AddUserView.as_view()),
    path("admin/details", user_views.AdminDetailsView.as_view()),
    path("admin/config", views.AdminConfigView.as_view()),
]

# Ids are matched as any text and looked up, so one that is not a UUID is an unknown user (404).
users = [
    path("", views.UserListView.as_view()),
    path("all", user_views.AllUsersView.as_view()),
    path("search", user_views.SearchUsersView.as_view()),
    path("groups", user_views.MyGroupsView.as_view()),
    path("permissions", user_views.MyPermissionsView.as_view()),
    path("default/permissions", user_views.DefaultPermissionsView.as_view()),
    path("default/permissions/defaults", user_views.DefaultPermissionsDefaultsView.as_view()),
    path("user/settings", user_views.MySettingsView.as_view()),
    path("user/settings/update", user_views.MySettingsUpdateView.as_view()),
    path("user/info", user_views.MyInfoView.as_view()),
    path("user/info/update", user_views.MyInfoUpdateView.as_view()),
    path("user/status", user_views.MyStatusView.as_view()),
    path("user/status/update", user_views.MyStatusUpdateView.as_view()),
    path("user/variables", user_views.MyVariablesView.as_view()),
    path("user/variables/update", user_views.MyVariablesUpdateView.as_view()),
    path("<id:user_id>", views.UserDetailView.as_view()),
    path("<id:user_id>/info", user_views.UserInfoView.as_view()),
    path("<id:user_id>/active", user_views.UserActiveView.as_view()),
    path("<id:user_id>/groups", user_views.UserGroupsView.as_view()),
    path("<id:user_id>/oauth/sessions", user_views.UserOAuthSessionsView.as_view()),
    path("<id:user_id>/sessions/revoke", user_views.RevokeSessionsView.as_view()),
    path("<id:user_id>/update", views.UserUpdateView.as_view()),
    path("<id:user_id>/profile/image", views.ProfileImageView.as_view()),
]

groups = [
    path("", group_views.GroupListView.as_view()),
    path("create", group_views.GroupCreateView.as_view()),
    path("id/<id:group_id>", group_views.GroupDetailView.as_view()),
    path("id/<id:group_id>/info", group_views.GroupInfoView.as_view()),
    path("id/<id:group_id>/export", group_views.GroupExportView.as_view()),
    path("id/<id:group_id>/users", group_views.GroupUsersView.as_view()),
    path("id/<id:group_id>/members", group_views.GroupMembersView.as_view()),
    path("id/<id:group_id>/preview", group_views.GroupPreviewView.as_view()),
    path("id/<id:group_id>/update", group_views.GroupUpdateView.as_view()),
    path("id/<id:group_id>/users/add", group_views.GroupAddUsersView.as_view()),
    path("id/<id:group_id>/users/remove", group_views.GroupRemoveUsersView.as_view()),
    path("id/<id:group_id>/delete", group_views.GroupDeleteView.as_view()),
]

analytics = [path(report, usage_views.AnalyticsView.as_view(report=report))
             for report in ("models", "users", "tokens", "daily", "summary")]

# /api/v1/usage/*: limits by id; prices by model id (which may hold "/" and ":").
usage = [
    path("limits", limit_views.LimitListView.as_view()),
    path("limits/status", limit_views.LimitStatusView.as_view()),
    path("limits/<id:limit_id>", limit_views.LimitDetailView.as_view()),
    path("prices", limit_views.PriceListView.as_view()),
    path("prices/<path:model>", limit_views.PriceDetailView.as_view()),
]
