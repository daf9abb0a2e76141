"""Every URL of the project, visited as every demo role.

The URL conf is enumerated, so a new view is covered the moment it is routed: it must
declare its access (``module_required``, ``login_required_view`` or ``public_view``), and a
URL with parameters needs a sample below. Expected results come from the demo roles'
rights (``clinic.demo.ROLE_GROUPS``), not from the code under test.
"""

import datetime
import re
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from clinic import demo, testing
from clinic.models import Gender, RightsGroup
from clinic.modules import permission_codename
from clinic.permissions import Access
from clinic.tests.factories import ChairFactory, EmployeeFactory

# Routes that other projects own and test; here they only must not fail with a 500.
THIRD_PARTY_PREFIXES = ("admin/", "accounts/", "i18n/")


@dataclass
class Route:
    path: str
    name: str
    callback: object
    has_params: bool

    @property
    def third_party(self) -> bool:
        return self.path.startswith(THIRD_PARTY_PREFIXES) or self.name == "api:api-root"

    @property
    def path_view(self):
        """django-ninja's PathView behind an API URL (its wrapper closes over it)."""
        for cell in getattr(self.callback, "__closure__", None) or ():
            if hasattr(cell.cell_contents, "operations"):
                return cell.cell_contents
        return None

    @property
    def is_api(self) -> bool:
        return self.path.startswith("api/")

    def accesses(self) -> list[tuple[str, Access | None]]:
        """(HTTP method, declared access) of each operation behind this URL."""
        path_view = self.path_view
        if path_view is not None:
            return [
                (
                    method,
                    next(
                        (cb.access for cb in operation.auth_callbacks if hasattr(cb, "access")),
                        None,
                    ),
                )
                for operation in path_view.operations
                for method in operation.methods
            ]
        return [("*", getattr(self.callback, "access", None))]


def _walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            path = prefix + str(pattern.pattern)
            name = f"{namespace}{pattern.name}" if pattern.name else path
            has_params = bool(re.search(r"<\w+(:\w+)?>|\(\?P<", path))
            yield Route(path, name, pattern.callback, has_params)


ROUTES = list(_walk(get_resolver().url_patterns))


def test_every_project_view_declares_its_access():
    undeclared = [
        f"{route.path} ({route.name}, {method})"
        for route in ROUTES
        if not route.third_party
        for method, access in route.accesses()
        if access is None
    ]
    assert undeclared == [], "Views without module_required/login_required_view/public_view"


@pytest.fixture
def world(db, branch, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "sample.txt").write_text("sample")
    employee = EmployeeFactory(last_name="Образцов", branches=[branch])
    gender = Gender.objects.create(name="Образец")
    deleted_gender = Gender.objects.create(name="Удалённый", deleted_at="2026-01-01T00:00Z")
    groups = demo.ensure_rights_groups()
    from patients.tests.factories import PatientFactory, PatientImportFactory

    patient = PatientFactory()
    from calendar_app.models import Appointment, WaitingListEntry, WorkShift

    doctor = EmployeeFactory(last_name="Врачов", branches=[branch])
    chair = ChairFactory(branch=branch)
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(days=2)
    shift = WorkShift.objects.create(
        doctor=doctor,
        chair=chair,
        branch=branch,
        start=start,
        end=start + datetime.timedelta(hours=6),
    )
    appointment = Appointment.objects.create(
        patient=patient,
        doctor=doctor,
        chair=chair,
        branch=branch,
        start=start,
        end=start + datetime.timedelta(minutes=30),
    )
    waiting = WaitingListEntry.objects.create(patient=patient, branch=branch)
    return {
        "appointment": appointment,
        "shift": shift,
        "waiting": waiting,
        "patient": patient,
        "patient_import": PatientImportFactory(),
        "branch": branch,
        "chair": ChairFactory(branch=branch),
        "employee": employee,
        "gender": gender,
        "deleted_gender": deleted_gender,
        "rights_group": groups["accountant"],
    }


SAMPLES = {
    "clinic:media": lambda w: {"path": "sample.txt"},
    "clinic:employee-detail": lambda w: {"pk": w["employee"].pk},
    "clinic:employee-update": lambda w: {"pk": w["employee"].pk},
    "clinic:employee-login": lambda w: {"pk": w["employee"].pk},
    "clinic:employee-rights": lambda w: {"pk": w["employee"].pk},
    "clinic:employee-delete": lambda w: {"pk": w["employee"].pk},
    "clinic:rights-group-update": lambda w: {"pk": w["rights_group"].pk},
    "clinic:rights-group-delete": lambda w: {"pk": w["rights_group"].pk},
    "clinic:reference-book": lambda w: {"key": "genders"},
    "clinic:reference-item-create": lambda w: {"key": "genders"},
    "clinic:reference-item-update": lambda w: {"key": "genders", "pk": w["gender"].pk},
    "clinic:reference-item-delete": lambda w: {"key": "genders", "pk": w["gender"].pk},
    "clinic:trash-restore": lambda w: {
        "section": "reference-genders",
        "pk": w["deleted_gender"].pk,
    },
    "clinic:branch-detail": lambda w: {"pk": w["branch"].pk},
    "clinic:branch-update": lambda w: {"pk": w["branch"].pk},
    "clinic:branch-delete": lambda w: {"pk": w["branch"].pk},
    "clinic:chair-create": lambda w: {"branch_pk": w["branch"].pk},
    "clinic:chairs-reorder": lambda w: {"branch_pk": w["branch"].pk},
    "clinic:chair-rename": lambda w: {"pk": w["chair"].pk},
    "clinic:chair-delete": lambda w: {"pk": w["chair"].pk},
    "integrations:webhook": lambda w: {"system": "nobody"},
    **{
        f"patients:{name}": lambda w: {"pk": w["patient"].pk}
        for name in (
            "card",
            "profile-edit",
            "info-edit",
            "delete",
            "family-create",
            "family-join",
            "family-leave",
            "portal-activate",
            "portal-deactivate",
        )
    },
    "patients:section": lambda w: {"pk": w["patient"].pk, "section": "diagnostics"},
    "patients:import-detail": lambda w: {"pk": w["patient_import"].pk},
    "patients:import-confirm": lambda w: {"pk": w["patient_import"].pk},
    "patients:import-cancel": lambda w: {"pk": w["patient_import"].pk},
    **{
        f"calendar:appointment-{name}": lambda w: {"pk": w["appointment"].pk}
        for name in ("detail", "edit", "move", "reschedule", "status", "cancel", "delete")
    },
    "calendar:shift-move": lambda w: {"pk": w["shift"].pk},
    "calendar:shift-delete": lambda w: {"pk": w["shift"].pk},
    "calendar:waitlist-remove": lambda w: {"pk": w["waiting"].pk},
    "schedule:status": lambda w: {"pk": w["appointment"].pk},
}


def _url(route: Route, world) -> str | None:
    if not route.has_params:
        return "/" + route.path.replace("^", "").replace("$", "").replace("\\Z", "")
    sample = SAMPLES.get(route.name)
    if sample is None:
        return None
    url = "/" + route.path
    for key, value in sample(world).items():
        url = re.sub(rf"<(\w+:)?{key}>", str(value), url)
    return url


def test_every_project_url_with_parameters_has_a_sample():
    missing = [
        r.name for r in ROUTES if r.has_params and not r.third_party and r.name not in SAMPLES
    ]
    assert missing == [], "Add a sample to SAMPLES for these URL names"


def _request(client, url: str, method: str):
    """Visit without keeping side effects, so one URL cannot spoil the next."""
    with transaction.atomic():
        if method == "GET":
            response = client.get(url)
        elif method == "POST":
            response = client.post(url, {})
        else:
            response = client.generic(method, url)
        transaction.set_rollback(True)
    return response


def _visits(world):
    for route in ROUTES:
        url = _url(route, world)
        if url is None:
            continue
        for method, access in route.accesses():
            yield route, url, method, access


OK_WITH_RIGHT = {200, 204, 302, 400, 409, 422}
# Views that also check the object belongs to the user (a doctor taps only their own visits):
# with the module right but not the object, they answer 404.
OWNED_OBJECT_ROUTES = {"schedule:status"}


@pytest.mark.parametrize("role", [*testing.ROLES, "anonymous"])
def test_each_role_gets_what_its_rights_allow(role, world, client, branch):
    if role != "anonymous":
        persona = testing.make_persona(role, branch)
        client.force_login(persona.user)
        granted = set(demo.ROLE_GROUPS[role][1])
    failures = []
    for route, url, method, access in _visits(world):
        get_first = method in ("*", "GET")
        response = _request(client, url, "GET" if get_first else method)
        if response.status_code == 405 and method == "*":
            response = _request(client, url, "POST")
        status = response.status_code
        if status >= 500:
            failures.append(f"{url} {method}: {status}")
            continue
        if route.third_party or access is None or access.public:
            continue
        if role == "anonymous":
            expected = {401} if route.path_view is not None else {302}
            ok = status in expected
        elif access.module is None or permission_codename(access.module, access.action) in granted:
            ok = status in OK_WITH_RIGHT or (status == 404 and route.name in OWNED_OBJECT_ROUTES)
        else:
            ok = status == 403
        if not ok:
            failures.append(f"{url} {method} [{access.module}.{access.action}]: {status}")
    assert failures == []


def test_superuser_opens_every_page(world, admin_client):
    failures = []
    for route, url, method, _access in _visits(world):
        if method not in ("*", "GET") or route.third_party:
            continue
        response = _request(admin_client, url, "GET")
        # An API operation called without its required query parameters explains itself (422).
        allowed = (200, 302, 405, 422) if route.path_view is not None else (200, 302, 405)
        if response.status_code not in allowed:
            failures.append(f"{url}: {response.status_code}")
    assert failures == []


def test_rights_groups_exist_for_every_demo_role(db):
    groups = demo.ensure_rights_groups()
    assert set(groups) == set(testing.ROLES)
    assert RightsGroup.objects.count() == len(testing.ROLES)


# Views that deliberately need another module's right than their URL suggests.
CROSS_MODULE = {
    # Granting rights is a staff-administration power, wherever its screen lives.
    "clinic:rights-group-create": "staff",
    "clinic:rights-group-update": "staff",
    "clinic:rights-group-delete": "staff",
}


def _module_of_path(path: str) -> str | None:
    from clinic.modules import MODULES

    candidates = [m for m in MODULES if m.path and path.startswith(m.path)]
    return max(candidates, key=lambda m: len(m.path)).key if candidates else None


def test_views_guard_the_module_their_url_belongs_to():
    wrong = []
    for route in ROUTES:
        if route.third_party:
            continue
        expected = CROSS_MODULE.get(route.name) or _module_of_path(route.path)
        for _method, access in route.accesses():
            if access is None or access.module is None or expected is None:
                continue
            if access.module != expected:
                wrong.append(f"{route.path}: declares {access.module}, expected {expected}")
    assert wrong == []
