"""Every URL of the project, visited as every demo role.

The URL conf is enumerated, so a new view is covered the moment it is routed: it must
declare its access (``module_required``, ``login_required_view`` or ``public_view``), and a
URL with parameters needs a sample below. Expected results come from the demo roles'
rights (``clinic.demo.ROLE_GROUPS``), not from the code under test.

The world has its branch-scoped objects in two branches; every persona works in the first.
A second walk visits every URL that names an object of the other branch and expects 404
(or 403), with nothing changed.
"""

import pytest
from django.db import transaction
from django.forms.models import model_to_dict

from clinic import demo, testing
from clinic.models import AuditEntry, OutboxEvent, RightsGroup
from clinic.modules import permission_codename
from clinic.testing_urls import (
    FLOW_RETURN_ROUTES,
    POST_SAMPLES,
    ROUTES,
    SAMPLES,
    SIGNED_PATH_ROUTES,
    build_world,
    urls_for,
)


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
    return build_world(branch, tmp_path)


def test_every_project_url_with_parameters_has_a_sample():
    missing = [
        r.name for r in ROUTES if r.has_params and not r.third_party and r.name not in SAMPLES
    ]
    assert missing == [], "Add a sample to SAMPLES for these URL names"


def _request(client, url: str, method: str, data: dict | None = None, inspect=None):
    """Visit without keeping side effects, so one URL cannot spoil the next.

    ``inspect()`` runs after the request and before the rollback: it sees what the
    request wrote. Returns the response, or (response, what ``inspect`` returned)."""
    with transaction.atomic():
        if method == "GET":
            response = client.get(url)
        elif method == "POST":
            response = client.post(url, data or {})
        else:
            response = client.generic(method, url)
        seen = inspect() if inspect else None
        transaction.set_rollback(True)
    return (response, seen) if inspect else response


def _visits(world):
    for route in ROUTES:
        for url in urls_for(route, world):
            for method, access in route.accesses():
                yield route, url, method, access


OK_WITH_RIGHT = {200, 204, 302, 400, 409, 422}
# Views that also check the object belongs to the user (a doctor taps only their own visits):
# with the module right but not the object, they answer 404.
OWNED_OBJECT_ROUTES = {"schedule:status"}
# Only the record's own doctor (or a superuser) signs it: others with the right get 403.
OWN_RECORD_ROUTES = {"clinical:history-sign"}


@pytest.mark.parametrize("role", [*testing.ROLES, "anonymous"])
def test_each_role_gets_what_its_rights_allow(role, world, client, branch):
    if role != "anonymous":
        persona = testing.make_persona(role, branch)
        client.force_login(persona.user)
        granted = set(demo.ROLE_GROUPS[role][1])
    markers = world["elsewhere"]["markers"]
    failures = []
    for route, url, method, access in _visits(world):
        get_first = method in ("*", "GET")
        response = _request(client, url, "GET" if get_first else method)
        if response.status_code == 405 and method == "*":
            response = _request(client, url, "POST", POST_SAMPLES.get(route.name))
        status = response.status_code
        if status >= 500:
            failures.append(f"{url} {method}: {status}")
            continue
        if role != "anonymous" and status == 200 and not response.streaming:
            shown = [m for m in markers if m in response.content.decode(errors="replace")]
            if shown and route.name not in NETWORK_WIDE_NAMES:
                failures.append(f"{url} {method} shows the other branch's {shown}")
        if route.third_party or access is None or access.public:
            continue
        if role == "anonymous":
            expected = {401} if route.path_view is not None else {302}
            ok = status in expected
        elif access.module is None or permission_codename(access.module, access.action) in granted:
            ok = (
                status in OK_WITH_RIGHT
                or (status == 404 and route.name in OWNED_OBJECT_ROUTES)
                or (status == 403 and route.name in OWN_RECORD_ROUTES)
            )
        else:
            ok = status == 403
        if not ok:
            failures.append(f"{url} {method} [{access.module}.{access.action}]: {status}")
    assert failures == []


# Pages that name other branches' staff or branches by design: patients are shared by the
# network, and so are the choices of a patient's home branch, attending doctor and
# coordinator, in the card's forms and the list's filters; deleting a card that has visits
# in another branch is refused naming that branch (docs/architecture.md, "Decisions").
NETWORK_WIDE_NAMES = {
    "patients:list",
    "patients:create",
    "patients:profile-edit",
    "patients:delete",
}


def _other_branch_visits(world):
    """(route, URL, access) of every URL that names an object of the other branch: its
    sample in the other branch's world differs from the one in the user's own."""
    for route in ROUTES:
        if route.third_party:
            continue
        own = set(urls_for(route, world))
        for url in urls_for(route, world["elsewhere"]):
            if url not in own:
                yield route, url


def _fingerprint(elsewhere) -> tuple:
    """The audit log's and the outbox's length and every row of the other branch."""
    objects = [
        value
        for key, value in elsewhere.items()
        if key
        in (
            "appointment",
            "shift",
            "waiting",
            "branch",
            "chair",
            "doctor",
            "employee",
            "price_list",
        )
    ] + list(elsewhere["deleted"].values())
    rows = []
    for obj in objects:
        fresh = type(obj)._base_manager.get(pk=obj.pk)
        rows.append((type(obj).__name__, obj.pk, sorted(model_to_dict(fresh).items(), key=str)))
    return AuditEntry.objects.count(), OutboxEvent.objects.count(), rows


@pytest.mark.parametrize("role", testing.ROLES)
def test_a_one_branch_user_reaches_nothing_of_another_branch(role, world, client, branch):
    """Every URL that names the other branch's object, by GET and by POST (with a body
    that would change it): 404, or 403 without the right; the object, the audit log and
    the outbox unchanged."""
    client.force_login(testing.make_persona(role, branch).user)
    elsewhere = world["elsewhere"]
    before = _fingerprint(elsewhere)
    visited, failures = 0, []
    for route, url in _other_branch_visits(world):
        visited += 1
        answered = []
        for method in ("GET", "POST"):
            response, after = _request(
                client,
                url,
                method,
                POST_SAMPLES.get(route.name),
                inspect=lambda: _fingerprint(elsewhere),
            )
            status = response.status_code
            if after != before:
                failures.append(f"{method} {url} changed the other branch's data")
            if status == 405:  # the method is not the route's: it says nothing of the object
                continue
            answered.append(status)
            if status not in (403, 404):
                failures.append(f"{method} {url}: {status}")
        if not answered:
            failures.append(f"{url}: neither GET nor POST is allowed")
    assert failures == []
    assert visited >= 30, "The walk lost its URLs: see SAMPLES and build_world"


def test_superuser_opens_every_page(world, admin_client):
    failures = []
    for route, url, method, _access in _visits(world):
        if method not in ("*", "GET") or route.third_party:
            continue
        response = _request(admin_client, url, "GET")
        # An API operation called without its required query parameters explains itself (422).
        allowed = (200, 302, 405, 422) if route.path_view is not None else (200, 302, 405)
        if route.name in FLOW_RETURN_ROUTES:
            allowed = (400,)
        if route.name in SIGNED_PATH_ROUTES:
            allowed = (403,)
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
    # The treatment plan templates are a reference book with a screen of its own.
    "clinical:plan-templates": "references",
    "clinical:plan-template-new": "references",
    "clinical:plan-template": "references",
    # Printing from the patient card and its printed copies need the card's rights: whoever
    # may open the card may print and download its documents (issue 12).
    **{
        f"documents:{name}": "patients"
        for name in (
            "patient-documents",
            "patient-print",
            "copy-detail",
            "copy-pdf",
            "copy-status",
            "copy-scan",
        )
    },
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
