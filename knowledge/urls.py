from django.urls import path

from config.common.routers import Router
from knowledge import external
from knowledge.views import KnowledgeViewSet

router = Router()
router.register("", KnowledgeViewSet, basename="knowledge")
urlpatterns = [
    path("external/connections", external.ConnectionsView.as_view()),
    path("external/connections/<str:connection_id>", external.ConnectionView.as_view()),
    path("external/connections/<str:connection_id>/test", external.ConnectionView.as_view()),
    path("external/connections/<str:connection_id>/retrieve-test", external.ConnectionView.as_view()),
    path("external/source/test", external.CreateView.as_view()),
    path("external/source/create", external.CreateView.as_view()),
    path("external/source/<str:connection_id>", external.ConnectionView.as_view()),
    path("external/knowledge/create", external.CreateView.as_view()),
    *router.urls,
]
