"""What a booking reads and writes: every guarantee kept (row locks, the overlap and shift
checks, the status history, the audit entry, the outbox event), nothing read twice."""

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calendar_app.models import Appointment
from clinic import audit, db, shapes
from clinic.models import AuditEntry, OutboxEvent

from .factories import ServiceFactory
from .test_views import HTMX, booking_data, create_url

# The user; the branch, the form's patient, doctor, chair and services; the three row locks
# in one statement and, sent with it, one read for the doctor's branch, the overlap, the
# shift and the patient's history, and the services' prices; the visit; its lines and its
# status change, sent with the audit chain's lock and head; the entry, sent with the
# outbox event; the test's savepoint and its release; the settings when the cache is cold
# (as in a test).
MOST_QUERIES = 19


def text(statement) -> str:
    if isinstance(statement, tuple):
        return statement[0]
    if isinstance(statement, db.Insert):
        return statement.statement[0]
    return str(statement.query)


def book(client, clinic, services, **overrides):
    ContentType.objects.get_for_model(Appointment)  # cached per process, by earlier tests
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            create_url(clinic), booking_data(clinic, services=services, **overrides), **HTMX
        )
    assert response.status_code == 204, response.content.decode()[:500]
    return [query["sql"] for query in queries.captured_queries]


def test_a_booking_reads_nothing_twice_and_keeps_its_guarantees(
    registrar_client, clinic, monkeypatch
):
    service = ServiceFactory()
    registrar_client.get("/")  # a signed-in user's first page warms what every page reads
    pipelines = []
    pipelined = db.pipelined

    def recording(*statements):
        pipelines.append([text(statement) for statement in statements])
        return pipelined(*statements)

    monkeypatch.setattr(db, "pipelined", recording)
    monkeypatch.setattr(audit, "pipelined", recording)
    monkeypatch.setattr(shapes, "pipelined", recording)
    queries = book(registrar_client, clinic, [service.pk])

    assert len(queries) <= MOST_QUERIES, "\n".join(queries)
    # The chair, the doctor and the patient, locked in that order in one statement.
    [locks] = [sql for sql in queries if "FOR NO KEY UPDATE" in sql]
    tables = ['"clinic_chair"', '"clinic_employee"', '"patients_patient"']
    assert sorted(tables, key=locks.index) == tables
    assert not [sql for sql in queries if sql.startswith("SAVEPOINT")][1:]  # the test's own
    assert sum("pg_advisory_xact_lock" in sql for sql in queries) == 1
    # Sent together: the form's patient, doctor, chair and services; the locks with the slot
    # read and the prices; the lines and the status row with the chain's lock and its head;
    # the audit entry with the outbox event.
    assert [len(batch) for batch in pipelines] == [4, 3, 4, 2]
    assert ["patients_patient" in pipelines[0][0], "clinic_chair" in pipelines[0][2]] == [1, 1]
    assert "pricelist_service" in pipelines[0][3]
    assert "FOR NO KEY UPDATE" in pipelines[1][0] and "clinic_employee_branches" in pipelines[1][1]
    assert "pricelist_price" in pipelines[1][2]
    lines, status, lock, head = pipelines[2]
    assert "appointmentservice" in lines and "appointmentstatuschange" in status
    assert "pg_advisory_xact_lock" in lock and "clinic_auditentry" in head
    assert ["clinic_auditentry" in pipelines[3][0], "clinic_outboxevent" in pipelines[3][1]] == [
        1,
        1,
    ]
    # Nothing the form already read is read again, and a new visit deletes no lines.
    assert not [sql for sql in queries if sql.startswith("DELETE")]
    employee_reads = [sql for sql in queries if 'FROM "clinic_employee" WHERE' in sql]
    assert not [sql for sql in employee_reads if '"clinic_employee"."user_id" =' in sql]
    assert sum(sql.startswith('SELECT 1 AS "a" FROM "patients_patient"') for sql in queries) == 0

    visit = Appointment.objects.get()
    assert list(visit.service_lines.values_list("service", flat=True)) == [service.pk]
    assert AuditEntry.objects.filter(object_id=str(visit.pk), action="create").exists()
    event = OutboxEvent.objects.get(name="appointment.created")
    assert [line["code"] for line in event.payload["services"]] == [service.code]


def test_more_services_cost_no_more_queries(registrar_client, clinic):
    registrar_client.get("/")
    one = book(registrar_client, clinic, [ServiceFactory().pk])
    three = book(registrar_client, clinic, [ServiceFactory().pk for _ in range(3)], time="11:00")
    assert len(three) <= len(one)  # the first one also warmed the content-type cache
    event = OutboxEvent.objects.filter(name="appointment.created").latest("id")
    assert len(event.payload["services"]) == 3
