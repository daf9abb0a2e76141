import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()
# As in config/asgi.py: what loading left behind is kept out of the full GC passes.
gc.freeze()
