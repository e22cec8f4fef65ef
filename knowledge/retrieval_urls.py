from django.urls import path

from knowledge import retrieval_views as v

urlpatterns = [
    path("embedding", v.EmbeddingConfigView.as_view()),
    path("embedding/update", v.EmbeddingConfigView.as_view()),
    path("config", v.RetrievalConfigView.as_view()),
    path("config/update", v.RetrievalConfigView.as_view()),
    path("reindex", v.ReindexView.as_view()),
    path("query/doc", v.QueryDocView.as_view()),
    path("query/collection", v.QueryCollectionView.as_view()),
    path("process/file", v.ProcessFileView.as_view()),
    path("process/text", v.ProcessTextView.as_view()),
    path("process/files/batch", v.ProcessBatchView.as_view()),
    path("delete", v.DeleteEntriesView.as_view()),
    path("reset/db", v.ResetIndexView.as_view()),
    path("reset/uploads", v.ResetUploadsView.as_view()),
]
