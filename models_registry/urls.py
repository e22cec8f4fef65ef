from django.urls import path

from models_registry import connection_views as c
from models_registry import preset_views as p
from models_registry import proxy_views as v

ollama = [
    path("", v.ollama_status),
    path("config", c.ConnectionConfigView.as_view(kind="ollama")),
    path("config/update", c.ConnectionConfigView.as_view(kind="ollama")),
    path("api/tags", v.ollama_tags),
    path("api/tags/<int:url_idx>", v.ollama_tags),
    path("api/version", v.ollama_version),
    path("api/version/<int:url_idx>", v.ollama_version),
    path("api/ps", v.ollama_ps),
    path("api/show", v.ollama_show),
    path("api/chat", v.ollama_chat),
    path("api/chat/<int:url_idx>", v.ollama_chat),
    path("api/generate", v.ollama_generate),
    path("api/generate/<int:url_idx>", v.ollama_generate),
    path("api/embed", v.ollama_embed),
    path("api/embed/<int:url_idx>", v.ollama_embed),
    path("api/embeddings", v.ollama_embeddings),
    path("api/embeddings/<int:url_idx>", v.ollama_embeddings),
]

openai = [
    path("config", c.ConnectionConfigView.as_view(kind="openai")),
    path("config/update", c.ConnectionConfigView.as_view(kind="openai")),
    path("models", v.openai_models),
    path("models/<int:url_idx>", v.openai_models),
    path("chat/completions", v.openai_chat),
    path("embeddings", v.openai_embeddings),
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
