from config.common.routers import Router
from knowledge.views import KnowledgeViewSet

router = Router()
router.register("", KnowledgeViewSet, basename="knowledge")
urlpatterns = router.urls
