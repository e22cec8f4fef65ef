from config.common.routers import Router
from files.views import FileViewSet

router = Router()
router.register("", FileViewSet, basename="files")
urlpatterns = router.urls
