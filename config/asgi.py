import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config import asgi_handler, tracing  # noqa: E402

tracing.setup()  # before any httpx client or database connection exists (no-op unless configured)
django_asgi_app = asgi_handler.application()  # set up Django before importing consumers

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config import drain, heap  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402

application = tracing.wrap(ProtocolTypeRouter(
    {
        "http": drain.wrap(django_asgi_app),
        "websocket": drain.wrap_websocket(URLRouter(websocket_urlpatterns)),
    }
))
drain.install()  # SIGTERM drains first (uvicorn's handler is in place: it imports the app after)
heap.settle()  # last: what start-up made stays out of the collector's way (config/heap.py)
