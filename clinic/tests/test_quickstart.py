"""The quickstart (``make run``) as a tested path: SQLite, no Redis, the demo data.

Run by ``make quickstart`` in a pytest process of its own (``-m quickstart``), with
``DATABASE_URL`` naming a new SQLite file and ``REDIS_URL`` empty. Instead of a test
database the session builds the README's database with the README's commands (``migrate``
and ``seed_demo`` in a subprocess, with the environment ``make run`` has), then every test
works in a transaction that is rolled back. The walk visits every URL of the URL conf as
every demo login, with parameters from the demo data (``clinic.testing_urls.demo_world``),
so a new view is walked the moment it is routed; the flows do what the front desk does.
On PostgreSQL these tests skip: the unit suite runs there.
"""

import copy
import datetime
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import global_settings, settings
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from calendar_app.models import Appointment, StatusCode, WaitingListEntry, WaitlistStatus
from clinic import demo
from clinic.models import Branch, Employee, OutboxEvent, User
from clinic.testing_urls import (
    FLOW_RETURN_ROUTES,
    ROUTES,
    SIGNED_PATH_ROUTES,
    DemoWorld,
    demo_world,
    url_for,
)
from patients.models import Patient, PatientEvent
from pricelist.models import Service
from pricelist.prices import price_for

pytestmark = [pytest.mark.quickstart, pytest.mark.django_db]

# Set for the PostgreSQL suite by pytest-env (pyproject.toml); `make run` has none of them.
NOT_IN_MAKE_RUN = (
    "REDIS_URL",
    "CACHE_KEY_PREFIX",
    "CHANNELS_PREFIX",
    "CELERY_TASK_ALWAYS_EAGER",
    "FAST_PASSWORD_HASHER",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)
DEMO_USERNAMES = [username for username, _role in demo.DEMO_LOGINS]


@pytest.fixture(scope="session")
def django_db_setup(request, django_db_blocker):
    """The README's `make run` database in place of a test database, built once."""
    if connection.vendor != "sqlite":
        reason = "the quickstart stage runs on SQLite: `make quickstart`"
        if os.environ.get("ODONTA_QUICKSTART_STAGE"):
            pytest.fail(f"DATABASE_URL is not SQLite; {reason}")
        pytest.skip(reason)
    name = str(connection.settings_dict["NAME"])
    path = Path(name)
    if ":memory:" in name or "mode=memory" in name or (path.exists() and path.stat().st_size):
        pytest.fail(
            f"DATABASE_URL names {name!r}: the quickstart stage builds a database from "
            "scratch and needs a new file (make quickstart makes one in a temporary directory)"
        )
    env = {key: value for key, value in os.environ.items() if key not in NOT_IN_MAKE_RUN}
    env["DATABASE_URL"] = f"sqlite:///{path}"
    timings = []
    with django_db_blocker.unblock():
        connection.close()
        for command in (["migrate", "--noinput", "-v", "0"], ["seed_demo"]):
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=settings.BASE_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if done.returncode:
                pytest.fail(f"manage.py {' '.join(command)} failed:\n{done.stdout}{done.stderr}")
            timings.append(f"{command[0]} {time.monotonic() - started:.1f} s")
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nquickstart database ({path}): {', '.join(timings)}")


@pytest.fixture
def world(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    return demo_world(tmp_path)


def client_for(username: str) -> Client:
    # Server errors come back as 500 responses, so that one walk reports all of them.
    client = Client(raise_request_exception=False)
    if username != "anonymous":
        client.force_login(User.objects.get(username=username))
    return client


def test_the_stage_runs_on_the_readme_quickstart():
    """SQLite, no Redis: eager Celery, long jobs in threads, in-process cache and channels."""
    assert connection.vendor == "sqlite"
    assert settings.REDIS_URL is None
    assert settings.CELERY_TASK_ALWAYS_EAGER and settings.LONG_JOBS_IN_THREADS
    assert settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("InMemoryChannelLayer")
    # The README's demo: two branches, eight chairs, fifteen staff, 500 patients.
    assert (Branch.objects.count(), Employee.objects.count(), Patient.objects.count()) == (
        2,
        15,
        500,
    )
    assert Appointment.objects.filter(start__gt=timezone.now()).exists()


@pytest.mark.parametrize("username", DEMO_USERNAMES)
def test_each_demo_login_signs_in_with_the_password_the_readme_gives(username, settings):
    # seed_demo ran as `make run` does, with Django's real password hashers.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    client = Client()
    response = client.post("/accounts/login/", {"login": username, "password": username})
    assert response.status_code == 302, response.content[:500]
    assert client.get("/").status_code == 200


# --- The walk: every URL of the URL conf, as every demo login --------------------------


def _visit(client: Client, method: str, url: str):
    """One request whose writes are rolled back, so one URL cannot spoil the next."""
    cookies = copy.deepcopy(client.cookies)
    with transaction.atomic():
        if method == "GET":
            response = client.get(url)
        elif method == "POST":
            response = client.post(url, {})
        else:
            response = client.generic(method, url)
        if response.streaming:  # exports read the database while they stream
            b"".join(response.streaming_content)
        transaction.set_rollback(True)
    client.cookies = cookies  # a POST must not sign the walker out or switch its branch
    return response


def _problem(response) -> str:
    exc_info = getattr(response, "exc_info", None)
    return f"{response.status_code} {exc_info[1]!r}" if exc_info else str(response.status_code)


def extra_queries(world) -> dict[str, list[str]]:
    """Realistic parameters for the lists, feeds and dialogs that read them: a bare URL
    leaves their queries unrun (most answer 422 or show today)."""
    branch = world["branch"]
    other = Branch.objects.exclude(pk=branch.pk).order_by("position").first()
    appointment = world["appointment"]
    patient = world["patient"]
    doctor = appointment.doctor_id
    profession = appointment.doctor.professions.values_list("pk", flat=True).first()
    today = timezone.localtime(timezone.now(), branch.zone).date()
    monday = today - datetime.timedelta(days=today.weekday())
    start = timezone.localtime(appointment.start, branch.zone)
    local = start.strftime("%Y-%m-%dT%H:%M:%S")
    week = f"start={monday}&end={monday + datetime.timedelta(days=7)}"
    services = ",".join(str(line.service_id) for line in appointment.service_lines.all())
    searches = ["q=ив", "q=Фёдор", "q=иванова анна", "q=ivan", "q=916", "q=%2B7 (916)", "q=12"]
    return {
        "patients:list": [
            *searches,
            f"branch={branch.pk}&attending_doctor={doctor}&is_active=true"
            f"&created_from=2000-01-01&created_to={today}&ordering=-name",
            "q=ив&ordering=card&page=2",
            "export=csv",
            "q=ив&export=xlsx",
        ],
        "patients:quick-search": searches,
        "patients:duplicates": [
            f"patient-last_name={patient.last_name}&patient-first_name={patient.first_name}"
            f"&patient-phone={patient.phone}&exclude={patient.pk}"
        ],
        "api:search": [*searches, "q=ив&limit=50"],
        "api:slots": [
            f"branch={branch.pk}&date_from={today}&date_to={today + datetime.timedelta(days=6)}"
            "&duration=30",
            f"doctor={doctor}&date_from={today}&date_to={today + datetime.timedelta(days=13)}"
            f"&services={services}",
        ],
        "calendar:calendar": [f"branch={other.pk}&date={start.date()}"],
        "calendar:feed-resources": [f"branch={branch.pk}", f"branch={other.pk}"],
        "calendar:feed-events": [
            f"branch={branch.pk}&{week}&mode=patients",
            f"branch={branch.pk}&{week}&mode=doctors",
            f"branch={other.pk}&{week}&mode=patients&profession={profession}",
        ],
        "calendar:waitlist": [f"branch={branch.pk}", f"branch={other.pk}"],
        "calendar:appointment-create": [
            f"branch={branch.pk}&start={local}&chair={appointment.chair_id}",
            f"branch={branch.pk}&waitlist={world['waiting'].pk}&start={local}",
        ],
        "calendar:shift-create": [f"branch={branch.pk}&start={local}&end={local}"],
        "calendar:waitlist-add": [f"branch={branch.pk}&patient={patient.pk}"],
        "schedule:day": [f"date={start.date()}", f"doctor={doctor}&date={start.date()}"],
        "clinic:staff-list": ["q=смирн", f"branch={branch.pk}&has_login=true", "export=csv"],
        "clinic:audit": [f"patient_id={patient.pk}&date_from=2000-01-01", "export=csv"],
        "clinic:trash": ["q=ив"],
        "clinic:reference-book": ["q=муж"],
        "documents:templates": ["q=до", f"type={world['document_template'].document_type_id}"],
        "documents:patient-print": [
            f"template={world['document_template'].pk}",
            f"template={world['document_template'].pk}&visit={appointment.pk}",
        ],
    }


def _walk(client: Client, world) -> tuple[list[str], list[tuple[str, str, int, bool]]]:
    """Every routed URL (GET, then an empty POST), plus the realistic queries above. Returns
    the failures (5xx, missing samples) and every (method, url, status, third party) visit."""
    failures, visited = [], []
    queries = extra_queries(world)
    for route in ROUTES:
        if route.has_params and route.third_party:
            continue  # the admin's and allauth's own object pages
        try:
            url = url_for(route, world)
        except KeyError as error:
            failures.append(f"{route.name}: {error.args[0]}")
            continue
        if url is None:
            failures.append(f"{route.name} ({route.path}): no sample in testing_urls.SAMPLES")
            continue
        for method, _access in route.accesses():
            methods = ["GET", "POST"] if method == "*" else [method]
            if route.third_party:
                methods = ["GET"]  # their POSTs sign out, switch languages...
            urls = [url] + [f"{url}?{query}" for query in queries.get(route.name, [])]
            for verb in methods:
                for target in urls if verb == "GET" else [url]:
                    response = _visit(client, verb, target)
                    visited.append((verb, target, response.status_code, route.third_party))
                    if response.status_code >= 500:
                        failures.append(f"{verb} {target}: {_problem(response)}")
    return failures, visited


@pytest.mark.parametrize("username", [*DEMO_USERNAMES, "anonymous"])
def test_every_page_and_json_endpoint_answers_without_a_server_error(username, world):
    failures, visited = _walk(client_for(username), world)
    assert failures == []
    if username == "admin":
        # The superuser passes every check: the demo samples must reach the views (a walk
        # that met 404 everywhere would prove nothing).
        # An outside flow's return address without the flow's parameters says so (400).
        flow_returns = {url_for(r, world) for r in ROUTES if r.name in FLOW_RETURN_ROUTES}
        signed = {url_for(r, world) for r in ROUTES if r.name in SIGNED_PATH_ROUTES}
        wrong = [
            f"{target}: {status}"
            for verb, target, status, third_party in visited
            if verb == "GET" and not third_party
            if status not in (200, 302, 405) and not (target.startswith("/api/") and status == 422)
            if not (target in flow_returns and status == 400)
            if not (target in signed and status == 403)
        ]
        assert wrong == []


def test_the_walk_extras_name_routes_that_exist(world):
    names = {route.name for route in ROUTES}
    assert set(extra_queries(world)) - names == set()


def test_a_sample_the_demo_cannot_fill_says_where_to_add_it():
    card = next(route for route in ROUTES if route.name == "patients:card")
    with pytest.raises(KeyError, match=r"world\['patient'\].*testing_urls.demo_world"):
        url_for(card, DemoWorld())


# --- The flows: what the front desk does, end to end ---------------------------------


@pytest.fixture
def front_desk(world):
    return client_for("registrar")


def _search_names(client: Client, query: str) -> tuple[list[str], list[str]]:
    """(quick search card ids, API full names) for one query, both answering 200."""
    page = client.get("/patients/search/", {"q": query})
    api = client.get("/api/v1/patients/search", {"q": query, "limit": 20})
    assert (page.status_code, api.status_code) == (200, 200), _problem(page) + _problem(api)
    return page.content.decode(), [item["full_name"] for item in api.json()]


def test_search_finds_cyrillic_in_any_case_and_yo_latin_and_digits(front_desk, world):
    patient = world["patient"]
    # Cyrillic, in capitals and with ё for е: the surname starts the name, so it comes first.
    query = patient.last_name[:4].upper().replace("Е", "Ё")
    page, names = _search_names(front_desk, query)
    assert f'data-quick-result="{patient.pk}"' in page
    assert patient.full_name in names
    starting = [
        name.lower().replace("ё", "е").startswith(query.lower().replace("ё", "е")) for name in names
    ]
    assert starting == sorted(starting, reverse=True), "surnames starting with it come first"
    # Latin (the demo has none: one card is renamed in this test's transaction).
    Patient.objects.filter(pk=patient.pk).update(last_name="Smith-Jones")
    page, names = _search_names(front_desk, "smith")
    assert f'data-quick-result="{patient.pk}"' in page and names[0].startswith("Smith-Jones")
    # A phone fragment in any format, and a card number.
    digits = patient.phone[-7:]
    page, names = _search_names(front_desk, f"{digits[:3]}-{digits[3:5]}-{digits[5:]}")
    assert f'data-quick-result="{patient.pk}"' in page
    page, names = _search_names(front_desk, str(patient.card_number))
    assert f'data-quick-result="{patient.pk}"' in page
    # Nobody: an answer, not an error.
    page, names = _search_names(front_desk, "zzzqqq")
    assert names == [] and "data-quick-result=" not in page


def test_case_insensitive_lookups_fold_cyrillic_as_postgresql_does(front_desk):
    """``icontains`` is ILIKE on PostgreSQL; SQLite's LIKE folds ASCII only (clinic.db)."""
    assert Employee.objects.filter(last_name__icontains="смирнОВА").count() == 1
    assert Employee.objects.filter(last_name__iexact="смирнова").count() == 1
    admin = client_for("admin")
    assert "Смирнова" in admin.get("/staff/", {"q": "смирнова"}).content.decode()


def _post(client: Client, url: str, data: dict, capture):
    """A POST whose after-commit work runs as it does in `make run` (eager Celery: domain
    events reach their handlers, live updates go to the in-memory channel layer)."""
    with capture(execute=True):
        return client.post(url, data)


def _free_slots(client: Client, branch, days: int = 7) -> list[dict]:
    today = timezone.localtime(timezone.now(), branch.zone).date()
    response = client.get(
        "/api/v1/slots",
        {
            "branch": branch.pk,
            "date_from": today + datetime.timedelta(days=1),
            "date_to": today + datetime.timedelta(days=days),
            "duration": 30,
        },
    )
    assert response.status_code == 200, _problem(response)
    return response.json()


def _local(moment: str, branch) -> datetime.datetime:
    return datetime.datetime.fromisoformat(moment).astimezone(branch.zone)


def _booking(slot: dict, patient, branch, services=()) -> dict:
    start = _local(slot["start"], branch)
    return {
        "patient": patient.pk,
        "doctor": slot["doctor_id"],
        "chair": slot["chair_id"],
        "date": start.date().isoformat(),
        "time": start.strftime("%H:%M"),
        "duration_minutes": 30,
        "services": [service.pk for service in services],
    }


def _all_delivered(since: int) -> list[str]:
    """Domain events published since ``since`` that a handler failed on."""
    return [
        f"{event.name}: {event.last_error}"
        for event in OutboxEvent.objects.filter(pk__gt=since, dispatched_at__isnull=True)
    ]


def test_booking_moving_status_change_and_cancel(
    front_desk, world, django_capture_on_commit_callbacks
):
    branch, capture = world["branch"], django_capture_on_commit_callbacks
    # A patient with nothing booked ahead, so that the visits below are the only ones.
    patient = Patient.objects.exclude(appointments__start__gt=timezone.now()).first()
    last_event = OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    slots = _free_slots(front_desk, branch)
    assert len(slots) > 10, "the demo leaves free time in the week ahead"
    # A time whose chair and doctor are free again later, to move the visit there below
    # (the demo's free times differ by the hour it is built at).
    first = next(
        slot
        for slot in slots
        if any(
            (later["chair_id"], later["doctor_id"]) == (slot["chair_id"], slot["doctor_id"])
            and _local(later["start"], branch) >= _local(slot["end"], branch)
            for later in slots
        )
    )

    # With two services: their prices are read with the locks, the lines written with the
    # audit chain's lock (clinic.db.pipelined, one statement after another on SQLite).
    services = list(Service.objects.filter(per_tooth=False).order_by("pk")[:2])
    response = _post(
        front_desk,
        f"/calendar/appointments/new/?branch={branch.pk}",
        _booking(first, patient, branch, services),
        capture,
    )
    assert response.status_code == 204, _problem(response)
    visit = Appointment.objects.get(patient=patient, start__gt=timezone.now())
    assert visit.start == _local(first["start"], branch)
    assert (visit.doctor_id, visit.chair_id) == (first["doctor_id"], first["chair_id"])
    day = _local(first["start"], branch).date()
    lines = list(visit.service_lines.order_by("pk").values_list("service", "price"))
    assert lines == [
        (service.pk, price_for(service, branch=branch, on=day)) for service in services
    ]
    assert all(isinstance(price, Decimal) for _service, price in lines)
    # On SQLite no exclusion constraint backs the check: the service alone refuses a double.
    other = world["patient"]
    response = _post(
        front_desk,
        f"/calendar/appointments/new/?branch={branch.pk}",
        _booking(first, other, branch),
        capture,
    )
    assert response.status_code == 422, _problem(response)
    assert Appointment.objects.filter(start=visit.start, chair=visit.chair).count() == 1

    # Dragged to another free time of the same chair (the calendar's move).
    target = next(
        s
        for s in _free_slots(front_desk, branch)
        if s["chair_id"] == visit.chair_id
        and s["doctor_id"] == visit.doctor_id
        and _local(s["start"], branch) >= visit.end
    )
    new_start = _local(target["start"], branch)
    response = _post(
        front_desk,
        f"/calendar/appointments/{visit.pk}/move/",
        {
            "start": new_start.strftime("%Y-%m-%dT%H:%M:%S"),
            "end": (new_start + datetime.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"),
            "chair": visit.chair_id,
        },
        capture,
    )
    assert (response.status_code, response.json()) == (200, {"ok": True})
    visit.refresh_from_db()
    assert visit.start == new_start

    # "Move patient…": the dialog's form, to the first free time again.
    response = _post(
        front_desk,
        f"/calendar/appointments/{visit.pk}/reschedule/",
        {
            key: value
            for key, value in _booking(first, patient, branch).items()
            if key in ("date", "time", "doctor", "chair")
        },
        capture,
    )
    assert response.status_code == 204, _problem(response)
    visit.refresh_from_db()
    assert visit.start == _local(first["start"], branch)

    response = _post(
        front_desk, f"/calendar/appointments/{visit.pk}/status/", {"status": "confirmed"}, capture
    )
    assert (response.status_code, response.json()) == (200, {"ok": True})
    visit.refresh_from_db()
    assert visit.status == StatusCode.CONFIRMED

    # The calendar shows it; the patient's timeline has it.
    day = _local(first["start"], branch).date()
    events = front_desk.get(
        "/calendar/feed/events/",
        {"branch": branch.pk, "start": day, "end": day + datetime.timedelta(days=1)},
    )
    assert any(e.get("extendedProps", {}).get("id") == visit.pk for e in events.json()), (
        "the booked visit is on the calendar"
    )

    response = _post(
        front_desk,
        f"/calendar/appointments/{visit.pk}/cancel/",
        {"reason": "The patient asked to cancel"},
        capture,
    )
    assert response.status_code == 204, _problem(response)
    visit.refresh_from_db()
    assert visit.status == StatusCode.CANCELLED
    assert _all_delivered(last_event) == []
    assert (
        PatientEvent.objects.filter(
            patient=patient, name__in=["appointment.created", "appointment.cancelled"]
        ).count()
        >= 2
    )


def test_the_waiting_list_adds_a_patient_and_books_them(
    front_desk, world, django_capture_on_commit_callbacks
):
    branch = world["branch"]
    capture = django_capture_on_commit_callbacks
    patient = Patient.objects.exclude(waitlist_entries__isnull=False).order_by("pk").first()
    last_event = OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    response = _post(
        front_desk,
        f"/calendar/waitlist/new/?branch={branch.pk}",
        {"patient": patient.pk, "duration_minutes": 30, "preferred_weekdays": [0, 1, 2, 3, 4]},
        capture,
    )
    assert response.status_code == 204, _problem(response)
    entry = WaitingListEntry.objects.get(patient=patient)
    listing = front_desk.get("/calendar/waitlist/", {"branch": branch.pk})
    assert listing.status_code == 200
    assert f'data-waitlist-entry="{entry.pk}"' in listing.content.decode()

    slot = _free_slots(front_desk, branch)[0]
    response = _post(
        front_desk,
        f"/calendar/appointments/new/?branch={branch.pk}",
        {**_booking(slot, patient, branch), "waitlist": entry.pk},
        capture,
    )
    assert response.status_code == 204, _problem(response)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED
    assert entry.appointment.start == _local(slot["start"], branch)
    assert _all_delivered(last_event) == []


def test_the_amocrm_sync_runs_both_ways_on_sqlite_against_the_fake(front_desk):
    """`make run AMOCRM=fake` on the quickstart database: a patient becomes a contact, a
    contact a patient, a visit a deal whose stage change in amoCRM reaches the visit."""
    from integrations.amocrm.fake import FakeAmo
    from integrations.amocrm.testing import AmoWorld
    from integrations.links import link_for
    from patients import services as patient_services

    def post(destination: str, body: bytes, headers: dict) -> int:
        path = "/" + destination.split("://", 1)[-1].split("/", 1)[-1]
        return front_desk.generic(
            "POST", path, body, content_type=headers["Content-Type"]
        ).status_code

    registrar = User.objects.get(username="registrar")
    with FakeAmo(rps=None) as fake:
        amo = AmoWorld.connect(fake, post=post)
        patient = patient_services.patient_create(
            by=registrar,
            data={"last_name": "Квикстартова", "first_name": "Ольга", "phone": "+79160001234"},
            confirm_duplicate=True,
        )
        amo.sync()
        link = link_for(system="amocrm", obj=patient)
        assert link is not None and fake.contacts[int(link.external_id)]["name"].startswith("Квик")
        fake.ui_add_contact("Новикова Анна", phone="+79035550011")
        amo.sync()
        assert Patient.objects.filter(phone="+79035550011", last_name="Новикова").exists()
        visit = Appointment.objects.filter(start__gt=timezone.now(), status="planned").first()
        from integrations.queue import queue

        queue("amocrm", "visit", [visit.pk])
        amo.sync()
        deal = link_for(system="amocrm", obj=visit)
        assert deal is not None
        fake.ui_move_lead(int(deal.external_id), fake.status_id("Подтверждён"))
        amo.sync()
        visit.refresh_from_db()
        assert visit.status == "confirmed"
