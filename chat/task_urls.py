from django.urls import path

from chat import task_views as views

urlpatterns = [
    path("config", views.TaskConfigView.as_view()),
    path("config/update", views.TaskConfigUpdateView.as_view()),
    path("title/completions", views.title),
    path("follow_up/completions", views.follow_up),
    path("tags/completions", views.tags),
    path("image_prompt/completions", views.image_prompt),
    path("queries/completions", views.queries),
    path("auto/completions", views.autocomplete),
    path("emoji/completions", views.emoji),
    path("moa/completions", views.moa),
]
