import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.models import AuditEntry, OutboxEvent
from clinical import orthodontics
from clinical.models import OrthodonticCard, OrthodonticCardStatus, OrthodonticSection
from documents.tests.pdf import pdf_text
from patients import timeline
from patients.models import PatientEvent
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def new_card(doctor, patient=None) -> OrthodonticCard:
    return orthodontics.card_create(
        patient=patient or PatientFactory(), by=doctor.user, doctor=doctor.employee
    )


def stored(card, key) -> dict:
    return OrthodonticSection.objects.get(card=card, key=key).data


def section_url(card, key) -> str:
    return reverse("clinical:ortho-section", args=[card.pk, key])


def test_the_registry_holds_the_manuals_sections_in_order():
    assert [section.items for section in orthodontics.SECTIONS] == [
        "1-12",
        *[str(number) for number in range(13, 27)],
    ]
    assert [s.key for s in orthodontics.SECTIONS if s.entries] == ["diary", "observation"]


def test_cards_are_numbered_per_patient_audited_and_published(
    doctor, django_capture_on_commit_callbacks
):
    patient = PatientFactory()
    with django_capture_on_commit_callbacks(execute=True):
        first = new_card(doctor, patient)
        second = new_card(doctor, patient)
    other = new_card(doctor)
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert AuditEntry.objects.filter(patient_id=patient.pk, action="create").count() == 2
    event = OutboxEvent.objects.filter(name="orthodontic_card.created").first()
    assert event.payload["patient_id"] == first.patient_id
    entry = PatientEvent.objects.filter(patient=patient, name="orthodontic_card.created").order_by(
        "pk"
    )[0]
    assert timeline.render(entry)[1] == "Orthodontic card No. 1 opened"


def test_a_section_is_validated_stored_and_read_back_with_its_labels(
    doctor, django_capture_on_commit_callbacks
):
    card = new_card(doctor)
    with django_capture_on_commit_callbacks(execute=True):
        orthodontics.section_save(
            card=card,
            key="oral",
            values={"molars": "class2", "overbite": "deep", "notes": "Скученность"},
            by=doctor.user,
        )
    assert stored(card, "oral") == {"molars": "class2", "overbite": "deep", "notes": "Скученность"}
    assert orthodontics.get("oral").rows(stored(card, "oral")) == [
        ("Molar relation (Angle class)", "Class II"),
        ("Incisor overbite", "deep"),
        ("Teeth, dentition and mucosa", "Скученность"),
    ]
    saved = PatientEvent.objects.get(patient_id=card.patient_id, name__endswith="section_saved")
    assert timeline.render(saved)[1] == ("Orthodontic card No. 1: Oral cavity examination saved")
    assert set(orthodontics.filled_sections(card)) == {"oral"}


@pytest.mark.parametrize(
    ("key", "values", "message"),
    [
        ("oral", {"molars": "class9"}, "Select a valid choice"),
        ("plan", {"months": "500"}, "less than or equal to 120"),
        ("epicrisis", {"started_on": "2026-05-01", "finished_on": "2026-01-01"}, "before"),
        ("consent", {"signed_by": "representative"}, "Name the representative"),
        ("preliminary", {"diagnosis": "Прикус", "code": "X99.9"}, "not in the ICD-10 list"),
        ("xray", {"panoramic_on": "0001-01-01"}, "1900"),
        ("complaints", {}, "Nothing to save"),
        ("diary", {"text": "Без даты"}, "This field is required"),
    ],
)
def test_bad_values_are_refused_by_the_service(doctor, key, values, message):
    card = new_card(doctor)
    with pytest.raises(ValidationError, match=message):
        orthodontics.section_save(card=card, key=key, values=values, by=doctor.user)
    assert not OrthodonticSection.objects.exclude(data={}).exists()


def test_diary_entries_are_appended_not_overwritten(doctor):
    card = new_card(doctor)
    for day, text in [("2026-01-10", "Фиксация брекетов"), ("2026-02-10", "Смена дуги")]:
        orthodontics.section_save(
            card=card, key="diary", values={"on": day, "text": text}, by=doctor.user
        )
    entries = stored(card, "diary")["entries"]
    assert [(e["on"], e["text"]) for e in entries] == [
        ("2026-01-10", "Фиксация брекетов"),
        ("2026-02-10", "Смена дуги"),
    ]
    assert entries[0]["by"] == str(doctor.user)


def test_reset_clears_a_section_or_the_card_and_the_audit_keeps_the_old_values(
    doctor, django_capture_on_commit_callbacks
):
    card = new_card(doctor)
    orthodontics.section_save(
        card=card, key="complaints", values={"text": "Неровные зубы"}, by=doctor.user
    )
    orthodontics.section_save(card=card, key="face", values={"profile": "convex"}, by=doctor.user)
    with django_capture_on_commit_callbacks(execute=True):
        assert orthodontics.card_reset(card=card, key="complaints", by=doctor.user) == 1
    assert set(orthodontics.filled_sections(card)) == {"face"}
    entry = AuditEntry.objects.filter(patient_id=card.patient_id).order_by("-id").first()
    assert entry.changes == {"section:complaints": [{"text": "Неровные зубы"}, None]}
    assert orthodontics.card_reset(card=card, by=doctor.user) == 1
    assert orthodontics.filled_sections(card) == {}
    assert OutboxEvent.objects.filter(name="orthodontic_card.reset").count() == 2
    reset = PatientEvent.objects.get(patient_id=card.patient_id, name="orthodontic_card.reset")
    assert timeline.render(reset)[1] == "Orthodontic card No. 1: Complaints reset"


def test_the_demo_opens_a_card_for_a_teenager():
    from clinical.demo import seed_orthodontics

    teen = PatientFactory(birth_date=datetime.date.today() - datetime.timedelta(days=13 * 365))
    PatientFactory(birth_date=datetime.date(1980, 1, 1))
    seed_orthodontics(lambda line: None)
    card = OrthodonticCard.objects.get()
    assert card.patient == teen
    assert {"complaints", "oral", "plan", "diary"} <= set(orthodontics.filled_sections(card))
    assert len(stored(card, "diary")["entries"]) == 2


def test_a_closed_card_refuses_changes(doctor):
    card = new_card(doctor)
    orthodontics.card_set_status(card=card, status=OrthodonticCardStatus.CLOSED, by=doctor.user)
    with pytest.raises(ValidationError, match="closed"):
        orthodontics.section_save(card=card, key="complaints", values={"text": "x"}, by=doctor.user)


# --- views -----------------------------------------------------------------------------


def test_the_card_tab_loads_the_cards_and_a_new_card_opens(doctor_client, doctor):
    patient = PatientFactory()
    html = doctor_client.get(reverse("patients:section", args=[patient.pk, "orthodontics"]))
    assert reverse("clinical:ortho", args=[patient.pk]) in html.content.decode()
    assert "data-section-placeholder" not in html.content.decode()
    listing = doctor_client.get(reverse("clinical:ortho", args=[patient.pk]), **HTMX)
    assert "data-ortho-new" in listing.content.decode()
    response = doctor_client.post(
        reverse("clinical:ortho-new", args=[patient.pk]),
        {"opened_on": "2026-03-01", "doctor": doctor.employee.pk},
        **HTMX,
    )
    assert response.status_code == 200
    card = OrthodonticCard.objects.get(patient=patient)
    assert card.opened_on == datetime.date(2026, 3, 1)
    assert f'data-ortho-card-page="{card.pk}"' in response.content.decode()
    assert response["HX-Trigger"] == "orthodonticCardChanged"


def test_saving_a_section_marks_it_filled(doctor_client, doctor):
    card = new_card(doctor)
    response = doctor_client.post(
        section_url(card, "complaints"),
        {"kinds": ["appearance", "speech"], "text": "Неровные зубы"},
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-ortho-section="complaints" data-filled="1"' in html
    assert 'data-ortho-section="anamnesis" data-filled="0"' in html
    assert "Неровные зубы" in html
    assert stored(card, "complaints") == {
        "kinds": ["appearance", "speech"],
        "text": "Неровные зубы",
    }


@pytest.mark.parametrize(
    ("key", "data", "message"),
    [
        ("oral", {"molars": "class9"}, "Select a valid choice"),
        ("plan", {"months": "abc"}, "Enter a whole number"),
        ("complaints", {"kinds": ["flying"]}, "Select a valid choice"),
        ("complaints", {"text": "я" * 5000}, "at most 4000 characters"),
        ("diary", {"on": "2026-13-45", "text": "x"}, "Enter a valid date"),
        ("epicrisis", {"started_on": "2026-05-01", "finished_on": "2026-01-01"}, "before"),
    ],
)
def test_invalid_values_answer_422_with_the_message(doctor_client, doctor, key, data, message):
    card = new_card(doctor)
    response = doctor_client.post(section_url(card, key), data, **HTMX)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert f'data-ortho-form="{key}"' in response.content.decode()
    assert not OrthodonticSection.objects.exclude(data={}).exists()


def test_hostile_input_is_a_4xx(doctor_client, doctor):
    card = new_card(doctor)
    assert doctor_client.post(section_url(card, "nosuch"), {"text": "x"}).status_code == 404
    assert (
        doctor_client.get(
            reverse("clinical:ortho-card", args=[card.pk]), {"section": "x"}
        ).status_code
        == 404
    )
    assert (
        doctor_client.post(section_url(card, "complaints"), {"text": "a\x00b"}).status_code == 400
    )
    huge = doctor_client.post(section_url(card, "complaints"), {"text": "я" * 3_000_000})
    assert 400 <= huge.status_code < 500
    assert doctor_client.get("/clinical/orthodontics/99999999999999999999999/").status_code == 404
    new = reverse("clinical:ortho-new", args=[card.patient_id])
    assert doctor_client.post(new, {"opened_on": "0001-01-01"}).status_code == 422
    assert (
        doctor_client.post(new, {"opened_on": "2026-01-01", "doctor": "1\x00"}).status_code == 400
    )
    assert OrthodonticCard.objects.count() == 1
    assert not OrthodonticSection.objects.exclude(data={}).exists()


def test_a_deleted_patients_card_is_not_found(doctor_client, doctor):
    from django.utils import timezone

    card = new_card(doctor)
    card.patient.deleted_at = timezone.now()
    card.patient.save(update_fields=["deleted_at"])
    assert doctor_client.get(reverse("clinical:ortho-card", args=[card.pk])).status_code == 404
    assert doctor_client.post(section_url(card, "complaints"), {"text": "x"}).status_code == 404
    assert doctor_client.get(reverse("clinical:ortho", args=[card.patient_id])).status_code == 404


def test_rights(client, registrar, doctor):
    card = new_card(doctor)
    client.force_login(registrar.user)
    assert client.get(reverse("clinical:ortho", args=[card.patient_id])).status_code == 403
    assert client.get(reverse("clinical:ortho-card", args=[card.pk])).status_code == 403
    assert client.get(reverse("clinical:ortho-print", args=[card.pk])).status_code == 403
    assert client.post(section_url(card, "complaints"), {"text": "x"}).status_code == 403
    assert (
        client.post(reverse("clinical:ortho-reset", args=[card.pk]), {"confirm": "all"}).status_code
        == 403
    )
    assert not OrthodonticSection.objects.exists()


def test_wrong_methods(doctor_client, doctor):
    card = new_card(doctor)
    assert doctor_client.get(reverse("clinical:ortho-reset", args=[card.pk])).status_code == 405
    assert doctor_client.post(reverse("clinical:ortho-print", args=[card.pk])).status_code == 405
    assert (
        doctor_client.get(reverse("clinical:ortho-new", args=[card.patient_id])).status_code == 405
    )


def test_reset_views_need_the_confirmation_for_the_whole_card(doctor_client, doctor):
    card = new_card(doctor)
    orthodontics.section_save(card=card, key="face", values={"profile": "convex"}, by=doctor.user)
    orthodontics.section_save(
        card=card, key="anamnesis", values={"feeding": "breast"}, by=doctor.user
    )
    url = reverse("clinical:ortho-reset", args=[card.pk])
    assert doctor_client.post(url).status_code == 400
    reset = doctor_client.post(
        reverse("clinical:ortho-section-reset", args=[card.pk, "face"]), **HTMX
    )
    assert reset.status_code == 200
    assert set(orthodontics.filled_sections(card)) == {"anamnesis"}
    assert doctor_client.post(url, {"confirm": "all"}, **HTMX).status_code == 200
    assert orthodontics.filled_sections(card) == {}


def test_a_closed_card_shows_its_values_without_a_form(doctor_client, doctor):
    card = new_card(doctor)
    orthodontics.section_save(card=card, key="face", values={"profile": "convex"}, by=doctor.user)
    response = doctor_client.post(
        reverse("clinical:ortho-status", args=[card.pk]),
        {"status": "closed", "section": "face"},
        **HTMX,
    )
    html = response.content.decode()
    assert "data-ortho-values" in html and "convex" in html and "data-ortho-form" not in html
    assert doctor_client.post(section_url(card, "face"), {"profile": "straight"}).status_code == 409
    bad = doctor_client.post(reverse("clinical:ortho-status", args=[card.pk]), {"status": "gone"})
    assert bad.status_code == 400


def test_the_pdf_holds_the_patient_and_the_sections_values(doctor_client, doctor):
    card = new_card(doctor, PatientFactory(last_name="Брекетова"))
    orthodontics.section_save(
        card=card, key="diagnosis", values={"diagnosis": "Дистальная окклюзия"}, by=doctor.user
    )
    orthodontics.section_save(
        card=card, key="diary", values={"on": "2026-02-03", "text": "Смена дуги"}, by=doctor.user
    )
    response = doctor_client.get(reverse("clinical:ortho-print", args=[card.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Брекетова" in text and "Дистальная окклюзия" in text
    assert "03.02.2026" in text and "Смена дуги" in text and "Epicrisis" in text


def _fill_everything(card, doctor):
    values = {
        "complaints": {"text": "Жалобы"},
        "anamnesis": {"feeding": "breast"},
        "face": {"profile": "convex"},
        "oral": {"molars": "class2"},
        "plan": {"appliance": "braces", "months": "12"},
    }
    for key, data in values.items():
        orthodontics.section_save(card=card, key=key, values=data, by=doctor.user)
    for day in range(1, 6):
        orthodontics.section_save(
            card=card,
            key="diary",
            values={"on": f"2026-01-0{day}", "text": "Визит"},
            by=doctor.user,
        )


def test_queries_do_not_grow_with_cards_and_sections(doctor_client, doctor):
    patient = PatientFactory()
    card = new_card(doctor, patient)
    listing = reverse("clinical:ortho", args=[patient.pk])
    page = reverse("clinical:ortho-card", args=[card.pk])

    def count(url, **params) -> tuple[int, str]:
        doctor_client.get(url, params)
        with CaptureQueriesContext(connection) as queries:
            html = doctor_client.get(url, params).content.decode()
        return len(queries), html

    few = count(listing)[0], count(page, section="diary")[0]
    _fill_everything(card, doctor)
    for _ in range(5):
        _fill_everything(new_card(doctor, patient), doctor)
    many_listing, html = count(listing)
    assert html.count("data-ortho-card=") == 6
    many_page, page_html = count(page, section="diary")
    assert page_html.count("data-ortho-entry") == 5
    assert page_html.count('data-filled="1"') == 6
    assert (many_listing, many_page) == few
    assert max(few) <= 10


def test_a_reader_sees_the_values_but_no_form(client, doctor):
    from django.contrib.auth.models import Permission

    from clinic.modules import permission_codename
    from clinic.tests.factories import UserFactory

    reader = UserFactory(username="reader")
    reader.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="clinic",
            codename__in=[
                permission_codename("patients", "view"),
                permission_codename("clinical", "view"),
            ],
        )
    )
    card = new_card(doctor)
    orthodontics.section_save(card=card, key="face", values={"profile": "convex"}, by=doctor.user)
    client.force_login(reader)
    html = client.get(reverse("clinical:ortho-card", args=[card.pk]), {"section": "face"})
    assert html.status_code == 200
    content = html.content.decode()
    assert "data-ortho-values" in content and "convex" in content
    assert "data-ortho-form" not in content and "data-ortho-reset-card" not in content
    listing = client.get(reverse("clinical:ortho", args=[card.patient_id])).content.decode()
    assert f'data-ortho-card="{card.pk}"' in listing and "data-ortho-new" not in listing
    assert client.post(section_url(card, "face"), {"profile": "straight"}).status_code == 403
    assert client.get(reverse("clinical:ortho-print", args=[card.pk])).status_code == 200


def test_a_card_goes_to_the_recycle_bin_keeps_its_number_and_comes_back(
    doctor_client, doctor, django_capture_on_commit_callbacks
):
    from clinic import trash
    from clinic.services import object_restore

    patient = PatientFactory()
    first = new_card(doctor, patient)
    url = reverse("clinical:ortho-delete", args=[first.pk])
    assert doctor_client.get(url).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = doctor_client.post(url)
    assert response.status_code == 200
    assert f'data-ortho-card="{first.pk}"' not in response.content.decode()
    assert doctor_client.get(reverse("clinical:ortho-card", args=[first.pk])).status_code == 404
    deleted = OrthodonticCard.all_objects.get(pk=first.pk)
    assert deleted in trash.get_section("orthodontic-cards").deleted_for(doctor.user)
    # The next card does not take the deleted one's number, so a restore cannot collide.
    second = new_card(doctor, patient)
    assert (first.number, second.number) == (1, 2)
    texts = [timeline.render(e)[1] for e in PatientEvent.objects.filter(patient=patient)]
    assert "Orthodontic card moved to the recycle bin" in texts
    object_restore(obj=deleted, by=doctor.user)
    assert doctor_client.get(reverse("clinical:ortho-card", args=[first.pk])).status_code == 200


def test_the_search_line_finds_cards_by_text_number_date_and_doctor(doctor_client, doctor):
    patient = PatientFactory()
    first = new_card(doctor, patient)
    orthodontics.section_save(
        card=first, key="complaints", values={"text": "Скученность зубов"}, by=doctor.user
    )
    second = new_card(doctor, patient)
    orthodontics.section_save(
        card=second,
        key="diary",
        values={"on": "2026-01-05", "text": "Активация дуги"},
        by=doctor.user,
    )
    OrthodonticCard.objects.filter(pk=second.pk).update(opened_on=datetime.date(2025, 9, 1))
    url = reverse("clinical:ortho", args=[patient.pk])

    def found(query: str) -> set[int]:
        response = doctor_client.get(url, {"q": query}, **HTMX)
        assert response.status_code == 200
        html = response.content.decode()
        assert "data-ortho-new" not in html  # the list alone, the search line stays
        return {card.pk for card in (first, second) if f'data-ortho-card="{card.pk}"' in html}

    assert found("скученность") == {first.pk}
    assert found("ДУГИ") == {second.pk}  # a diary entry, case aside
    assert found("01.09.2025") == {second.pk}
    assert found(doctor.employee.last_name) == {first.pk, second.pk}
    assert found("") == {first.pk, second.pk}
    none = doctor_client.get(url, {"q": "брекеты <b>"}, **HTMX).content.decode()
    assert "data-ortho-no-match" in none and "&lt;b&gt;" in none and "<b>" not in none
    full = doctor_client.get(url, **HTMX).content.decode()
    assert "data-ortho-search" in full and "data-ortho-new" in full


def test_the_search_reads_the_same_queries_whatever_the_cards(doctor_client, doctor):
    patient = PatientFactory()
    new_card(doctor, patient)
    url = reverse("clinical:ortho", args=[patient.pk])

    def count() -> int:
        doctor_client.get(url, {"q": "визит"}, **HTMX)
        with CaptureQueriesContext(connection) as queries:
            doctor_client.get(url, {"q": "визит"}, **HTMX)
        return len(queries)

    few = count()
    for _ in range(4):
        _fill_everything(new_card(doctor, patient), doctor)
    assert count() == few
