"""The scale data generator at its tiny size (seconds), and the Server-Timing middleware.

The generator runs inside the test's transaction: its COPY, the dropped and rebuilt indexes
and the database comment all roll back with the test.
"""

import datetime
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from calendar_app.models import Appointment, StatusCode, WaitingListEntry, WorkShift
from clinic import scale
from clinic.middleware import ServerTimingMiddleware
from clinic.models import Branch, Chair, Employee, ProfessionKind, User
from clinic.phones import normalize_phone
from patients.models import Patient

pytestmark = pytest.mark.django_db


def database_url() -> str:
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return (
        f"postgres://{settings['USER']}{password}@{settings['HOST'] or 'localhost'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def seed(**options) -> None:
    call_command("seed_scale", size="XS", database_url=database_url(), stdout=_Sink(), **options)


class _Sink:
    def write(self, _text: str) -> None: ...

    def flush(self) -> None: ...


def index_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename LIKE ANY (ARRAY['calendar_app_%', 'patients_%'])"
        )
        return {row[0] for row in cursor.fetchall()}


def overlaps(table: str, column: str, condition: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {table} a JOIN {table} b ON a.{column} = b.{column} "
            f"AND a.id < b.id AND a.start < b.end AND b.start < a.end "
            f"WHERE {condition.format(t='a')} AND {condition.format(t='b')}"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def seeded():
    indexes = index_names()
    seed()
    return indexes


def test_the_tiny_size_fills_every_table(seeded):
    size = scale.SIZES["XS"]
    assert Branch.objects.count() == size.branches
    assert Chair.objects.count() == size.chairs
    assert Employee.objects.filter(kind=ProfessionKind.DOCTOR).count() == size.doctors
    assert Patient.all_objects.count() == size.patients
    visits = Appointment.all_objects.count()
    assert abs(visits - size.appointments) <= size.appointments * 0.05
    assert WorkShift.objects.exists()
    assert WaitingListEntry.objects.exists()
    assert User.objects.filter(username="registrar1").exists()
    assert User.objects.get(username="doctor1").check_password(scale.SCALE_PASSWORD)


def test_indexes_and_constraints_come_back_after_the_load(seeded):
    assert index_names() == seeded
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = "
            "'calendar_app_appointment'::regclass AND contype IN ('f', 'x')"
        )
        constraints = {row[0] for row in cursor.fetchall()}
    assert {"appointment_no_chair_overlap", "appointment_no_doctor_overlap"} <= constraints
    assert len(constraints) == 8  # the two exclusions and six foreign keys


def test_nobody_is_booked_twice_at_once(seeded):
    occupying = "NOT {t}.status = 'cancelled' AND {t}.deleted_at IS NULL"
    assert overlaps("calendar_app_appointment", "chair_id", occupying) == 0
    assert overlaps("calendar_app_appointment", "doctor_id", occupying) == 0
    alive = "{t}.deleted_at IS NULL"
    assert overlaps("calendar_app_workshift", "chair_id", alive) == 0
    assert overlaps("calendar_app_workshift", "doctor_id", alive) == 0


def test_every_visit_lies_in_a_shift_of_its_doctor_on_its_chair(seeded):
    outside = Appointment.all_objects.exclude(
        pk__in=Appointment.all_objects.filter(
            doctor__shifts__chair=models_f("chair"),
            doctor__shifts__start__lte=models_f("start"),
            doctor__shifts__end__gte=models_f("end"),
        ).values("pk")
    )
    assert not outside.exists()


def models_f(name: str):
    from django.db.models import F

    return F(name)


def test_the_data_looks_like_a_clinic(seeded):
    now = timezone.now()
    past = Appointment.all_objects.filter(end__lte=now)
    assert set(past.values_list("status", flat=True)) <= {
        StatusCode.COMPLETED,
        StatusCode.NO_SHOW,
        StatusCode.CANCELLED,
    }
    assert past.filter(status=StatusCode.COMPLETED).count() >= 0.75 * past.count()
    future = Appointment.all_objects.filter(start__gt=now + datetime.timedelta(hours=1))
    assert set(future.values_list("status", flat=True)) <= {
        StatusCode.PLANNED,
        StatusCode.CONFIRMED,
        StatusCode.CANCELLED,
    }
    assert future.exists()
    for phone, home in Patient.all_objects.values_list("phone", "home_phone")[:200]:
        assert normalize_phone(phone) == phone
        assert not home or normalize_phone(home) == home
    assert Patient.all_objects.values("phone").distinct().count() == Patient.all_objects.count()
    assert all(re.fullmatch(r"[А-ЯЁ][а-яё-]+", name) for name in Patient.all_objects.values_list(
        "last_name", flat=True
    ))  # fmt: skip


def test_a_filled_database_is_refused_without_reset(seeded):
    with pytest.raises(CommandError, match="already has data"):
        seed()


def test_reset_empties_and_seeds_the_same_data_again(seeded):
    before = list(Patient.all_objects.order_by("pk").values_list("last_name", "phone")[:50])
    seed(reset=True)
    after = list(Patient.all_objects.order_by("pk").values_list("last_name", "phone")[:50])
    assert after == before
    assert Branch.objects.count() == scale.SIZES["XS"].branches


# --- Server-Timing --------------------------------------------------------------------


def test_the_timing_middleware_is_off_unless_asked_for(settings):
    assert "clinic.middleware.ServerTimingMiddleware" not in settings.MIDDLEWARE


def test_the_timing_header_has_the_time_and_the_query_count():
    def view(request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.execute("SELECT 2")
        return HttpResponse("ok")

    response = ServerTimingMiddleware(view)(RequestFactory().get("/"))
    header = response["Server-Timing"]
    match = re.fullmatch(r"app;dur=([\d.]+), db;dur=([\d.]+), queries;desc=(\d+)", header)
    assert match, header
    assert float(match.group(1)) >= float(match.group(2)) >= 0
    assert match.group(3) == "2"


def test_the_timing_header_reaches_the_client(client, settings):
    settings.MIDDLEWARE = ["clinic.middleware.ServerTimingMiddleware", *settings.MIDDLEWARE]
    response = client.get("/healthz", {"scope": "web"})
    assert response.status_code == 200
    assert re.search(r"queries;desc=1\b", response["Server-Timing"])
