import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calendar_app.models import StatusCode
from calendar_app.slots import (
    Slot,
    duration_of_services,
    find_slots,
    free_intervals,
    grid_starts,
    load_availability,
)
from pricelist.models import Service

from .conftest import next_monday
from .factories import AppointmentFactory, ServiceFactory, WorkShiftFactory

UTC = datetime.UTC
MIN = datetime.timedelta(minutes=1)
BASE = datetime.datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def at(minutes: int) -> datetime.datetime:
    return BASE + minutes * MIN


# --- Interval arithmetic ---------------------------------------------------------------


def test_free_intervals_subtracts_merged_busy_time():
    window = (at(0), at(600))
    busy = [(at(60), at(120)), (at(100), at(180)), (at(300), at(330)), (at(590), at(700))]
    assert free_intervals(window, busy) == [(at(0), at(60)), (at(180), at(300)), (at(330), at(590))]


def test_free_intervals_with_nothing_busy_is_the_window():
    assert free_intervals((at(0), at(60)), []) == [(at(0), at(60))]


def test_free_intervals_when_busy_covers_everything_is_empty():
    assert free_intervals((at(10), at(60)), [(at(0), at(100))]) == []


def test_grid_starts_align_to_the_step_from_the_origin():
    starts = list(grid_starts((at(7), at(60)), 20 * MIN, 15 * MIN, origin=at(0)))
    assert starts == [at(15), at(30)]  # 45 + 20 would end after 60


def test_grid_starts_accept_a_start_exactly_on_the_grid_and_an_exact_fit():
    assert list(grid_starts((at(30), at(60)), 30 * MIN, 15 * MIN, origin=at(0))) == [at(30)]


@given(
    window_start=st.integers(0, 300),
    window_length=st.integers(0, 600),
    busy=st.lists(st.tuples(st.integers(0, 900), st.integers(1, 240)), max_size=12),
    duration=st.integers(5, 180),
    step=st.sampled_from([5, 10, 15, 20, 30, 60]),
)
def test_grid_starts_never_overlap_busy_time_nor_leave_the_window(
    window_start, window_length, busy, duration, step
):
    window = (at(window_start), at(window_start + window_length))
    busy_intervals = [(at(start), at(start + length)) for start, length in busy]
    for free in free_intervals(window, busy_intervals):
        for start in grid_starts(free, duration * MIN, step * MIN, origin=at(0)):
            end = start + duration * MIN
            assert window[0] <= start and end <= window[1]
            assert (start - at(0)) % (step * MIN) == datetime.timedelta(0)
            assert all(end <= b_start or start >= b_end for b_start, b_end in busy_intervals)


# --- The finder against the database ---------------------------------------------------


def local_times(slots: list[Slot], clinic) -> list[str]:
    return [s.start.astimezone(clinic.branch.zone).strftime("%H:%M") for s in slots]


def test_slots_fill_the_shift_at_the_clinic_step(clinic):
    slots = find_slots(
        date_from=clinic.day,
        date_to=clinic.day,
        duration=60 * MIN,
        doctor_id=clinic.doctor.pk,
        step=30 * MIN,
    )
    assert local_times(slots, clinic) == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
        "12:00",
        "12:30",
        "13:00",
        "13:30",
        "14:00",
    ]
    assert {s.chair_id for s in slots} == {clinic.chair1.pk}
    assert all(s.end - s.start == 60 * MIN for s in slots)


def test_a_booked_visit_takes_its_time_out_of_the_slots(clinic):
    AppointmentFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(10),
        end=clinic.at(11, 30),
    )
    slots = find_slots(
        date_from=clinic.day,
        date_to=clinic.day,
        duration=30 * MIN,
        doctor_id=clinic.doctor.pk,
        step=30 * MIN,
    )
    assert "10:00" not in local_times(slots, clinic)
    assert "11:00" not in local_times(slots, clinic)
    assert "09:30" in local_times(slots, clinic) and "11:30" in local_times(slots, clinic)


def test_cancelled_and_deleted_visits_free_their_time(clinic):
    AppointmentFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(10),
        end=clinic.at(11),
        status=StatusCode.CANCELLED,
    )
    AppointmentFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(11),
        end=clinic.at(12),
        deleted_at=clinic.at(8),
    )
    slots = find_slots(
        date_from=clinic.day,
        date_to=clinic.day,
        duration=60 * MIN,
        doctor_id=clinic.doctor.pk,
        step=60 * MIN,
    )
    assert local_times(slots, clinic) == ["09:00", "10:00", "11:00", "12:00", "13:00", "14:00"]


def test_the_doctor_busy_on_another_chair_is_not_free(clinic):
    AppointmentFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        chair=clinic.chair2,
        start=clinic.at(9),
        end=clinic.at(10),
        status=StatusCode.CONFIRMED,
    )
    slots = find_slots(
        date_from=clinic.day,
        date_to=clinic.day,
        duration=60 * MIN,
        doctor_id=clinic.doctor.pk,
        step=60 * MIN,
    )
    assert "09:00" not in local_times(slots, clinic)


def test_the_chair_taken_by_another_doctor_is_not_free(clinic):
    AppointmentFactory(
        patient=clinic.patient,
        doctor=clinic.doctor2,
        chair=clinic.chair1,
        start=clinic.at(14),
        end=clinic.at(15),
    )
    slots = find_slots(
        date_from=clinic.day,
        date_to=clinic.day,
        duration=60 * MIN,
        doctor_id=clinic.doctor.pk,
        step=60 * MIN,
    )
    assert local_times(slots, clinic)[-1] == "13:00"


def test_a_branch_search_offers_every_doctor_on_shift(clinic):
    slots = find_slots(
        date_from=clinic.day,
        date_to=clinic.day,
        duration=60 * MIN,
        branch_id=clinic.branch.pk,
        step=60 * MIN,
    )
    by_doctor = {s.doctor_id for s in slots}
    assert by_doctor == {clinic.doctor.pk, clinic.doctor2.pk}
    assert slots == sorted(slots, key=lambda s: (s.start, s.doctor_id, s.chair_id))


def test_a_profession_search_offers_only_its_doctors(clinic):
    surgeon = clinic.doctor2.professions.get()
    slots = find_slots(
        date_from=clinic.day,
        date_to=clinic.day,
        duration=60 * MIN,
        branch_id=clinic.branch.pk,
        profession_id=surgeon.pk,
        step=60 * MIN,
    )
    assert {s.doctor_id for s in slots} == {clinic.doctor2.pk}


def test_no_shift_no_slots(clinic):
    other_day = clinic.day + datetime.timedelta(days=1)
    assert (
        find_slots(
            date_from=other_day, date_to=other_day, duration=30 * MIN, doctor_id=clinic.doctor.pk
        )
        == []
    )


def test_a_visit_longer_than_the_free_time_gets_no_slot(clinic):
    assert (
        find_slots(
            date_from=clinic.day,
            date_to=clinic.day,
            duration=7 * 60 * MIN,
            doctor_id=clinic.doctor.pk,
        )
        == []
    )


def test_past_times_are_never_offered(clinic):
    now = clinic.at(12, 10)
    slots = find_slots(
        date_from=clinic.day,
        date_to=clinic.day,
        duration=30 * MIN,
        doctor_id=clinic.doctor.pk,
        step=15 * MIN,
        now=now,
    )
    assert local_times(slots, clinic)[0] == "12:15"


def test_the_clinic_step_setting_is_used_by_default(clinic, admin_persona):
    from clinic.preferences import preferences_set

    preferences_set(values={"calendar.slot_step_minutes": 60}, by=admin_persona.user)
    slots = find_slots(
        date_from=clinic.day, date_to=clinic.day, duration=30 * MIN, doctor_id=clinic.doctor.pk
    )
    assert local_times(slots, clinic)[:3] == ["09:00", "10:00", "11:00"]


def test_excluding_a_visit_offers_its_own_time_back(clinic):
    visit = AppointmentFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(9),
        end=clinic.at(10),
    )
    slots = find_slots(
        date_from=clinic.day,
        date_to=clinic.day,
        duration=60 * MIN,
        doctor_id=clinic.doctor.pk,
        step=60 * MIN,
        exclude_appointment_id=visit.pk,
    )
    assert local_times(slots, clinic)[0] == "09:00"


def test_preferred_days_and_times_narrow_the_slots(clinic):
    tuesday = clinic.day + datetime.timedelta(days=1)
    WorkShiftFactory(
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(9, day=tuesday),
        end=clinic.at(15, day=tuesday),
    )
    slots = find_slots(
        date_from=clinic.day,
        date_to=tuesday,
        duration=60 * MIN,
        doctor_id=clinic.doctor.pk,
        step=60 * MIN,
        weekdays={1},
        time_from=datetime.time(11),
        time_to=datetime.time(13),
    )
    assert [
        (s.start.astimezone(clinic.branch.zone).weekday(), t)
        for s, t in zip(slots, local_times(slots, clinic), strict=True)
    ] == [(1, "11:00"), (1, "12:00")]


def test_services_add_up_to_the_duration(db):
    first, second = ServiceFactory(duration_minutes=30), ServiceFactory(duration_minutes=45)
    assert duration_of_services([first.pk, second.pk]) == 75 * MIN
    assert duration_of_services([]) == datetime.timedelta(0)
    assert Service.objects.count() == 2


def test_a_duration_of_zero_is_refused(clinic):
    with pytest.raises(ValueError):
        find_slots(
            date_from=clinic.day,
            date_to=clinic.day,
            duration=datetime.timedelta(0),
            doctor_id=clinic.doctor.pk,
        )


def test_the_query_count_does_not_grow_with_the_range(clinic, django_assert_num_queries):
    for offset in range(1, 14):
        day = clinic.day + datetime.timedelta(days=offset)
        WorkShiftFactory(
            doctor=clinic.doctor,
            chair=clinic.chair1,
            start=clinic.at(9, day=day),
            end=clinic.at(15, day=day),
        )
        AppointmentFactory(
            patient=clinic.patient,
            doctor=clinic.doctor,
            chair=clinic.chair1,
            start=clinic.at(10, day=day),
            end=clinic.at(11, day=day),
        )
    with django_assert_num_queries(2):
        slots = find_slots(
            date_from=clinic.day,
            date_to=clinic.day + datetime.timedelta(days=13),
            duration=30 * MIN,
            doctor_id=clinic.doctor.pk,
            step=30 * MIN,
        )
    assert len({s.start.date() for s in slots}) == 14


def test_one_read_serves_several_searches_as_separate_searches_would(clinic):
    """The waiting list reads a branch's availability once and filters it per entry."""
    AppointmentFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(10),
        end=clinic.at(11),
    )
    surgeon = clinic.doctor2.professions.get()
    therapist = clinic.doctor.professions.get()
    availability = load_availability(
        date_from=clinic.day, date_to=clinic.day, branch_id=clinic.branch.pk, professions=True
    )
    for narrowing in [
        {},
        {"doctor_id": clinic.doctor.pk},
        {"doctor_id": clinic.doctor2.pk},
        {"profession_id": surgeon.pk},
        {"profession_id": therapist.pk},
        {"doctor_id": clinic.doctor.pk, "profession_id": surgeon.pk},
    ]:
        expected = find_slots(
            date_from=clinic.day,
            date_to=clinic.day,
            duration=45 * MIN,
            branch_id=clinic.branch.pk,
            step=15 * MIN,
            **narrowing,
        )
        assert availability.slots(duration=45 * MIN, step=15 * MIN, **narrowing) == expected
    assert availability.slots(duration=45 * MIN, step=15 * MIN, profession_id=surgeon.pk)


def test_a_profession_filter_needs_the_professions_loaded(clinic):
    availability = load_availability(
        date_from=clinic.day, date_to=clinic.day, branch_id=clinic.branch.pk
    )
    with pytest.raises(ValueError, match="professions=True"):
        availability.slots(duration=30 * MIN, step=15 * MIN, profession_id=1)


# --- Time zones and day boundaries -----------------------------------------------------


def test_a_yekaterinburg_branch_gets_slots_on_its_own_clock(yekaterinburg_clinic):
    clinic = yekaterinburg_clinic
    WorkShiftFactory(
        doctor=clinic.doctor, chair=clinic.chair1, start=clinic.at(8), end=clinic.at(10)
    )
    slots = find_slots(
        date_from=clinic.day,
        date_to=clinic.day,
        duration=30 * MIN,
        branch_id=clinic.branch.pk,
        step=30 * MIN,
    )
    assert local_times(slots, clinic) == ["08:00", "08:30", "09:00", "09:30"]
    # 08:00 in Yekaterinburg (UTC+5) is 03:00 UTC and 06:00 in Moscow.
    assert slots[0].start.astimezone(UTC).hour == 3


def test_the_grid_counts_from_local_midnight_not_utc(yekaterinburg_clinic):
    clinic = yekaterinburg_clinic
    WorkShiftFactory(
        doctor=clinic.doctor, chair=clinic.chair1, start=clinic.at(8, 10), end=clinic.at(10)
    )
    slots = find_slots(
        date_from=clinic.day,
        date_to=clinic.day,
        duration=20 * MIN,
        branch_id=clinic.branch.pk,
        step=40 * MIN,
    )
    # 40-minute grid from local midnight: 08:00, 08:40, 09:20 (+20 fits by 09:40).
    assert local_times(slots, clinic) == ["08:40", "09:20"]


def test_a_night_shift_across_midnight_gives_slots_on_both_local_dates(yekaterinburg_clinic):
    clinic = yekaterinburg_clinic
    next_day = clinic.day + datetime.timedelta(days=1)
    WorkShiftFactory(
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(23),
        end=clinic.at(1, day=next_day),
    )
    first_night = find_slots(
        date_from=clinic.day,
        date_to=clinic.day,
        duration=30 * MIN,
        doctor_id=clinic.doctor.pk,
        step=30 * MIN,
    )
    assert local_times(first_night, clinic) == ["23:00", "23:30"]
    second = find_slots(
        date_from=next_day,
        date_to=next_day,
        duration=30 * MIN,
        doctor_id=clinic.doctor.pk,
        step=30 * MIN,
    )
    assert local_times(second, clinic) == ["00:00", "00:30"]


def test_a_range_of_days_is_inclusive_in_the_branch_zone(yekaterinburg_clinic):
    clinic = yekaterinburg_clinic
    for offset in range(3):
        day = clinic.day + datetime.timedelta(days=offset)
        WorkShiftFactory(
            doctor=clinic.doctor,
            chair=clinic.chair1,
            start=clinic.at(0, day=day),
            end=clinic.at(0, 30, day=day),
        )
    slots = find_slots(
        date_from=clinic.day,
        date_to=clinic.day + datetime.timedelta(days=1),
        duration=30 * MIN,
        doctor_id=clinic.doctor.pk,
        step=30 * MIN,
    )
    assert [s.start.astimezone(clinic.branch.zone).date() for s in slots] == [
        clinic.day,
        clinic.day + datetime.timedelta(days=1),
    ]


# --- Property: no slot ever overlaps a booking or leaves a shift -------------------------

shift_spec = st.tuples(st.integers(0, 1), st.integers(6 * 4, 18 * 4), st.integers(2, 6 * 4))
visit_spec = st.tuples(
    st.integers(0, 1),
    st.integers(0, 1),
    st.integers(6 * 4, 20 * 4),
    st.integers(1, 8),
    st.sampled_from(list(StatusCode)),
)


@settings(
    max_examples=35, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    shifts=st.lists(shift_spec, max_size=4),
    visits=st.lists(visit_spec, max_size=10),
    duration=st.sampled_from([15, 30, 45, 60, 90]),
    step=st.sampled_from([15, 30]),
)
def test_no_slot_overlaps_a_booking_or_falls_outside_a_shift(
    clinic, shifts, visits, duration, step
):
    """Random shifts (per chair, per doctor) and visits of any status on one day."""
    day = next_monday() + datetime.timedelta(days=14)
    doctors, chairs = [clinic.doctor, clinic.doctor2], [clinic.chair1, clinic.chair2]
    zone = clinic.branch.zone

    def moment(quarters: int) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(0), tzinfo=zone) + quarters * 15 * MIN

    with transaction.atomic():
        created_shifts = []
        for index, (chair_index, start, length) in enumerate(shifts):
            doctor, chair = doctors[index % 2], chairs[chair_index]
            clash = [
                s
                for s in created_shifts
                if (s.doctor == doctor or s.chair == chair)
                and s.start < moment(start + length)
                and moment(start) < s.end
            ]
            if clash:
                continue
            created_shifts.append(
                WorkShiftFactory(
                    doctor=doctor, chair=chair, start=moment(start), end=moment(start + length)
                )
            )
        busy = []
        for doctor_index, chair_index, start, length, status in visits:
            doctor, chair = doctors[doctor_index], chairs[chair_index]
            begin, end = moment(start), moment(start + length)
            occupying = status != StatusCode.CANCELLED
            if occupying and any(
                b[2] and (b[0] == doctor or b[1] == chair) and b[3] < end and begin < b[4]
                for b in busy
            ):
                continue
            AppointmentFactory(
                patient=clinic.patient,
                doctor=doctor,
                chair=chair,
                start=begin,
                end=end,
                status=status,
            )
            busy.append((doctor, chair, occupying, begin, end))
        slots = find_slots(
            date_from=day,
            date_to=day,
            duration=duration * MIN,
            branch_id=clinic.branch.pk,
            step=step * MIN,
            now=moment(0),
        )
        for slot in slots:
            assert slot.end - slot.start == duration * MIN
            assert any(
                s.doctor_id == slot.doctor_id
                and s.chair_id == slot.chair_id
                and s.start <= slot.start
                and slot.end <= s.end
                for s in created_shifts
            )
            for doctor, chair, occupying, begin, end in busy:
                if occupying and (doctor.pk == slot.doctor_id or chair.pk == slot.chair_id):
                    assert slot.end <= begin or slot.start >= end
            midnight = datetime.datetime.combine(day, datetime.time(0), tzinfo=zone)
            assert (slot.start - midnight) % (step * MIN) == datetime.timedelta(0)
        transaction.set_rollback(True)


def test_per_doctor_day_keeps_each_doctors_earliest_times_of_each_day(clinic):
    tuesday = clinic.day + datetime.timedelta(days=1)
    WorkShiftFactory(
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(14, day=tuesday),
        end=clinic.at(16, day=tuesday),
    )
    slots = find_slots(
        date_from=clinic.day,
        date_to=tuesday,
        duration=datetime.timedelta(minutes=30),
        branch_id=clinic.branch.pk,
        per_doctor_day=3,
    )
    local = [(s.doctor_id, s.start.astimezone(clinic.branch.zone)) for s in slots]
    assert local == [
        (clinic.doctor.pk, clinic.at(9)),
        (clinic.doctor.pk, clinic.at(9, 15)),
        (clinic.doctor.pk, clinic.at(9, 30)),
        (clinic.doctor2.pk, clinic.at(12)),
        (clinic.doctor2.pk, clinic.at(12, 15)),
        (clinic.doctor2.pk, clinic.at(12, 30)),
        (clinic.doctor.pk, clinic.at(14, day=tuesday)),
        (clinic.doctor.pk, clinic.at(14, 15, day=tuesday)),
        (clinic.doctor.pk, clinic.at(14, 30, day=tuesday)),
    ]
