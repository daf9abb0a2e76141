import datetime
import threading
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from calendar_app import services
from calendar_app.models import (
    Appointment,
    AppointmentStatusChange,
    StatusCode,
    VisitType,
    WorkShift,
)
from clinic import services as clinic_services
from clinic.models import AuditEntry, OutboxEvent
from patients.tests.factories import PatientFactory

from .factories import AppointmentFactory, ServiceFactory, WorkShiftFactory

MIN = datetime.timedelta(minutes=1)


def book(clinic, user, start, end, **kwargs):
    defaults = {"patient": clinic.patient, "doctor": clinic.doctor, "chair": clinic.chair1}
    defaults.update(kwargs)
    return services.appointment_book(by=user, start=start, end=end, **defaults)


def test_booking_a_free_slot_in_the_shift_saves_audits_and_publishes(clinic, registrar):
    first, second = ServiceFactory(price="1500.00"), ServiceFactory(price="3000.00")
    visit = book(
        clinic,
        registrar.user,
        clinic.at(10),
        clinic.at(11),
        services=[first, second],
        note="Болит 46",
    )
    assert visit.branch == clinic.branch
    assert visit.status == StatusCode.PLANNED
    assert sorted(str(line.price) for line in visit.service_lines.all()) == ["1500.00", "3000.00"]
    assert AppointmentStatusChange.objects.filter(appointment=visit, to_status="planned").exists()
    assert AuditEntry.objects.filter(
        action="create", object_id=str(visit.pk), patient_id=clinic.patient.pk
    ).exists()
    event = OutboxEvent.objects.get(name="appointment.created")
    assert event.payload["patient_id"] == clinic.patient.pk
    assert event.payload["doctor_id"] == clinic.doctor.pk
    assert [s["code"] for s in event.payload["services"]] == [first.code, second.code]


def test_booking_an_occupied_chair_is_refused(clinic, registrar):
    book(clinic, registrar.user, clinic.at(10), clinic.at(11))
    with pytest.raises(services.SlotTaken, match=r"Кресло 1|Chair 1"):
        book(
            clinic,
            registrar.user,
            clinic.at(10, 30),
            clinic.at(11, 30),
            patient=PatientFactory(),
            doctor=clinic.doctor2,
            allow_outside_shift=True,
        )
    assert Appointment.objects.count() == 1


def test_booking_a_busy_doctor_on_another_chair_is_refused(clinic, registrar):
    book(clinic, registrar.user, clinic.at(10), clinic.at(11))
    with pytest.raises(services.SlotTaken):
        book(
            clinic,
            registrar.user,
            clinic.at(10, 45),
            clinic.at(11, 15),
            patient=PatientFactory(),
            chair=clinic.chair2,
            allow_outside_shift=True,
        )


def test_back_to_back_visits_are_allowed(clinic, registrar):
    book(clinic, registrar.user, clinic.at(10), clinic.at(11))
    book(clinic, registrar.user, clinic.at(11), clinic.at(12), patient=PatientFactory())
    assert Appointment.objects.count() == 2


def test_booking_outside_the_shift_asks_for_confirmation(clinic, registrar):
    with pytest.raises(services.OutsideShift):
        book(clinic, registrar.user, clinic.at(16), clinic.at(17))
    assert not Appointment.objects.exists()
    visit = book(clinic, registrar.user, clinic.at(16), clinic.at(17), allow_outside_shift=True)
    assert visit.pk


def test_a_visit_partly_outside_the_shift_also_asks(clinic, registrar):
    with pytest.raises(services.OutsideShift):
        book(clinic, registrar.user, clinic.at(14, 30), clinic.at(15, 30))


def test_a_doctor_of_another_branch_cannot_be_booked_here(clinic, registrar, doctor_elsewhere):
    with pytest.raises(ValidationError, match=r"does not work|не работает"):
        book(
            clinic,
            registrar.user,
            clinic.at(10),
            clinic.at(11),
            doctor=doctor_elsewhere.employee,
            allow_outside_shift=True,
        )


def test_a_visit_must_end_after_it_starts(clinic, registrar):
    with pytest.raises(ValidationError):
        book(clinic, registrar.user, clinic.at(11), clinic.at(11))


def test_cancelling_frees_the_time_and_keeps_the_reason(clinic, registrar):
    visit = book(clinic, registrar.user, clinic.at(10), clinic.at(11))
    with pytest.raises(ValidationError):
        services.appointment_cancel(appointment=visit, by=registrar.user, reason="  ")
    services.appointment_cancel(appointment=visit, by=registrar.user, reason="Пациент заболел")
    visit.refresh_from_db()
    assert visit.status == StatusCode.CANCELLED and visit.cancel_reason == "Пациент заболел"
    assert OutboxEvent.objects.filter(name="appointment.cancelled").exists()
    other = book(clinic, registrar.user, clinic.at(10), clinic.at(11), patient=PatientFactory())
    assert other.pk


def test_bringing_a_cancelled_visit_back_needs_its_time_free(clinic, registrar):
    visit = book(clinic, registrar.user, clinic.at(10), clinic.at(11))
    services.appointment_cancel(appointment=visit, by=registrar.user, reason="Перенос")
    book(clinic, registrar.user, clinic.at(10), clinic.at(11), patient=PatientFactory())
    with pytest.raises(services.SlotTaken):
        services.appointment_set_status(
            appointment=visit, by=registrar.user, status=StatusCode.CONFIRMED
        )


def test_deleting_frees_the_time_and_restore_checks_it_again(clinic, registrar, admin_persona):
    visit = book(clinic, registrar.user, clinic.at(10), clinic.at(11))
    services.appointment_delete(appointment=visit, by=registrar.user)
    assert not Appointment.objects.filter(pk=visit.pk).exists()
    assert OutboxEvent.objects.filter(
        name="appointment.deleted", payload__patient_id=clinic.patient.pk
    ).exists()
    taker = book(clinic, registrar.user, clinic.at(10, 30), clinic.at(11), patient=PatientFactory())
    deleted = Appointment.all_objects.get(pk=visit.pk)
    with pytest.raises(services.SlotTaken):
        clinic_services.object_restore(obj=deleted, by=admin_persona.user)
    assert Appointment.all_objects.get(pk=visit.pk).is_deleted
    services.appointment_delete(appointment=taker, by=registrar.user)
    clinic_services.object_restore(obj=deleted, by=admin_persona.user)
    assert Appointment.objects.filter(pk=visit.pk).exists()


def test_moving_to_a_taken_time_changes_nothing(clinic, registrar):
    first = book(clinic, registrar.user, clinic.at(10), clinic.at(11))
    second = book(clinic, registrar.user, clinic.at(12), clinic.at(13), patient=PatientFactory())
    with pytest.raises(services.SlotTaken):
        services.appointment_move(
            appointment=second, by=registrar.user, start=clinic.at(10, 30), end=clinic.at(11, 30)
        )
    second.refresh_from_db()
    assert (second.start, second.end) == (clinic.at(12), clinic.at(13))
    assert first.pk


def test_moving_to_another_chair_and_doctor_records_the_change(clinic, registrar):
    visit = book(clinic, registrar.user, clinic.at(12), clinic.at(13))
    services.appointment_move(
        appointment=visit,
        by=registrar.user,
        start=clinic.at(13),
        end=clinic.at(14),
        chair=clinic.chair2,
        doctor=clinic.doctor2,
    )
    visit.refresh_from_db()
    assert (visit.chair, visit.doctor) == (clinic.chair2, clinic.doctor2)
    event = OutboxEvent.objects.get(name="appointment.updated")
    assert set(event.payload["changed"]) >= {"start", "end", "chair", "doctor"}
    entry = AuditEntry.objects.get(action="update", object_id=str(visit.pk))
    assert entry.changes["chair"] == [clinic.chair1.pk, clinic.chair2.pk]


def test_resizing_over_the_next_visit_is_refused(clinic, registrar):
    visit = book(clinic, registrar.user, clinic.at(10), clinic.at(11))
    book(clinic, registrar.user, clinic.at(11), clinic.at(12), patient=PatientFactory())
    with pytest.raises(services.SlotTaken):
        services.appointment_move(
            appointment=visit, by=registrar.user, start=clinic.at(10), end=clinic.at(11, 15)
        )


def test_status_changes_are_recorded_and_published(clinic, registrar):
    visit = book(clinic, registrar.user, clinic.at(10), clinic.at(11))
    for status in (
        StatusCode.CONFIRMED,
        StatusCode.ARRIVED,
        StatusCode.IN_CHAIR,
        StatusCode.COMPLETED,
    ):
        services.appointment_set_status(appointment=visit, by=registrar.user, status=status)
    history = list(visit.status_changes.values_list("from_status", "to_status"))
    assert history == [
        ("", "planned"),
        ("planned", "confirmed"),
        ("confirmed", "arrived"),
        ("arrived", "in_chair"),
        ("in_chair", "completed"),
    ]
    assert OutboxEvent.objects.filter(name="appointment.status_changed").count() == 4
    with pytest.raises(ValidationError):
        services.appointment_set_status(appointment=visit, by=registrar.user, status="cancelled")


def test_visit_type_follows_the_patient(clinic, registrar):
    first = book(clinic, registrar.user, clinic.at(9), clinic.at(10))
    assert first.visit_type == VisitType.PRIMARY
    services.appointment_set_status(
        appointment=first, by=registrar.user, status=StatusCode.COMPLETED
    )
    second = book(clinic, registrar.user, clinic.at(10), clinic.at(11))
    assert second.visit_type == VisitType.RETURNING


def test_a_patient_who_has_completed_a_visit_returns_without_the_setting_being_read(
    clinic, registrar, monkeypatch
):
    first = book(clinic, registrar.user, clinic.at(9), clinic.at(10))
    services.appointment_set_status(
        appointment=first, by=registrar.user, status=StatusCode.COMPLETED
    )

    def unread(key):
        raise AssertionError(f"{key} was read")

    monkeypatch.setattr("clinic.preferences.get", unread)
    assert book(clinic, registrar.user, clinic.at(10), clinic.at(11)).visit_type == "returning"


def test_the_exclusion_constraint_refuses_an_overlap_that_skips_the_service(clinic):
    AppointmentFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(10),
        end=clinic.at(11),
    )
    with pytest.raises(IntegrityError, match="appointment_no_chair_overlap"), transaction.atomic():
        Appointment.objects.bulk_create(
            [
                Appointment(
                    patient=PatientFactory(),
                    doctor=clinic.doctor2,
                    chair=clinic.chair1,
                    branch=clinic.branch,
                    start=clinic.at(10, 30),
                    end=clinic.at(11, 30),
                )
            ]
        )
    with pytest.raises(IntegrityError, match="appointment_no_doctor_overlap"), transaction.atomic():
        Appointment.objects.bulk_create(
            [
                Appointment(
                    patient=PatientFactory(),
                    doctor=clinic.doctor,
                    chair=clinic.chair2,
                    branch=clinic.branch,
                    start=clinic.at(10, 30),
                    end=clinic.at(11, 30),
                )
            ]
        )


def test_the_service_turns_a_constraint_violation_into_a_clear_message(clinic, registrar):
    """If the overlap check were passed (a race the lock normally prevents), the database
    still refuses and the user gets a message, not an error page."""
    AppointmentFactory(
        patient=clinic.patient,
        doctor=clinic.doctor2,
        chair=clinic.chair1,
        start=clinic.at(10),
        end=clinic.at(11),
    )
    with mock.patch("calendar_app.services._check_free"), pytest.raises(services.SlotTaken):
        book(clinic, registrar.user, clinic.at(10, 30), clinic.at(11, 30), patient=PatientFactory())
    assert Appointment.objects.count() == 1


def test_shifts_cannot_overlap_for_a_doctor_or_a_chair(clinic, admin_persona):
    with pytest.raises(services.SlotTaken):
        services.shift_create(
            by=admin_persona.user,
            doctor=clinic.doctor,
            chair=clinic.chair2,
            start=clinic.at(14),
            end=clinic.at(16),
        )
    with pytest.raises(services.SlotTaken) as taken, translation.override("ru"):
        services.shift_create(
            by=admin_persona.user,
            doctor=clinic.doctor2,
            chair=clinic.chair1,
            start=clinic.at(8),
            end=clinic.at(10),
        )
    # The doctor's short name ends with a period: the sentence must not add another.
    assert f"(врач {clinic.doctor.short_name})" in taken.value.messages[0]
    assert ".." not in taken.value.messages[0]
    with pytest.raises(IntegrityError, match="shift_no_chair_overlap"), transaction.atomic():
        WorkShift.objects.bulk_create(
            [
                WorkShift(
                    doctor=clinic.doctor2,
                    chair=clinic.chair1,
                    branch=clinic.branch,
                    start=clinic.at(8),
                    end=clinic.at(10),
                )
            ]
        )


def test_a_shift_pattern_creates_one_shift_per_day(clinic, admin_persona):
    days = [clinic.day + datetime.timedelta(days=n) for n in (7, 9, 11)]
    created = services.shifts_create_pattern(
        by=admin_persona.user,
        doctor=clinic.doctor2,
        chair=clinic.chair2,
        dates=days,
        time_from=datetime.time(9),
        time_to=datetime.time(14),
    )
    assert [s.start.astimezone(clinic.branch.zone).date() for s in created] == days
    assert len({s.series for s in created}) == 1


def test_a_waiting_list_booking_marks_the_entry(clinic, registrar):
    entry = services.waitlist_add(
        by=registrar.user,
        data={"patient": clinic.patient, "branch": clinic.branch, "duration_minutes": 30},
    )
    visit = services.waitlist_book(
        entry=entry,
        by=registrar.user,
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(10),
        end=clinic.at(10, 30),
    )
    entry.refresh_from_db()
    assert entry.status == "booked" and entry.appointment == visit and visit.source == "waitlist"
    with pytest.raises(ValidationError):
        services.waitlist_book(
            entry=entry,
            by=registrar.user,
            doctor=clinic.doctor,
            chair=clinic.chair1,
            start=clinic.at(11),
            end=clinic.at(11, 30),
        )


def test_bookings_announce_the_branch_day_after_commit(
    clinic, registrar, django_capture_on_commit_callbacks
):
    with (
        mock.patch("clinic.live.broadcast_many") as broadcast,
        django_capture_on_commit_callbacks(execute=True),
    ):
        book(clinic, registrar.user, clinic.at(10), clinic.at(11))
    # Every calendar topic of the change in one hop (the card's events have their own).
    [topics] = [
        set(call.args[0])
        for call in broadcast.call_args_list
        if not all(topic.startswith("patient.") for topic in call.args[0])
    ]
    assert f"calendar.{clinic.branch.pk}.{clinic.day.isoformat()}" in topics
    assert f"schedule.{clinic.doctor.pk}.{clinic.day.isoformat()}" in topics


def test_twenty_concurrent_bookings_of_one_slot_make_exactly_one_visit(transactional_db, branch):
    """Twenty front-desk clicks on the same slot at once, each in its own connection."""
    from clinic.tests.factories import ChairFactory, EmployeeFactory

    from .conftest import next_monday

    chair = ChairFactory(branch=branch)
    doctor = EmployeeFactory(branches=[branch])
    patients = [PatientFactory() for _ in range(20)]
    day = next_monday()
    start = datetime.datetime.combine(day, datetime.time(10), tzinfo=branch.zone)
    WorkShiftFactory(doctor=doctor, chair=chair, start=start - 60 * MIN, end=start + 240 * MIN)
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(patient):
        try:
            barrier.wait(timeout=10)
            services.appointment_book(
                by=None,
                patient=patient,
                doctor=doctor,
                chair=chair,
                start=start,
                end=start + 30 * MIN,
            )
            result = "booked"
        except services.SlotTaken:
            result = "taken"
        except Exception as exc:  # any other failure is a bug worth seeing
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(patient,)) for patient in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["booked"] + ["taken"] * 19
    assert Appointment.objects.filter(chair=chair).count() == 1


def test_write_paths_never_lock_rows_against_foreign_key_checks(clinic, registrar):
    """A plain FOR UPDATE (or one that also locks joined rows, such as the branch) blocks
    the FK checks other transactions run at COMMIT while they hold the audit chain's lock:
    under load, bookings and status changes deadlocked. Every lock is FOR NO KEY UPDATE, and
    of the queried table only."""
    with CaptureQueriesContext(connection) as queries:
        visit = book(clinic, registrar.user, clinic.at(10), clinic.at(11))
        visit = services.appointment_move(
            appointment=visit, by=registrar.user, start=clinic.at(11), end=clinic.at(12)
        )
        services.appointment_set_status(
            appointment=visit, by=registrar.user, status=StatusCode.CONFIRMED
        )
        services.appointment_cancel(appointment=visit, by=registrar.user, reason="Заболел")
    locks = [q["sql"] for q in queries if " FOR " in q["sql"] and "UPDATE" in q["sql"]]
    assert len(locks) >= 5
    for sql in locks:
        lock = sql[sql.rindex(" FOR ") :]
        assert lock.startswith(" FOR NO KEY UPDATE"), sql
        if " JOIN " in sql:
            assert " OF " in lock, sql


def test_a_visits_type_reads_differently_from_the_patients_status():
    """The card's "primary" badge is the patient's status; a visit is a first one or a
    follow-up: a primary patient's second visit must not read as "returning"."""
    from django.utils import translation

    from calendar_app.models import VisitType
    from patients.models import PatientStatus

    for language in ("ru", "en"):
        with translation.override(language):
            visit_labels = {str(label) for label in VisitType.labels}
            status_labels = {str(label) for label in PatientStatus.labels}
            assert not visit_labels & status_labels


def test_editing_a_visits_services_keeps_the_price_each_line_was_booked_at(clinic, registrar):
    """The price list changes between booking and editing: lines that stay keep their price,
    a new line comes at today's."""
    from decimal import Decimal

    filling, anaesthesia = ServiceFactory(price="3000.00"), ServiceFactory(price="800.00")
    visit = book(clinic, registrar.user, clinic.at(10), clinic.at(11), services=[filling])
    filling.price = Decimal("3500.00")
    filling.save()
    anaesthesia.price = Decimal("900.00")
    anaesthesia.save()

    services.appointment_update(
        appointment=visit, by=registrar.user, services=[filling, anaesthesia]
    )
    prices = dict(visit.service_lines.values_list("service_id", "price"))
    assert prices == {filling.pk: Decimal("3000.00"), anaesthesia.pk: Decimal("900.00")}

    services.appointment_update(appointment=visit, by=registrar.user, services=[anaesthesia])
    assert dict(visit.service_lines.values_list("service_id", "price")) == {
        anaesthesia.pk: Decimal("900.00")
    }


def test_booking_takes_the_branch_lists_price_on_the_visits_day(clinic, registrar):
    """The visit's branch has its own price for one service from the visit's day: that line
    takes it, the other the base list's; the lines keep them when the list changes."""
    from decimal import Decimal

    from pricelist.models import Price, PriceList, PriceListKind
    from pricelist.prices import base_list

    own, shared = ServiceFactory(price="1000.00"), ServiceFactory(price="1000.00")
    branch_list = PriceList.objects.create(
        kind=PriceListKind.BRANCH, branch=clinic.branch, name="Филиал"
    )
    early = datetime.date(2000, 1, 1)
    Price.objects.create(
        price_list=base_list(), service=own, amount="1100.00", effective_from=early
    )
    Price.objects.create(
        price_list=base_list(), service=shared, amount="700.00", effective_from=early
    )
    Price.objects.create(
        price_list=branch_list, service=own, amount="1500.00", effective_from=clinic.day
    )
    Price.objects.create(
        price_list=branch_list,
        service=shared,
        amount="9.00",
        effective_from=clinic.day + datetime.timedelta(days=1),
    )
    visit = book(clinic, registrar.user, clinic.at(10), clinic.at(11), services=[own, shared])
    assert dict(visit.service_lines.values_list("service_id", "price")) == {
        own.pk: Decimal("1500.00"),
        shared.pk: Decimal("700.00"),
    }
    Price.objects.filter(price_list=branch_list, service=own).update(amount="2000.00")
    services.appointment_update(appointment=visit, by=registrar.user, services=[own, shared])
    assert visit.service_lines.get(service=own).price == Decimal("1500.00")
