from django.urls import path

from chat import prompt_views as views

urlpatterns = [
    path("", views.PromptListView.as_view()),
    path("tags", views.PromptTagsView.as_view()),
    path("list", views.PromptSearchView.as_view()),
    path("create", views.PromptCreateView.as_view()),
    path("id/<str:prompt_id>", views.PromptDetailView.as_view()),
    path("id/<str:prompt_id>/update", views.PromptUpdateView.as_view()),
    path("id/<str:prompt_id>/update/meta", views.PromptMetaView.as_view()),
    path("id/<str:prompt_id>/update/version", views.PromptVersionView.as_view()),
    path("id/<str:prompt_id>/access/update", views.PromptAccessView.as_view()),
    path("id/<str:prompt_id>/toggle", views.PromptToggleView.as_view()),
    path("id/<str:prompt_id>/delete", views.PromptDeleteView.as_view()),
    path("id/<str:prompt_id>/history", views.PromptHistoryView.as_view()),
    path("id/<str:prompt_id>/history/diff", views.PromptDiffView.as_view()),
    path("id/<str:prompt_id>/history/<str:history_id>", views.PromptHistoryEntryView.as_view()),
]
