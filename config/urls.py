from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from accounts.public_config import PublicConfigView
from accounts.urls import analytics, auths, groups, usage, users
from accounts.usage_views import CurrentUsageView, UsageView
from chat import history_urls, webui_views
from chat import views as chat_views
from chat.page import chat_page
from config import views
from config.events import views as event_views
from config.metrics_view import metrics_view
from knowledge.user_preview import UserPreviewView
from models_registry import views as model_views
from models_registry.urls import ollama, openai, presets

urlpatterns = [
    path("health", views.health),
    path("health/db", views.health_db),
    path("ready", views.ready),
    path("metrics", metrics_view),
    path("api/version", views.version),
    path("api/version/updates", views.VersionUpdatesView.as_view()),
    path("api/config", PublicConfigView.as_view()),
    path("api/events", event_views.events),
    path("api/events/webhooks", event_views.WebhookListView.as_view()),
    path("api/events/webhooks/<str:webhook_id>", event_views.WebhookView.as_view()),
    path("api/models", model_views.model_list),
    path("api/v1/models", model_views.model_list),
    path("api/models/base", model_views.base_model_list),
    path("api/models/unload", webui_views.models_unload),
    path("api/changelog", views.changelog),
    path("api/chat/completed", webui_views.chat_completed),
    path("api/chat/actions/<str:action_id>", webui_views.chat_action),
    path("api/tasks", webui_views.tasks),
    path("api/tasks/stop/<str:task_id>", webui_views.stop_task),
    path("api/tasks/chat/<str:chat_id>", webui_views.chat_tasks),
    path("api/tasks/chat/<str:chat_id>/stop", webui_views.stop_chat_tasks),
    path("api/chat/completions", chat_views.chat_completions),
    path("api/v1/chat/completions", chat_views.chat_completions),
    path("api/embeddings", chat_views.embeddings_view),
    path("api/v1/embeddings", chat_views.embeddings_view),
    path("api/v1/messages", chat_views.messages_view),
    path("api/message", chat_views.messages_view),
    path("api/v1/messages/count_tokens", chat_views.count_tokens_view),
    path("api/message/count_tokens", chat_views.count_tokens_view),
    path("api/v1/models/", include(presets)),
    path("ollama/", include(ollama)),
    path("openai/", include(openai)),
    path("api/v1/auths/", include(auths)),
    path("api/v1/users/<id:user_id>/preview", UserPreviewView.as_view()),
    path("api/v1/users/", include(users)),
    path("api/v1/groups/", include(groups)),
    path("api/usage", CurrentUsageView.as_view()),
    path("api/v1/usage", UsageView.as_view()),
    path("api/v1/usage/", include(usage)),
    path("api/v1/analytics/", include(analytics)),
    path("api/v1/files/", include("files.urls")),
    path("api/v1/knowledge/", include("knowledge.urls")),
    path("api/v1/retrieval/", include("knowledge.retrieval_urls")),
    path("api/v1/chats/", include(history_urls.chats)),
    path("api/v1/folders/", include(history_urls.folders)),
    path("api/v1/prompts/", include("chat.prompt_urls")),
    path("api/v1/tasks/", include("chat.task_urls")),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file (`/docs?script`): no inline script to allow.
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="schema")),
    path("admin/", admin.site.urls),
    path("", chat_page, name="chat"),
]
