"""The JSON API at /api/v1/ (OpenAPI schema at /api/v1/openapi.json).

Every operation needs a signed-in session (with its CSRF token for writes) and declares
its module right with ``auth=clinic.api.module_auth(module, action)``, checked before the
parameters are validated.
"""

from ninja import NinjaAPI
from ninja.security import django_auth

from calendar_app.api import router as calendar_router
from clinic.api import install_error_handlers
from clinic.api import router as clinic_router
from clinic.permissions import login_required_view
from patients.api import router as patients_router

api = NinjaAPI(
    title="Odonta API",
    version="1",
    description="Odonta dental clinic management system",
    auth=django_auth,
    urls_namespace="api",
    docs_decorator=login_required_view,
)
install_error_handlers(api)
api.add_router("/", clinic_router)
api.add_router("/", patients_router)
api.add_router("/", calendar_router)
