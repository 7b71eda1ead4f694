import gc
import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cobrowse.settings")
# The event loop shares the GIL with the database threads (database_sync_to_async): it gets the
# GIL back after 1 ms of another thread's Python instead of Python's default 5 ms, so that one
# session's database work does not add 5 ms waits to every other session's frames.
sys.setswitchinterval(0.001)
# Django first, so that the apps are loaded before the consumers are imported.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from cobrowse.routing import websocket_urlpatterns  # noqa: E402

http_app = ASGIStaticFilesHandler(django_asgi_app) if settings.SERVE_STATIC else django_asgi_app

application = ProtocolTypeRouter(
    {
        "http": http_app,
        # The stubs want their own URLPattern subtype, which Django's path() never returns.
        "websocket": URLRouter(websocket_urlpatterns),  # type: ignore[arg-type]
    }
)

# The garbage collector's full collections stopped every session for 110-180 ms at a time while
# one customer sent large pages (bench/hostile.py; a gc callback measured the pauses as CPU spent
# inside the collector). Everything loaded so far (Django, the apps, the modules: about 100,000
# objects) is frozen out of the collections, and the young generation is collected after 50,000
# allocations instead of 700, and the oldest one after 100 of the next instead of 10, so that a
# full collection is rare and cheaper. Cycles are still collected; measured in bench/RESULTS.md.
gc.freeze()
gc.set_threshold(50_000, 20, 100)
