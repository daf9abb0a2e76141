"""The amoCRM sync's stories, end to end over HTTP against the fake amoCRM: Odonta's
services make the changes, the workers' steps run (``amo.sync()``), the fake's account and
Odonta's rows are checked."""

import datetime
from decimal import Decimal

import pytest

from calendar_app import services as calendar
from calendar_app.tests.factories import ServiceFactory
from integrations.amocrm.config import CONTACT, LOST, SYSTEM, WON
from integrations.links import link_for
from integrations.models import ExternalLink, InboundWebhook, SyncDecision, SyncLogEntry
from patients import services as patients
from patients.models import Patient

from .helpers import book, contact_of, lead_of, new_patient

pytestmark = pytest.mark.django_db


def test_a_patient_created_in_odonta_becomes_a_contact_with_its_mis_id(amo, desk):
    patient = new_patient(desk["user"], gender=amo.female)
    amo.sync()
    contact = contact_of(amo, patient)
    assert contact["name"] == "Смирнова Ольга Петровна"
    assert amo.fake.contact_field_value(contact, "MIS_ID") == str(patient.card_number)
    assert amo.fake.contact_field_value(contact, "PHONE") == "+79161234567"
    birthday = amo.fake.contact_field_value(contact, "Дата рождения")
    assert datetime.datetime.fromtimestamp(int(birthday), tz=datetime.UTC).astimezone(
        desk["branch"].zone
    ).date() == datetime.date(1990, 3, 14)
    assert len(amo.fake.contacts) == 1


def test_a_contact_created_in_amocrm_becomes_a_patient_and_gets_its_mis_id_back(amo):
    contact = amo.fake.ui_add_contact(
        "Кузнецов Пётр Сергеевич",
        phone="8 (903) 111-22-33",
        birthday=datetime.date(1979, 11, 2),
        gender="Мужской",
    )
    amo.sync()
    patient = Patient.objects.get(phone="+79031112233")
    assert (patient.last_name, patient.first_name, patient.middle_name) == (
        "Кузнецов",
        "Пётр",
        "Сергеевич",
    )
    assert patient.birth_date == datetime.date(1979, 11, 2)
    assert patient.gender == amo.male
    assert amo.fake.contact_field_value(contact["id"], "MIS_ID") == str(patient.card_number)
    assert len(amo.fake.contacts) == 1 and Patient.objects.count() == 1


def test_changes_flow_both_ways_and_each_once(amo, desk):
    patient = new_patient(desk["user"])
    amo.sync()
    contact_id = contact_of(amo, patient)["id"]
    patients.patient_update(patient=patient, by=desk["user"], data={"phone": "+79167654321"})
    amo.sync()
    assert amo.fake.contact_field_value(contact_id, "PHONE") == "+79167654321"
    amo.fake.ui_update_contact(contact_id, name="Смирнова-Белова Ольга Петровна")
    amo.sync()
    patient.refresh_from_db()
    assert patient.last_name == "Смирнова-Белова"
    # The echo of each write came back as a webhook and changed nothing: one write each way.
    writes = [r for r in amo.fake.journal if r.method == "PATCH" and "contacts" in r.path]
    assert len(writes) == 1


def test_amocrms_report_of_a_contact_odonta_created_is_not_read_back(amo, desk):
    patients_made = [new_patient(desk["user"], phone=f"+7916123456{n}") for n in range(3)]
    amo.sync()
    assert [contact_of(amo, patient) for patient in patients_made]
    assert sum(entry["outcome"] == "delivered" for entry in amo.fake.webhook_log) >= 1
    # The "added" webhook names contacts linked already: no request reads them again (an
    # initial sync of 100,000 patients made 10,000 such reads).
    reads = [r for r in amo.fake.journal if r.method == "GET" and "filter[id][]" in r.query]
    assert reads == []


def test_a_booked_visit_creates_a_deal_at_its_stage_with_the_contact(amo, desk):
    patient = new_patient(desk["user"])
    filling = ServiceFactory(name="Пломба", price=Decimal("4500.00"))
    visit = book(desk, patient, services=[filling])
    amo.sync()
    lead = lead_of(amo, visit)
    assert lead["status_id"] == amo.fake.status_id("Записан")
    assert lead["pipeline_id"] == amo.fake.main_pipeline_id
    assert lead["price"] == 4500
    contact = contact_of(amo, patient)
    assert [c["id"] for c in lead["_embedded"]["contacts"]] == [contact["id"]]
    assert amo.fake.lead_field_value(lead, "MIS_ID") == f"V{visit.pk}"


def test_a_visit_takes_the_open_deal_the_manager_booked_it_from(amo, desk):
    contact = amo.fake.ui_add_contact("Орлова Мария", phone="+79035556677")
    deal = amo.fake.ui_add_lead(
        name="Заявка с сайта",
        contact_id=contact["id"],
        status_id=amo.fake.status_id("Первичный контакт"),
    )
    amo.sync()
    patient = Patient.objects.get(phone="+79035556677")
    visit = book(desk, patient)
    amo.sync()
    assert lead_of(amo, visit)["id"] == deal["id"]
    assert amo.fake.leads[deal["id"]]["status_id"] == amo.fake.status_id("Записан")
    assert len(amo.fake.leads) == 1


def test_status_changes_in_odonta_move_the_deal(amo, desk):
    patient = new_patient(desk["user"])
    visit = book(desk, patient, services=[ServiceFactory(price=Decimal("3000.00"))])
    amo.sync()
    calendar.appointment_set_status(appointment=visit, by=desk["user"], status="confirmed")
    amo.sync()
    assert lead_of(amo, visit)["status_id"] == amo.fake.status_id("Подтверждён")
    calendar.appointment_set_status(appointment=visit, by=desk["user"], status="completed")
    amo.sync()
    lead = lead_of(amo, visit)
    assert lead["status_id"] == WON and lead["price"] == 3000 and lead["closed_at"]


def test_moving_the_deal_to_the_cancelled_stage_cancels_the_visit(amo, desk):
    visit = book(desk, new_patient(desk["user"]))
    amo.sync()
    amo.fake.ui_move_lead(lead_of(amo, visit)["id"], amo.fake.status_id("Отменён"))
    amo.sync()
    visit.refresh_from_db()
    assert visit.status == "cancelled"
    assert visit.cancel_reason


def test_cancelling_in_odonta_closes_the_deal_as_lost_with_the_reason(amo, desk):
    reasons = amo.client().loss_reasons()
    amo.connection.settings["loss_reason_id"] = reasons[0]["id"]
    amo.connection.save(update_fields=["settings"])
    visit = book(desk, new_patient(desk["user"]))
    amo.sync()
    calendar.appointment_cancel(appointment=visit, by=desk["user"], reason="Заболел")
    amo.sync()
    lead = lead_of(amo, visit)
    assert lead["status_id"] == LOST and lead["loss_reason_id"] == reasons[0]["id"]


def test_an_impossible_status_from_amocrm_is_refused_logged_and_put_back(amo, desk):
    visit = book(desk, new_patient(desk["user"]))
    amo.sync()
    calendar.appointment_set_status(appointment=visit, by=desk["user"], status="completed")
    amo.sync()
    lead_id = lead_of(amo, visit)["id"]
    amo.fake.ui_move_lead(lead_id, amo.fake.status_id("Записан"))
    amo.sync()
    visit.refresh_from_db()
    assert visit.status == "completed"
    refused = SyncLogEntry.objects.get(action="lead.status", result="skipped")
    assert "Refused" in refused.error
    assert amo.fake.leads[lead_id]["status_id"] == WON  # moved back where it belongs


def test_a_family_sharing_one_phone_is_not_merged(amo, desk):
    mother = new_patient(desk["user"], first_name="Мать", phone="+79160000001")
    child = new_patient(
        desk["user"], first_name="Сын", phone="+79160000001", birth_date=datetime.date(2015, 1, 1)
    )
    Patient.objects.filter(pk__in=[mother.pk, child.pk]).update()  # nothing synced yet
    contact = amo.fake.ui_add_contact("Семья Смирновых", phone="+79160000001")
    amo.sync()
    decision = SyncDecision.objects.get(external_id=str(contact["id"]))
    assert sorted(decision.candidates) == sorted([mother.pk, child.pk])
    assert not ExternalLink.objects.filter(external_type=CONTACT, external_id=str(contact["id"]))
    assert Patient.objects.count() == 2  # no third patient made of the contact
    from integrations.amocrm.decisions import decision_resolve

    decision_resolve(decision=decision, patient=mother, by=desk["user"])
    link = link_for(system=SYSTEM, obj=mother)
    assert link is not None and link.external_id == str(contact["id"])
    assert amo.fake.contact_field_value(contact["id"], "MIS_ID") == str(mother.card_number)


def test_the_same_webhook_delivered_five_times_has_one_effect(amo, desk, client):
    visit = book(desk, new_patient(desk["user"]))
    amo.sync()
    captured = []
    amo.fake.ui_move_lead(lead_of(amo, visit)["id"], amo.fake.status_id("Подтверждён"))
    amo.fake.deliver_webhooks(post=lambda d, body, h: captured.append((d, body, h)) or 200)
    destination, body, headers = captured[0]
    for _ in range(5):
        assert amo.post(destination, body, headers) == 200
    amo.sync()
    visit.refresh_from_db()
    assert visit.status == "confirmed"
    assert visit.status_changes.filter(to_status="confirmed").count() == 1
    from integrations.models import InboundWebhook

    assert InboundWebhook.objects.filter(body=body.decode()).count() == 1


def test_a_lost_webhook_is_repaired_by_the_reconcile(amo, desk):
    from integrations.amocrm import reconcile

    visit = book(desk, new_patient(desk["user"]))
    amo.sync()
    amo.fake.drop_next_webhooks(10)
    amo.fake.ui_move_lead(lead_of(amo, visit)["id"], amo.fake.status_id("Не пришёл"))
    amo.sync()
    visit.refresh_from_db()
    assert visit.status == "planned"  # the webhook was lost
    with amo.client() as api:
        reconcile.reconcile(amo.connection, api)
    visit.refresh_from_db()
    assert visit.status == "no_show"


def test_a_403_pauses_the_sync_and_nothing_is_lost(amo, desk, mailoutbox):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("root", "root@clinic.test", "x")
    amo.fake.block()
    patient = new_patient(desk["user"])
    amo.sync()
    amo.connection.refresh_from_db()
    assert amo.connection.status == "paused"
    assert mailoutbox and "amoCRM" in mailoutbox[0].subject
    assert not amo.fake.contacts
    amo.fake.unblock()
    amo.connection.status = "connected"
    amo.connection.save(update_fields=["status"])
    amo.sync()
    assert contact_of(amo, patient)


def test_hook_refuses_a_wrong_secret_another_account_and_other_bodies(amo, client):
    form = "application/x-www-form-urlencoded"
    url = amo.hook_url.replace(amo.site, "")
    assert client.post("/integrations/amocrm/hook/wrong/", "account[id]=1", form).status_code == 404
    assert client.post(url, "account[id]=1", form).status_code == 403
    assert client.post(url, {"account[id]": "1"}).status_code == 415  # multipart
    assert client.get(url).status_code == 405
    body = f"account[id]={amo.fake.account_id}&leads[status][0][id]=1"
    assert client.post(url, body, form).status_code == 200
    assert client.post(url, body + "&x[99999999999]=1", form).status_code == 200
    assert client.post(url, body + "\x00", form).status_code == 400  # NUL bytes: refused


def test_a_field_amocrm_never_had_does_not_clear_odontas_value(amo, desk):
    """Gender is amoCRM's by default and Odonta never sends it: the contact's empty gender
    (and its echo) must not wipe the card's, while a gender amoCRM sets does arrive."""
    patient = new_patient(desk["user"], gender=amo.female)
    amo.sync()
    contact_id = contact_of(amo, patient)["id"]
    amo.fake.ui_update_contact(contact_id, name="Смирнова Ольга Петровна")  # no change
    amo.fake.ui_update_contact(contact_id, birthday=datetime.date(1990, 3, 15))
    amo.sync()
    patient.refresh_from_db()
    assert patient.gender == amo.female
    assert patient.birth_date == datetime.date(1990, 3, 15)
    amo.fake.ui_update_contact(contact_id, gender="Мужской")
    amo.sync()
    patient.refresh_from_db()
    assert patient.gender == amo.male


def test_the_echo_of_odontas_own_writes_costs_no_request(amo, desk):
    """The webhooks amoCRM sends back for Odonta's creates and updates are recognised from
    their snapshot (creates answer no ``updated_at``) and from ``updated_at`` (updates):
    nothing is read again, nothing written back."""
    from clinic import events
    from clinic.models import OutboxEvent
    from integrations import webhooks
    from integrations.amocrm import push

    def push_only():
        for event_id in OutboxEvent.objects.filter(dispatched_at__isnull=True).values_list(
            "pk", flat=True
        ):
            events.dispatch(event_id)
        push.push_pending()

    def echo_requests() -> int:
        before = amo.fake.api_request_count
        assert amo.fake.deliver_webhooks(post=amo.post) >= 1
        for webhook_id in InboundWebhook.objects.filter(status="received").values_list(
            "pk", flat=True
        ):
            webhooks.process(webhook_id)
        assert not InboundWebhook.objects.exclude(status="processed").exists()
        return amo.fake.api_request_count - before

    patient = new_patient(desk["user"], gender=amo.female)
    visit = book(desk, patient)
    push_only()
    assert echo_requests() == 0  # the creates' echoes
    patients.patient_update(patient=patient, by=desk["user"], data={"first_name": "Олеся"})
    calendar.appointment_set_status(appointment=visit, by=desk["user"], status="confirmed")
    push_only()
    assert echo_requests() == 0  # the updates' echoes
    amo.fake.ui_update_contact(contact_of(amo, patient)["id"], name="Смирнова Олеся Ивановна")
    assert echo_requests() == 1  # a real change is read (one request for the batch)
    patient.refresh_from_db()
    assert patient.middle_name == "Ивановна"


def test_the_deal_is_the_mapped_amocrm_users_and_carries_the_chosen_fields(amo, desk):
    manager = amo.fake.user_ids[2]
    fields = {
        name: amo.client().create_custom_fields("leads", [{"name": label, "type": "text"}])[0]["id"]
        for name, label in (
            ("time", "Время приёма"),
            ("doctor", "Врач приёма"),
            ("services", "Услуги приёма"),
        )
    }
    amo.connection.settings["users"] = {str(desk["doctor"].pk): manager}
    amo.connection.settings["lead_fields"].update(fields)
    amo.connection.save(update_fields=["settings"])
    visit = book(
        desk,
        new_patient(desk["user"]),
        hour=11,
        services=[ServiceFactory(name="Чистка", price=Decimal("2000.00"))],
    )
    amo.sync()
    lead = lead_of(amo, visit)
    assert lead["responsible_user_id"] == manager
    assert lead["name"].startswith("Приём ")  # amoCRM's users read the clinic's language
    assert amo.fake.lead_field_value(lead, "Время приёма") == "11:00"
    assert amo.fake.lead_field_value(lead, "Врач приёма") == desk["doctor"].full_name
    assert amo.fake.lead_field_value(lead, "Услуги приёма") == "Чистка"


def test_a_completed_visit_wins_the_deal_at_its_invoiced_amount(amo, desk):
    from billing.amounts import DiscountAsked
    from billing.invoicing import invoice_create_from_visit, invoice_issue

    visit = book(
        desk, new_patient(desk["user"]), services=[ServiceFactory(price=Decimal("5000.00"))]
    )
    amo.sync()
    calendar.appointment_set_status(appointment=visit, by=desk["user"], status="completed")
    amo.sync()
    assert lead_of(amo, visit)["price"] == 5000  # booked, not billed yet
    visit.refresh_from_db()
    invoice = invoice_create_from_visit(
        appointment=visit, by=desk["user"], discount=DiscountAsked(percent=Decimal(10))
    )
    invoice_issue(invoice=invoice, by=desk["user"])
    amo.sync()
    lead = lead_of(amo, visit)
    assert lead["status_id"] == WON and lead["price"] == 4500  # the invoice, not the booking
