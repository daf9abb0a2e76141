"""The patient-app accounts written to amoCRM (issue 14, part 3): one way, to the contact
field chosen in the wizard; daily, from the patients list (a background run) and from the
card; the skip rules; a second run writes nothing."""

import datetime
import itertools
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.models import Organization
from integrations.amocrm import app_accounts
from integrations.amocrm.config import SYSTEM
from integrations.amocrm.sync import active_connection
from integrations.amocrm.tasks import amocrm_app_accounts_daily
from integrations.links import link_for
from integrations.models import Connection, SyncJob, SyncLogEntry
from patients import services as patient_services
from patients.models import Patient, PortalAccount

from .helpers import book as book_at
from .helpers import contact_of, new_patient

pytestmark = pytest.mark.django_db

MOSCOW = zoneinfo.ZoneInfo("Europe/Moscow")
_days = itertools.count(1)


def book(desk, patient, **kwargs):
    """A visit on a day of its own (one chair and one doctor book every patient)."""
    kwargs.pop("hour", None)
    return book_at(desk, patient, days=next(_days), **kwargs)


@pytest.fixture
def amo_app(amo):
    """The ``amo`` world with a text contact field chosen for the app accounts."""
    field = amo.fake.field_id("contacts", "Аккаунт приложения")
    amo.connection.settings["contact_fields"]["app_account"] = field
    amo.connection.save(update_fields=["settings"])
    amo.field = field
    return amo


def field_value(amo, patient):
    return amo.fake.contact_field_value(contact_of(amo, patient), amo.field)


def patches(amo) -> int:
    return len([r for r in amo.fake.journal if r.method == "PATCH" and "contacts" in r.path])


def with_account(desk, amo, *, login="olga@example.ru", booked=True, **data):
    """A patient linked to a contact, with an app account and (by default) a visit."""
    patient = new_patient(desk["user"], **data)
    if booked:
        book(desk, patient)
    amo.sync()
    if login:
        patient_services.portal_activate(patient=patient, by=desk["user"], login=login)
    return patient


def run_sync(amo, patients) -> app_accounts.Result:
    with amo.client() as client:
        return app_accounts.sync_patients(amo.connection, client, [p.pk for p in patients])


def test_the_value_is_the_login_and_the_activation_day_in_the_clinic_zone(amo_app, desk):
    patient = with_account(desk, amo_app)
    account = patient.portal_account
    account.activated_at = datetime.datetime(2026, 11, 25, 22, 30, tzinfo=datetime.UTC)
    value = app_accounts.account_value(account)
    assert value.startswith("olga@example.ru (")
    assert "26.11.2026" in value  # 01:30 in Moscow: the next day
    account.is_active = False
    assert app_accounts.account_value(account) == ""


def test_a_sync_writes_the_field_and_a_second_writes_nothing(amo_app, desk):
    patient = with_account(desk, amo_app)
    before = patches(amo_app)
    result = run_sync(amo_app, [patient])
    assert result.written == [patient.pk]
    expected = app_accounts.account_value(PortalAccount.objects.get(patient=patient))
    assert field_value(amo_app, patient) == expected
    assert link_for(system=SYSTEM, obj=patient).synced_values["app_account"] == expected
    assert patches(amo_app) == before + 1
    assert SyncLogEntry.objects.filter(action="contact.app_account", result="ok").count() == 1

    again = run_sync(amo_app, [patient])
    assert again.written == [] and again.up_to_date == [patient.pk]
    assert patches(amo_app) == before + 1


def test_the_patient_push_leaves_the_app_account_alone(amo_app, desk):
    patient = with_account(desk, amo_app)
    run_sync(amo_app, [patient])
    written = field_value(amo_app, patient)
    patient_services.patient_update(
        patient=patient, by=desk["user"], data={"phone": "+79167776655"}
    )
    amo_app.sync()
    contact = contact_of(amo_app, patient)
    assert "79167776655" in str(contact["custom_fields_values"])  # the push went out
    assert field_value(amo_app, patient) == written
    assert link_for(system=SYSTEM, obj=patient).synced_values["app_account"] == written
    before = patches(amo_app)
    assert run_sync(amo_app, [patient]).up_to_date == [patient.pk]
    assert patches(amo_app) == before


def test_the_skip_rules_each_with_its_reason(amo_app, desk):
    never_booked = with_account(desk, amo_app, booked=False, phone="+79160000001")
    no_account = with_account(desk, amo_app, login="", phone="+79160000002")
    # A deleted visit does not count as booked.
    deleted_only = with_account(
        desk, amo_app, booked=False, login="d@example.ru", phone="+79160000004"
    )
    visit = book(desk, deleted_only)
    visit.deleted_at = timezone.now()
    visit.save(update_fields=["deleted_at"])
    # Made after the last push: no contact yet.
    no_contact = new_patient(desk["user"], phone="+79160000003", last_name="Безконтактова")
    book(desk, no_contact)
    patient_services.portal_activate(patient=no_contact, by=desk["user"], login="nc@example.ru")
    before = patches(amo_app)

    result = run_sync(amo_app, [never_booked, no_account, no_contact, deleted_only])

    assert result.written == []
    assert sorted(result.skipped[app_accounts.NEVER_BOOKED]) == sorted(
        [never_booked.pk, deleted_only.pk]
    )
    assert result.skipped[app_accounts.NO_ACCOUNT] == [no_account.pk]
    assert result.skipped[app_accounts.NO_CONTACT] == [no_contact.pk]
    assert patches(amo_app) == before
    assert field_value(amo_app, never_booked) is None
    assert link_for(system=SYSTEM, obj=no_contact) is None  # no contact made here
    skipped = SyncLogEntry.objects.filter(action="contact.app_account", result="skipped")
    assert skipped.count() == 4


def test_a_deactivated_account_clears_what_was_written(amo_app, desk):
    patient = with_account(desk, amo_app)
    run_sync(amo_app, [patient])
    patient_services.portal_deactivate(patient=patient, by=desk["user"])
    assert run_sync(amo_app, [patient]).written == [patient.pk]
    assert field_value(amo_app, patient) is None
    assert link_for(system=SYSTEM, obj=patient).synced_values["app_account"] == ""
    before = patches(amo_app)
    result = run_sync(amo_app, [patient])
    assert result.skipped == {app_accounts.NO_ACCOUNT: [patient.pk]}
    assert patches(amo_app) == before


def test_the_queries_of_a_batch_do_not_grow_with_its_patients(amo_app, desk):
    patients = []
    for i in range(8):
        patient = new_patient(desk["user"], phone=f"+7916111{i:04d}", first_name=f"Имя{i}")
        book(desk, patient, hour=8 + i)
        patients.append(patient)
    amo_app.sync()
    for i, patient in enumerate(patients):
        patient_services.portal_activate(patient=patient, by=desk["user"], login=f"p{i}@x.ru")

    ContentType.objects.get_for_model(Patient)  # cached for the process: not counted
    Organization.load()

    def queries(group) -> int:
        with amo_app.client() as client, CaptureQueriesContext(db_connection) as captured:
            app_accounts.sync_patients(amo_app.connection, client, [p.pk for p in group])
        return len(captured)

    assert queries(patients[:2]) == queries(patients[2:])


def test_a_batch_reads_the_clinic_zone_once_not_per_patient(amo_app, desk, monkeypatch):
    """The zone comes from the cache (Organization.load): a read per patient was a Redis
    round trip per patient, 100,000 of them in a clinic's second run (bench/amocrm_sync.py)."""
    patients = []
    for i in range(3):
        patient = new_patient(desk["user"], phone=f"+7916222{i:04d}", first_name=f"Имя{i}")
        book(desk, patient, hour=8 + i)
        patients.append(patient)
    amo_app.sync()
    for i, patient in enumerate(patients):
        patient_services.portal_activate(patient=patient, by=desk["user"], login=f"z{i}@x.ru")
    loads = []
    original = Organization.load
    monkeypatch.setattr(Organization, "load", lambda: loads.append(1) or original())
    result = run_sync(amo_app, patients)
    assert len(result.written) == 3
    assert len(loads) == 1


# --- From the card ---------------------------------------------------------------------------


def card_update_url(patient) -> str:
    return reverse("integrations:amocrm-app-account-update", args=[patient.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_the_card_button_writes_the_account_and_says_so(amo_app, desk, client, admin_persona):
    patient = with_account(desk, amo_app)
    client.force_login(admin_persona.user)
    card = client.get(patient.get_absolute_url()).content.decode()
    assert 'data-card-action="amocrm-app-account"' in card
    assert card_update_url(patient) in card and "data-confirm" in card

    response = client.post(card_update_url(patient), follow=True)
    assert "App account written to amoCRM." in messages_of(response)
    assert field_value(amo_app, patient).startswith("olga@example.ru")

    before = patches(amo_app)
    response = client.post(card_update_url(patient), follow=True)
    assert "amoCRM already has this app account." in messages_of(response)
    assert patches(amo_app) == before


def test_the_card_button_tells_why_it_skipped(amo_app, desk, client, admin_persona):
    patient = with_account(desk, amo_app, booked=False)
    client.force_login(admin_persona.user)
    response = client.post(card_update_url(patient), follow=True)
    assert response.status_code == 200
    assert messages_of(response) == [
        "The app account was not sent to amoCRM: the patient has no visit booked yet."
    ]
    assert field_value(amo_app, patient) is None


def test_the_card_button_reports_amocrm_errors_without_a_500(amo_app, desk, client, admin_persona):
    patient = with_account(desk, amo_app)
    client.force_login(admin_persona.user)
    amo_app.fake.fail_next(400)
    response = client.post(card_update_url(patient), follow=True)
    assert response.status_code == 200
    assert messages_of(response) == ["amoCRM refused the app account; see the sync log."]
    failed = SyncLogEntry.objects.get(action="contact.app_account", result="failed")
    assert "HTTP 400" in failed.error  # the log keeps the request; the page does not

    amo_app.fake.fail_next(403)
    response = client.post(card_update_url(patient), follow=True)
    assert response.status_code == 200
    (message,) = messages_of(response)
    assert message.startswith("The app account was not written: amoCRM refused access")
    assert Connection.objects.get(pk=amo_app.connection.pk).status == "paused"
    assert field_value(amo_app, patient) is None


def test_the_card_button_is_hidden_when_the_feature_is_off_or_without_the_right(
    amo, desk, client, admin_persona, registrar
):
    patient = with_account(desk, amo)
    client.force_login(admin_persona.user)
    assert "amocrm-app-account" not in client.get(patient.get_absolute_url()).content.decode()
    response = client.post(card_update_url(patient), follow=True)
    assert messages_of(response) == ["App accounts are not written to amoCRM: see its setup."]
    client.force_login(registrar.user)
    assert client.post(card_update_url(patient)).status_code == 403


def test_the_card_button_refuses_get_and_unknown_patients(amo_app, client, admin_persona):
    client.force_login(admin_persona.user)
    url = reverse("integrations:amocrm-app-account-update", args=[99999999])
    assert client.post(url).status_code == 404
    assert client.get(url).status_code == 405


# --- From the list ---------------------------------------------------------------------------


SYNC_URL = "integrations:amocrm-app-accounts-sync"


def activated_on(patient, day: datetime.date) -> None:
    moment = datetime.datetime.combine(day, datetime.time(12), tzinfo=MOSCOW)
    PortalAccount.objects.filter(patient=patient).update(activated_at=moment)


@pytest.fixture
def accounts(amo_app, desk):
    days = [datetime.date(2026, 3, d) for d in (1, 10, 20)]
    patients = [
        with_account(desk, amo_app, login=f"p{i}@example.ru", phone=f"+7916222{i:04d}")
        for i in range(3)
    ]
    for patient, day in zip(patients, days, strict=True):
        activated_on(patient, day)
    never = with_account(desk, amo_app, login="n@example.ru", booked=False, phone="+79162229999")
    activated_on(never, datetime.date(2026, 3, 5))
    return {"in_range": patients[:2], "outside": patients[2], "never": never}


def start_list_run(client, date_from="2026-03-01", date_to="2026-03-15"):
    return client.post(
        reverse(SYNC_URL),
        {"date_from": date_from, "date_to": date_to},
        headers={"HX-Request": "true"},
    )


def test_the_list_run_syncs_the_range_and_shows_its_summary(
    amo_app, accounts, client, admin_persona
):
    client.force_login(admin_persona.user)
    listing = client.get(reverse("patients:list")).content.decode()
    assert 'data-list-action="amocrm-app-accounts"' in listing
    assert b"data-app-accounts-form" in client.get(reverse(SYNC_URL)).content

    response = start_list_run(client)
    assert response.status_code == 204
    job = SyncJob.objects.get(kind=app_accounts.KIND)
    assert response["HX-Redirect"] == reverse("integrations:amocrm-app-accounts-job", args=[job.pk])
    assert job.status == "running" and job.total == 3
    app_accounts.job_run(job.pk)
    job.refresh_from_db()

    assert job.status == "done" and job.processed == 3 and job.progress_percent == 100
    assert job.preview["written"] == 2
    assert job.preview["skipped"] == {app_accounts.NEVER_BOOKED: 1}
    for patient in accounts["in_range"]:
        assert field_value(amo_app, patient).startswith(patient.portal_account.login)
    assert field_value(amo_app, accounts["outside"]) is None
    page = client.get(reverse("integrations:amocrm-app-accounts-job", args=[job.pk]))
    text = page.content.decode()
    assert 'data-count="written">2<' in text
    assert f'data-skipped-patient="{accounts["never"].pk}"' in text
    assert "no visit booked yet" in text
    fragment = client.get(page.request["PATH_INFO"], headers={"HX-Request": "true"})
    assert fragment.content.decode().lstrip().startswith('<div id="app-accounts-job"')
    assert SyncLogEntry.objects.filter(action="app_accounts.list", result="ok").count() == 1

    # Again: nothing new is written.
    before = patches(amo_app)
    start_list_run(client)
    again = SyncJob.objects.filter(kind=app_accounts.KIND).latest("pk")
    app_accounts.job_run(again.pk)
    again.refresh_from_db()
    assert again.preview["written"] == 0 and again.preview["up_to_date"] == 2
    assert patches(amo_app) == before


def test_a_contact_refused_alone_in_its_batch_fails_its_patient_not_the_run(
    amo_app, desk, client, admin_persona
):
    """Regression: a 400 on a one-contact batch (here a contact deleted in amoCRM before its
    webhook came) stopped the whole list run, and kept the daily run failing all day."""
    gone = with_account(desk, amo_app, login="gone@example.ru", phone="+79165550001")
    kept = with_account(desk, amo_app, login="kept@example.ru", phone="+79165550002")
    for patient in (gone, kept):
        activated_on(patient, datetime.date(2026, 3, 2))
    amo_app.fake.ui_delete_contact(contact_of(amo_app, gone)["id"])  # no sync: still linked
    amo_app.connection.settings["batch_size"] = 1
    amo_app.connection.save(update_fields=["settings"])

    job = app_accounts.job_start(
        amo_app.connection,
        by=None,
        date_from=datetime.date(2026, 3, 1),
        date_to=datetime.date(2026, 3, 3),
    )
    app_accounts.job_run(job.pk)
    job.refresh_from_db()
    assert job.status == "done" and job.processed == 2 and job.failed == 1
    assert job.preview["written"] == 1
    assert field_value(amo_app, kept).startswith("kept@example.ru")
    ((pk, name, error),) = job.preview["errors"]
    assert (pk, name) == (gone.pk, gone.full_name)
    assert "HTTP 400" in error and "http" not in error  # no request address on the page
    client.force_login(admin_persona.user)
    page = client.get(reverse("integrations:amocrm-app-accounts-job", args=[job.pk]))
    assert 'data-count="failed">1<' in page.content.decode()

    # The daily run records the failure and is done for the day.
    PortalAccount.objects.filter(patient=gone).update(login="gone2@example.ru")
    with time_machine.travel(moscow(26, 12, 0), tick=False):
        result = app_accounts.daily_run(active_connection())
        assert result is not None and list(result.failed) == [gone.pk]
        assert not app_accounts.daily_due(active_connection(), timezone.now())


def test_the_list_run_costs_the_same_queries_for_more_patients(amo_app, desk):
    for i in range(12):
        patient = with_account(desk, amo_app, login=f"q{i}@x.ru", phone=f"+7916333{i:04d}")
        activated_on(patient, datetime.date(2026, 4, 1 if i < 2 else 2))

    def run(last_day: int) -> int:
        job = app_accounts.job_start(
            amo_app.connection,
            by=None,
            date_from=datetime.date(2026, 4, 1),
            date_to=datetime.date(2026, 4, last_day),
        )
        with CaptureQueriesContext(db_connection) as captured:
            app_accounts.job_run(job.pk)
        job.refresh_from_db()
        assert job.status == "done"
        return len(captured)

    two = run(1)
    twelve = run(2)  # the first two are up to date by now, ten are written
    assert twelve == two


def test_a_list_runs_requests_follow_its_writes_not_the_accounts_it_reads(amo_app, desk):
    amo_app.connection.settings["batch_size"] = 2  # chunks of 8 accounts, batches of 2
    amo_app.connection.save(update_fields=["settings"])
    writable, skipped = [], []
    for i in range(17):
        # Every third account was never booked: it takes room in a chunk, not in a batch.
        booked = i % 3 != 2
        patient = with_account(
            desk, amo_app, login=f"w{i}@x.ru", phone=f"+7916444{i:04d}", booked=booked
        )
        activated_on(patient, datetime.date(2026, 5, 1))
        (writable if booked else skipped).append(patient)
    before = patches(amo_app)
    job = app_accounts.job_start(
        amo_app.connection,
        by=None,
        date_from=datetime.date(2026, 5, 1),
        date_to=datetime.date(2026, 5, 1),
    )
    app_accounts.job_run(job.pk)
    job.refresh_from_db()
    assert job.status == "done" and job.processed == 17
    assert job.preview["written"] == len(writable) == 12
    assert job.preview["skipped"] == {app_accounts.NEVER_BOOKED: 5}
    # 12 writes in batches of 2: 6 requests (chunks of 8 accounts would send a half-empty
    # batch each: 7).
    assert patches(amo_app) - before == 6
    assert all(field_value(amo_app, p) for p in writable)
    assert not any(field_value(amo_app, p) for p in skipped)


@pytest.mark.parametrize(
    ("date_from", "date_to"),
    [
        ("2026-03-15", "2026-03-01"),  # the end before the start
        ("0001-01-01", "2026-03-01"),  # year 1
        ("2026-03-01", "9999-12-31"),  # year 9999
        ("", "2026-03-01"),
        ("not a date", "2026-03-01"),
        ("2006-01-01", "2026-03-01"),  # more than ten years
    ],
)
def test_the_list_dialog_refuses_bad_ranges(amo_app, client, admin_persona, date_from, date_to):
    client.force_login(admin_persona.user)
    response = start_list_run(client, date_from, date_to)
    assert response.status_code == 422
    assert not SyncJob.objects.filter(kind=app_accounts.KIND).exists()


def test_the_list_action_needs_the_right_and_the_feature(
    amo, client, admin_persona, registrar, desk
):
    client.force_login(registrar.user)
    assert (
        'data-list-action="amocrm-app-accounts"'
        not in client.get(reverse("patients:list")).content.decode()
    )
    assert client.get(reverse(SYNC_URL)).status_code == 403
    assert start_list_run(client).status_code == 403
    client.force_login(admin_persona.user)
    # amoCRM is connected but no field is chosen: no button, and the dialog says why.
    assert (
        'data-list-action="amocrm-app-accounts"'
        not in client.get(reverse("patients:list")).content.decode()
    )
    assert start_list_run(client).status_code == 204
    assert not SyncJob.objects.filter(kind=app_accounts.KIND).exists()


def test_the_job_page_needs_the_right_and_an_app_accounts_job(
    amo_app, client, admin_persona, registrar
):
    initial_job = SyncJob.objects.create(system=SYSTEM, connection=amo_app.connection)
    client.force_login(admin_persona.user)
    url = reverse("integrations:amocrm-app-accounts-job", args=[initial_job.pk])
    assert client.get(url).status_code == 404
    job = app_accounts.job_start(
        amo_app.connection,
        by=None,
        date_from=datetime.date(2026, 1, 1),
        date_to=datetime.date(2026, 1, 2),
    )
    client.force_login(registrar.user)
    url = reverse("integrations:amocrm-app-accounts-job", args=[job.pk])
    assert client.get(url).status_code == 403


def test_a_stalled_list_run_is_resumed_by_the_sweep_and_not_taken_for_an_initial_sync(
    amo_app, accounts, monkeypatch
):
    from integrations.amocrm import initial

    job = app_accounts.job_start(
        amo_app.connection,
        by=None,
        date_from=datetime.date(2026, 3, 1),
        date_to=datetime.date(2026, 3, 31),
    )
    SyncJob.objects.filter(pk=job.pk).update(
        progress_at=timezone.now() - datetime.timedelta(minutes=10)
    )
    started = []
    monkeypatch.setattr(app_accounts.jobs, "enqueue", lambda task, *args: started.append(task.name))
    monkeypatch.setattr(initial.jobs, "enqueue", lambda task, *args: started.append(task.name))
    assert initial.resume_stalled() == 0
    assert app_accounts.resume_stalled() == 1
    assert started == ["integrations.amocrm.tasks.amocrm_app_accounts_run"]


# --- Daily -----------------------------------------------------------------------------------


def test_the_daily_sync_is_in_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["amocrm-app-accounts-daily"]
    assert entry["task"] == "integrations.amocrm.tasks.amocrm_app_accounts_daily"
    assert float(entry["schedule"]) <= 15 * 60


def moscow(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=MOSCOW)


def test_the_daily_sync_runs_once_a_day_after_its_time(amo_app, desk):
    amo_app.connection.settings["app_accounts"] = {"time": "04:30"}
    amo_app.connection.save(update_fields=["settings"])
    connection = amo_app.connection
    assert not app_accounts.daily_due(connection, moscow(26, 4, 29))
    assert app_accounts.daily_due(connection, moscow(26, 4, 30))
    with time_machine.travel(moscow(26, 4, 29), tick=False):
        assert amocrm_app_accounts_daily() is None
    with time_machine.travel(moscow(26, 5, 0), tick=False):
        assert amocrm_app_accounts_daily() == {
            "written": 0,
            "up_to_date": 0,
            "skipped": {},
            "failed": 0,
        }
    connection.refresh_from_db()
    assert connection.settings["app_accounts_daily"]["date"] == "2026-11-26"
    assert not app_accounts.daily_due(connection, moscow(26, 23, 59))
    assert not app_accounts.daily_due(connection, moscow(27, 4, 0))
    assert app_accounts.daily_due(connection, moscow(27, 4, 30))


def test_the_daily_sync_writes_what_changed_since_the_last_run(amo_app, desk):
    with time_machine.travel(moscow(25, 12, 0), tick=False):
        first = with_account(desk, amo_app, login="first@x.ru", phone="+79164440001")
        never = with_account(desk, amo_app, login="never@x.ru", booked=False, phone="+79164440002")
    with time_machine.travel(moscow(26, 3, 5), tick=False):
        result = app_accounts.daily_run(active_connection())
    assert result.written == [first.pk]
    assert result.skipped == {app_accounts.NEVER_BOOKED: [never.pk]}
    assert field_value(amo_app, first).startswith("first@x.ru")
    assert SyncLogEntry.objects.filter(action="app_accounts.daily", result="ok").count() == 1

    # The same day again: not due.
    with time_machine.travel(moscow(26, 9, 0), tick=False):
        assert app_accounts.daily_run(active_connection()) is None
    # Meanwhile: a new account, the skipped patient is booked, nothing else changes.
    with time_machine.travel(moscow(26, 12, 0), tick=False):
        second = with_account(desk, amo_app, login="second@x.ru", phone="+79164440003")
    book(desk, never)
    before = patches(amo_app)
    with time_machine.travel(moscow(27, 3, 5), tick=False):
        result = app_accounts.daily_run(active_connection())
    assert sorted(result.written) == sorted([second.pk, never.pk])
    assert first.pk not in result.up_to_date + result.written  # unchanged: not even read
    assert patches(amo_app) == before + 1  # one batch

    # The next day, nothing changed: nothing is written.
    before = patches(amo_app)
    with time_machine.travel(moscow(28, 3, 5), tick=False):
        result = app_accounts.daily_run(active_connection())
    assert result.written == [] and patches(amo_app) == before


def test_the_daily_sync_does_nothing_while_the_feature_is_off(amo, desk):
    with_account(desk, amo)
    with time_machine.travel(moscow(26, 12, 0), tick=False):
        assert amocrm_app_accounts_daily() is None
    assert "app_accounts_daily" not in Connection.objects.get(pk=amo.connection.pk).settings


# --- The wizard ------------------------------------------------------------------------------


def test_the_fields_step_saves_the_app_account_field_and_its_time(amo_app, client, admin_persona):
    from integrations.amocrm.config import AmoSettings

    client.force_login(admin_persona.user)
    url = reverse("integrations:amocrm-setup", args=["fields"])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["app_account"] == amo_app.field
    data = {k: v for k, v in form.initial.items() if v not in (None, "")}
    data.update({"app_account": str(amo_app.field), "app_accounts_time": "05:15"})
    assert client.post(url, data).status_code == 302
    saved = AmoSettings.of(Connection.objects.get(pk=amo_app.connection.pk))
    assert saved.contact_fields["app_account"] == amo_app.field
    assert saved.app_accounts_time == datetime.time(5, 15)
    # A non-text field is no choice; an empty choice turns the feature off.
    gender = amo_app.fake.field_id("contacts", "Пол")
    assert client.post(url, {**data, "app_account": str(gender)}).status_code == 422
    data.pop("app_account")
    client.post(url, data)
    assert (
        "app_account"
        not in AmoSettings.of(Connection.objects.get(pk=amo_app.connection.pk)).contact_fields
    )
