from django.urls import path

from files import views

urlpatterns = [
    path("", views.FileListView.as_view()),
    path("all", views.DeleteAllView.as_view()),
    path("<uuid:file_id>", views.FileDetailView.as_view()),
    path("<uuid:file_id>/content", views.FileContentView.as_view()),
    path("<uuid:file_id>/data/content", views.FileDataContentView.as_view()),
    path("<uuid:file_id>/data/content/update", views.FileDataUpdateView.as_view()),
    path("<uuid:file_id>/process/status", views.FileStatusView.as_view()),
]
