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
]
