"""Deleting a patient's card, a chair and a doctor in Chromium: each dialog lists the
upcoming visits and shifts the deletion cancels, and confirming cancels them."""

import datetime

import pytest
from playwright.sync_api import expect

from calendar_app.models import Appointment, StatusCode, WorkShift
from clinic import testing
from clinic.models import Chair, Employee
from clinic.testing_browser import ConsoleWatcher, log_in, screenshot
from clinic.tests.factories import ChairFactory, EmployeeFactory, ProfessionFactory
from patients.models import Patient
from patients.tests.factories import PatientFactory

from .conftest import next_monday
from .factories import AppointmentFactory, WorkShiftFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clinic_day(db):
    branch = testing.main_branch()
    testing.make_admin(branch, password="admin")
    chair1 = ChairFactory(branch=branch, name="Кресло 1", position=1)
    chair2 = ChairFactory(branch=branch, name="Кресло 2", position=2)
    therapist = ProfessionFactory(name="Терапевт")
    doctor = EmployeeFactory(
        last_name="Терапевтова", first_name="Анна", branches=[branch], professions=[therapist]
    )
    surgeon = EmployeeFactory(
        last_name="Хирургов", first_name="Олег", branches=[branch], professions=[therapist]
    )
    day = next_monday()

    def at(hour, minute=0):
        return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=branch.zone)

    WorkShiftFactory(doctor=doctor, chair=chair1, start=at(9), end=at(15))
    WorkShiftFactory(doctor=surgeon, chair=chair2, start=at(9), end=at(15))
    patient = PatientFactory(last_name="Веселова", first_name="Дарья", middle_name="Олеговна")
    other = PatientFactory(last_name="Грустнов", first_name="Пётр", middle_name="Ильич")
    visits = {
        "patient": AppointmentFactory(
            patient=patient, doctor=doctor, chair=chair1, start=at(10), end=at(10, 30)
        ),
        "chair": AppointmentFactory(
            patient=other, doctor=surgeon, chair=chair2, start=at(11), end=at(12)
        ),
        "doctor": AppointmentFactory(
            patient=other, doctor=doctor, chair=chair1, start=at(13), end=at(13, 30)
        ),
    }
    return {
        "branch": branch,
        "patient": patient,
        "chair2": chair2,
        "doctor": doctor,
        "visits": visits,
    }


def confirm_in_dialog(page, name: str, expected_rows: int) -> None:
    dialog = page.locator("#app-dialog [data-delete-dialog]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-dependent]")).to_have_count(expected_rows)
    screenshot(page, name)
    dialog.locator("[data-delete-confirm]").click()


def test_the_three_delete_dialogs_list_and_cancel_what_is_booked(
    page, asgi_live_server, clinic_day
):
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    log_in(page, asgi_live_server, "admin", "admin")
    world = clinic_day

    # The patient's card: one upcoming visit.
    page.goto(f"{asgi_live_server.url}/patients/{world['patient'].pk}/")
    page.click("[data-card-actions]")
    page.click("[data-delete-patient]")
    expect(page.locator("[data-dependents]")).to_contain_text("Терапевтова")
    confirm_in_dialog(page, "delete-patient-dialog", 1)
    page.wait_for_url(f"{asgi_live_server.url}/patients/")
    assert Patient.all_objects.get(pk=world["patient"].pk).is_deleted
    visit = Appointment.objects.get(pk=world["visits"]["patient"].pk)
    assert visit.status == StatusCode.CANCELLED

    # A chair in Settings: its visit and its doctor's shift.
    page.goto(f"{asgi_live_server.url}/settings/branches/{world['branch'].pk}/")
    page.click(f"[data-id='{world['chair2'].pk}'] [data-delete-chair]")
    expect(page.locator("[data-dependents]")).to_contain_text("Грустнов")
    confirm_in_dialog(page, "delete-chair-dialog", 2)
    page.wait_for_url(f"{asgi_live_server.url}/settings/branches/{world['branch'].pk}/")
    expect(page.locator(f"[data-id='{world['chair2'].pk}']")).to_have_count(0)
    assert Chair.all_objects.get(pk=world["chair2"].pk).is_deleted
    assert not WorkShift.objects.filter(chair=world["chair2"]).exists()

    # A doctor in Staff: the visit left and the shift.
    page.goto(f"{asgi_live_server.url}/staff/{world['doctor'].pk}/")
    page.click("[data-delete-employee]")
    confirm_in_dialog(page, "delete-doctor-dialog", 2)
    page.wait_for_url(f"{asgi_live_server.url}/staff/")
    assert Employee.all_objects.get(pk=world["doctor"].pk).is_deleted
    visit = Appointment.objects.get(pk=world["visits"]["doctor"].pk)
    assert visit.status == StatusCode.CANCELLED
    assert watcher.errors == []
