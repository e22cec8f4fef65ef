from django.urls import path

from models_registry import connection_views as c
from models_registry import preset_views as p
from models_registry import provider_admin_views as a
from models_registry import proxy_views as v


def indexed(route: str, view) -> list:
    """A route and its `/{url_idx}` variant (Open WebUI's index into the kind's enabled connections)."""
    return [path(route, view), path(f"{route}/<int:url_idx>", view)]


ollama = [
    path("", v.ollama_status),
    path("config", c.ConnectionConfigView.as_view(kind="ollama")),
    path("config/update", c.ConnectionConfigView.as_view(kind="ollama")),
    path("verify", a.verify(v.OLLAMA)),
    *indexed("api/tags", v.ollama_tags),
    *indexed("api/version", v.ollama_version),
    path("api/ps", v.ollama_ps),
    path("api/show", v.ollama_show),
    *indexed("api/chat", v.ollama_chat),
    *indexed("api/generate", v.ollama_generate),
    *indexed("api/embed", v.ollama_embed),
    *indexed("api/embeddings", v.ollama_embeddings),
    path("api/unload", a.ollama_unload),
    *indexed("api/pull", a.ollama_pull),
    *indexed("api/push", a.ollama_push),
    *indexed("api/create", a.ollama_create),
    *indexed("api/copy", a.ollama_copy),
    *indexed("api/delete", a.ollama_delete),
    *indexed("v1/models", v.ollama_v1_models),
    *indexed("v1/chat/completions", v.ollama_v1_chat),
    *indexed("v1/completions", v.ollama_v1_completions),
    *indexed("v1/embeddings", v.ollama_v1_embeddings),
    *indexed("v1/messages", v.ollama_v1_messages),
    *indexed("v1/responses", v.ollama_v1_responses),
    *indexed("models/download", a.ollama_model_files),
    *indexed("models/upload", a.ollama_model_files),
]

openai = [
    path("config", c.ConnectionConfigView.as_view(kind="openai")),
    path("config/update", c.ConnectionConfigView.as_view(kind="openai")),
    path("verify", a.verify(v.OPENAI)),
    path("models", v.openai_models),
    path("models/<int:url_idx>", a.openai_models_by_index),
    *[path(f"models/<int:url_idx>/{action}", a.openai_model_management)
      for action in ("catalog", "download", "load", "unload", "sse")],
    path("models/<int:url_idx>/download/status/<str:job_id>", a.openai_model_management),
    path("chat/completions", v.openai_chat),
    path("embeddings", v.openai_embeddings),
    path("responses", v.openai_responses),
    path("<path:path>", v.openai_passthrough),  # last: Open WebUI's catch-all, not offered (403)
]

presets = [
    path("create", p.CreateView.as_view()),
    path("list", p.ListView.as_view()),
    path("model", p.DetailView.as_view()),
    path("model/update", p.UpdateView.as_view()),
    path("model/access/update", p.AccessUpdateView.as_view()),
    path("model/toggle", p.ToggleView.as_view()),
    path("model/delete", p.DeleteView.as_view()),
    path("model/profile/image", p.ProfileImageView.as_view()),
    path("model/history", p.HistoryView.as_view()),
    path("model/history/<id:history_id>", p.VersionView.as_view()),
    path("model/update/version", p.RestoreVersionView.as_view()),
    path("base", p.BaseView.as_view()),
    path("base/tags", p.BaseTagsView.as_view()),
    path("all", p.AllView.as_view()),
    path("tags", p.TagsView.as_view()),
    path("export", p.ExportView.as_view()),
    path("import", p.ImportView.as_view()),
    path("sync", p.SyncView.as_view()),
    path("delete/all", p.DeleteAllView.as_view()),
]
