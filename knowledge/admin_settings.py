"""Retrieval settings as a form in the admin (the same runtime settings as /api/v1/retrieval/config
and /embedding): embedding engine, search, chunking and uploads, with a re-index button when the
embedding model changes."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from config import runtime
from files import services as file_services
from files.models import Chunk


class RetrievalSettingsForm(forms.Form):
    RAG_EMBEDDING_ENGINE = forms.ChoiceField(label="Embedding engine", required=False, choices=[
        ("", "None: keyword search only"), ("ollama", "Ollama"), ("openai", "OpenAI-compatible")])
    RAG_EMBEDDING_MODEL = forms.CharField(label="Embedding model", required=False)
    RAG_EMBEDDING_BATCH_SIZE = forms.IntegerField(label="Texts per embedding request", min_value=1, max_value=2048)
    RAG_OLLAMA_BASE_URL = forms.URLField(label="Ollama URL", required=False, assume_scheme="http")
    RAG_OPENAI_API_BASE_URL = forms.URLField(label="OpenAI-compatible URL", required=False, assume_scheme="https")
    RAG_TOP_K = forms.IntegerField(label="Chunks kept per file or collection", min_value=1, max_value=100)
    RAG_RELEVANCE_THRESHOLD = forms.FloatField(label="Relevance threshold", min_value=0, max_value=1,
                                               help_text="(1 + cosine) / 2; 0 keeps everything")
    ENABLE_RAG_HYBRID_SEARCH = forms.BooleanField(label="Hybrid search (full text + vectors)", required=False)
    RAG_HYBRID_BM25_WEIGHT = forms.FloatField(label="Keyword weight in hybrid search", min_value=0, max_value=1)
    RAG_FULL_CONTEXT = forms.BooleanField(label="Whole documents instead of search", required=False)
    ENABLE_RETRIEVAL_QUERY_GENERATION = forms.BooleanField(label="Let a model write the search queries", required=False)
    TASK_MODEL = forms.CharField(label="Model writing the queries", required=False, help_text="Empty: the chat's model")
    RAG_TEMPLATE = forms.CharField(label="RAG template", required=False, widget=forms.Textarea(attrs={"rows": 6}),
                                   help_text="Empty: the built-in one. {{CONTEXT}} and {{QUERY}} are filled in.")
    RAG_TEXT_SPLITTER = forms.ChoiceField(label="Chunk sizes in", required=False, choices=[
        ("", "characters"), ("token", "tokens (tiktoken)")])
    TIKTOKEN_ENCODING_NAME = forms.CharField(label="Token encoding")
    ENABLE_MARKDOWN_HEADER_TEXT_SPLITTER = forms.BooleanField(label="Cut Markdown at headings first", required=False)
    CHUNK_SIZE = forms.IntegerField(label="Chunk size", min_value=50, max_value=100_000)
    CHUNK_OVERLAP = forms.IntegerField(label="Chunk overlap", min_value=0)
    FILE_MAX_SIZE = forms.FloatField(label="Upload limit (MB)", required=False, min_value=0.001)
    ALLOWED_FILE_EXTENSIONS = forms.CharField(label="Allowed extensions", required=False,
                                              help_text="Comma-separated, e.g. pdf, md, txt; empty: all")

    GROUPS = [
        ("Embedding", ["RAG_EMBEDDING_ENGINE", "RAG_EMBEDDING_MODEL", "RAG_EMBEDDING_BATCH_SIZE", "RAG_OLLAMA_BASE_URL",
                       "RAG_OPENAI_API_BASE_URL"]),
        ("Search", ["RAG_TOP_K", "RAG_RELEVANCE_THRESHOLD", "ENABLE_RAG_HYBRID_SEARCH", "RAG_HYBRID_BM25_WEIGHT",
                    "RAG_FULL_CONTEXT", "ENABLE_RETRIEVAL_QUERY_GENERATION", "TASK_MODEL", "RAG_TEMPLATE"]),
        ("Chunking", ["RAG_TEXT_SPLITTER", "TIKTOKEN_ENCODING_NAME", "ENABLE_MARKDOWN_HEADER_TEXT_SPLITTER", "CHUNK_SIZE",
                      "CHUNK_OVERLAP"]),
        ("Uploads", ["FILE_MAX_SIZE", "ALLOWED_FILE_EXTENSIONS"]),
    ]

    def groups(self):
        return [(title, [self[name] for name in names]) for title, names in self.GROUPS]

    def clean_ALLOWED_FILE_EXTENSIONS(self):
        raw = self.cleaned_data["ALLOWED_FILE_EXTENSIONS"]
        return [e.strip().lower().lstrip(".") for e in raw.split(",") if e.strip()]

    def clean(self):
        data = super().clean()
        if data.get("RAG_EMBEDDING_ENGINE") and not data.get("RAG_EMBEDDING_MODEL"):
            self.add_error("RAG_EMBEDDING_MODEL", "An engine needs a model.")
        for key, value in data.items():
            error = runtime.validation_error(key, value)
            if error:
                self.add_error(key if key in self.fields else None, error)
        return data


def retrieval_settings(request, admin_site):
    if request.method == "POST" and "reindex" in request.POST:
        count = file_services.reindex_stale()
        messages.success(request, f"{count} file(s) queued to be embedded with the current model.")
        return redirect("admin:retrieval_settings")
    config = runtime.snapshot()
    initial = {**{name: config[name] for name in RetrievalSettingsForm.base_fields},
               "ALLOWED_FILE_EXTENSIONS": ", ".join(config["ALLOWED_FILE_EXTENSIONS"])}
    form = RetrievalSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changed = {key: form.cleaned_data[key] for key in form.changed_data}
        runtime.update(changed)
        messages.success(request, f"Saved: {', '.join(sorted(changed)) or 'nothing changed'}.")
        return redirect("admin:retrieval_settings")
    model = config["RAG_EMBEDDING_MODEL"] if config["RAG_EMBEDDING_ENGINE"] else ""
    stale = Chunk.objects.exclude(embedding_model=model).order_by().values("file_id").distinct().count()
    return TemplateResponse(request, "admin/retrieval_settings.html", {
        **admin_site.each_context(request), "title": "Retrieval settings", "form": form, "stale_files": stale})
