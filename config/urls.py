from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from clinic.modules import MODULES
from clinic.permissions import public_view
from clinic.views.home import coming_soon_view, favicon
from clinic.views.language import language_set
from config.api import api

urlpatterns = [
    path("", include("clinic.urls")),
    path("patients/", include("patients.urls")),
    path("documents/", include("documents.urls")),
    path("calendar/", include("calendar_app.urls")),
    path("schedule/", include("calendar_app.urls_schedule")),
    path("clinical/", include("clinical.urls")),
    path("billing/", include("billing.urls")),
    path("integrations/", include("integrations.urls")),
    path("api/v1/", api.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", language_set, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", public_view(JavaScriptCatalog.as_view()), name="javascript-catalog"),
    path("favicon.ico", favicon),
]

# Modules whose app has not landed yet answer with an honest placeholder at their URL.
urlpatterns += [
    path(module.path, coming_soon_view(module.key), name=module.link_name)
    for module in MODULES
    if module.coming_soon
]
