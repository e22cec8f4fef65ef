from django.urls import path

from accounts import views

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
    path("admin/config", views.AdminConfigView.as_view()),
]

users = [
    path("", views.UserListView.as_view()),
    path("<id:user_id>", views.UserDetailView.as_view()),
    path("<id:user_id>/update", views.UserUpdateView.as_view()),
    path("<id:user_id>/profile/image", views.ProfileImageView.as_view()),
]
