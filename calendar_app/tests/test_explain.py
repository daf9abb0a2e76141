"""The calendar's hot queries use their indexes, and read a bounded stretch of them.

At network size (5 million visits) a day of the calendar or a fortnight of slots must not
read the years before it: the overlap conditions carry a lower bound on ``start`` (visits
and shifts last at most 12 hours), so the index condition has both ends. Small tables make
sequential scans the cheapest plan, so each test first turns them off for its transaction.
"""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calendar_app.models import Appointment, StatusCode, WorkShift
from calendar_app.selectors import appointment_events
from calendar_app.slots import find_slots
from clinic.tests.factories import BranchFactory, ChairFactory, EmployeeFactory
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_clinic(clinic):
    """Two months of shifts and visits around the clinic's day, in its branch and in a
    bigger one next door: a thousand rows."""
    patients = PatientFactory.create_batch(20)
    elsewhere = BranchFactory(name="Соседний филиал")
    pairs = [(clinic.doctor, clinic.chair1), (clinic.doctor2, clinic.chair2)] + [
        (EmployeeFactory(branches=[elsewhere]), ChairFactory(branch=elsewhere)) for _ in range(4)
    ]
    shifts, visits = [], []
    for offset in range(-45, 15):
        day = clinic.day + datetime.timedelta(days=offset)
        for doctor, chair in pairs:
            if offset != 0 or chair.branch_id != clinic.branch.pk:  # the fixture's own shifts
                shifts.append(
                    WorkShift(
                        doctor=doctor,
                        chair=chair,
                        branch=chair.branch,
                        start=clinic.at(9, day=day),
                        end=clinic.at(15, day=day),
                    )
                )
            for hour in (9, 10, 11, 13):
                visits.append(
                    Appointment(
                        patient=patients[(offset + hour) % len(patients)],
                        doctor=doctor,
                        chair=chair,
                        branch=chair.branch,
                        start=clinic.at(hour, day=day),
                        end=clinic.at(hour, 45, day=day),
                        status=StatusCode.COMPLETED if offset < 0 else StatusCode.PLANNED,
                    )
                )
    WorkShift.objects.bulk_create(shifts)
    Appointment.objects.bulk_create(visits)
    with connection.cursor() as cursor:
        # Fresh statistics for every table the queries join, so that the plans do not
        # depend on what earlier tests left in them.
        for table in (
            "calendar_app_appointment",
            "calendar_app_workshift",
            "clinic_chair",
            "clinic_employee",
            "clinic_branch",
        ):
            cursor.execute(f"ANALYZE {table}")
        cursor.execute("SET LOCAL enable_seqscan = off")
    return clinic


def plan_of(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def queries_on(captured: CaptureQueriesContext, table: str) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if f'FROM "{table}"' in q["sql"]]


def index_conditions(plan: str, index: str) -> list[str]:
    """The Index Cond lines of the plan nodes that use ``index``."""
    conditions, current = [], None
    for line in plan.splitlines():
        node = re.search(
            r"(?:Index Scan|Index Only Scan|Bitmap Index Scan) (?:using|on) (\w+)", line
        )
        if node:
            current = node.group(1)
        elif current == index and "Index Cond:" in line:
            conditions.append(line)
    return conditions


def assert_bounded_range(plan: str, index: str) -> None:
    conditions = index_conditions(plan, index)
    assert conditions, f"{index} not used:\n{plan}"
    assert any("start <" in c and "start >" in c for c in conditions), (
        f"{index} is read without a lower bound on start:\n{plan}"
    )


def test_the_calendar_day_reads_one_day_of_the_branch_index(busy_clinic):
    with CaptureQueriesContext(connection) as captured:
        events = appointment_events(
            busy_clinic.branch, busy_clinic.day, busy_clinic.day + datetime.timedelta(days=1)
        )
    assert len(events) == 8
    # The visits, then their services (the same visits as a subquery).
    visits_sql, services_sql = queries_on(captured, "calendar_app_appointment")
    assert_bounded_range(plan_of(visits_sql), "appointment_branch_start_idx")
    assert_bounded_range(plan_of(services_sql), "appointment_branch_start_idx")


def test_the_slot_finder_reads_the_doctor_indexes_of_the_window(busy_clinic):
    with CaptureQueriesContext(connection) as captured:
        find_slots(
            date_from=busy_clinic.day,
            date_to=busy_clinic.day + datetime.timedelta(days=13),
            duration=datetime.timedelta(minutes=30),
            doctor_id=busy_clinic.doctor.pk,
            now=busy_clinic.at(0),
        )
    [shifts_sql] = queries_on(captured, "calendar_app_workshift")
    [busy_sql] = queries_on(captured, "calendar_app_appointment")
    assert_bounded_range(plan_of(shifts_sql), "shift_doctor_start_idx")
    busy_plan = plan_of(busy_sql)
    assert_bounded_range(busy_plan, "appointment_doctor_start_idx")
    assert_bounded_range(busy_plan, "appointment_chair_start_idx")


def test_the_slot_finder_reads_the_branch_index_of_the_window(busy_clinic):
    with CaptureQueriesContext(connection) as captured:
        find_slots(
            date_from=busy_clinic.day,
            date_to=busy_clinic.day + datetime.timedelta(days=6),
            duration=datetime.timedelta(minutes=30),
            branch_id=busy_clinic.branch.pk,
            now=busy_clinic.at(0),
        )
    [shifts_sql] = queries_on(captured, "calendar_app_workshift")
    [busy_sql] = queries_on(captured, "calendar_app_appointment")
    assert_bounded_range(plan_of(shifts_sql), "shift_branch_start_idx")
    busy_plan = plan_of(busy_sql)
    assert_bounded_range(busy_plan, "appointment_doctor_start_idx")
    assert_bounded_range(busy_plan, "appointment_chair_start_idx")
