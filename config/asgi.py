"""ASGI entry point: HTTP through Django (its middleware chain run as one synchronous call,
``clinic/asgi_http.py``), websockets through Channels."""

import gc
import os
import threading

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from clinic.asgi_http import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

if settings.ODONTA_WARM_UP_PDF:
    from documents.rendering import warm_up

    threading.Thread(target=warm_up, name="odonta-pdf-warm-up", daemon=True).start()

# Everything loaded so far lives as long as the process: keep it out of the garbage
# collector's full passes, which otherwise stall requests that allocate a lot.
gc.freeze()
