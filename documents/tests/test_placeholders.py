import contextlib
import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils import translation

from clinic.models import Organization
from clinic.tests.factories import EmployeeFactory, ProfessionFactory
from documents import placeholders
from documents.context import build_context, sample_context
from documents.placeholders import BLANK_LINE, Group, Placeholder
from patients.models import DocumentType, LegalRepresentative
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

# Every key the default texts use (issue 12 and the brief of the texts' author).
EXPECTED_KEYS = [
    "today",
    "today_long",
    "fio",
    "fio_short",
    "birth_date",
    "gender",
    "phone",
    "email",
    "address",
    "actual_address",
    "doc_name",
    "doc_series",
    "doc_number",
    "doc_issued_by",
    "doc_issued_date",
    "doc_department_code",
    "snils",
    "inn",
    "oms_policy",
    "card_number",
    "rep_fio",
    "rep_relation",
    "rep_birth_date",
    "rep_phone",
    "rep_address",
    "rep_doc_series",
    "rep_doc_number",
    "rep_doc_issued_by",
    "rep_doc_issued_date",
    "company_name",
    "company_short_name",
    "company_legal_address",
    "company_inn",
    "company_kpp",
    "company_ogrn",
    "company_phone",
    "company_email",
    "company_website",
    "company_director",
    "company_bank",
    "license_number",
    "license_date",
    "license_issued_by",
    "branch_name",
    "branch_address",
    "branch_phone",
    "doctor_fio",
    "doctor_position",
    "visit_date",
    "visit_time",
    "visit_services",
    "visit_total",
]


@pytest.fixture
def organization():
    organization = Organization.objects.get_or_create(pk=1)[0]
    for name, value in {
        "name": "Odonta",
        "legal_name": "ООО «Одонта»",
        "inn": "7707083893",
        "kpp": "770701001",
        "ogrn": "1027700132195",
        "medical_license": "Л041-01137-77/00368412",
        "license_issued_on": datetime.date(2021, 3, 12),
        "license_issued_by": "Департамент здравоохранения города Москвы",
        "legal_address": "125009, г. Москва, ул. Тверская, д. 12",
        "phone": "+74951234567",
        "director": "Орлов В. Г.",
        "bank_name": "ПАО Сбербанк",
        "bank_bik": "044525225",
        "bank_account": "40702810938000012345",
    }.items():
        setattr(organization, name, value)
    organization.save()
    Organization.forget_cached()
    return organization


def adult(branch):
    doctor = EmployeeFactory(
        last_name="Смирнова",
        first_name="Анна",
        middle_name="Викторовна",
        professions=[ProfessionFactory(name="Терапевт")],
    )
    return PatientFactory(
        last_name="Петрова",
        first_name="Мария",
        middle_name="Ивановна",
        birth_date=datetime.date(1985, 5, 17),
        phone="+79123456789",
        email="petrova@example.ru",
        passport_series="4510",
        passport_number="123456",
        passport_issued_by="ГУ МВД России по г. Москве",
        passport_issued_on=datetime.date(2015, 6, 20),
        passport_department_code="770-001",
        snils="11223344595",
        registration_address="г. Москва, ул. Ленина, д. 1",
        actual_address="г. Москва, ул. Мира, д. 5",
        attending_doctor=doctor,
        branch=branch,
    )


@contextlib.contextmanager
def registered(group: Group, placeholder: Placeholder):
    """A group and a placeholder for one test, as a later app would register them."""
    placeholders.register_group(group)
    placeholders.register(placeholder)
    try:
        yield placeholder
    finally:
        placeholders._placeholders.pop(placeholder.key)
        placeholders._groups.pop(group.key)


def filled(body: str, patient, **kwargs) -> placeholders.Filled:
    return placeholders.fill(body, build_context(patient, **kwargs))


# --- The registry --------------------------------------------------------------------------


def test_every_placeholder_the_default_texts_use_is_registered_with_labels_and_a_description():
    for key in EXPECTED_KEYS:
        placeholder = placeholders.get(key)
        assert placeholder is not None, key
        assert placeholder.label_ru and placeholder.label_en and str(placeholder.description)
    groups = [group.key for group, _members in placeholders.grouped()]
    assert groups[:6] == ["general", "patient", "representative", "clinic", "branch", "doctor"]
    assert "visit" in groups  # registered by the calendar, from its side


def test_a_label_follows_the_interface_language():
    fio = placeholders.get("fio")
    with translation.override("ru"):
        assert fio.label == "ФИО"
    with translation.override("en"):
        assert fio.label == "Full name"


def test_registering_a_bad_key_or_a_group_nobody_registered_is_refused():
    with pytest.raises(ImproperlyConfigured):
        placeholders.register(Placeholder("Bad-Key", "patient", "x", "x", "x", lambda c: ""))
    with pytest.raises(ImproperlyConfigured, match="group"):
        placeholders.register(Placeholder("invoice_total", "invoice", "x", "x", "x", lambda c: ""))


def test_a_later_app_registers_its_group_and_placeholders_in_two_calls():
    group = Group("plan_test", "План", "Plan", order=80)
    total = Placeholder(
        "plan_test_total",
        "plan_test",
        "Сумма плана",
        "Plan total",
        "The plan's total.",
        lambda ctx: ctx.subject("plan")["total"],
    )
    with registered(group, total):
        patient = PatientFactory()
        context = build_context(patient, subjects={"plan": {"total": "12 500,00"}})
        assert placeholders.fill("Итого {{plan_test_total}}", context).html == "Итого 12 500,00"
        assert (group, [total]) in placeholders.grouped()


# --- Values --------------------------------------------------------------------------------


def test_an_adults_card_fills_the_patient_clinic_branch_and_doctor(organization, branch):
    patient = adult(branch)
    body = (
        "{{fio}}|{{fio_short}}|{{birth_date}}|{{phone}}|{{email}}|{{address}}|{{actual_address}}|"
        "{{doc_name}}|{{doc_series}} {{doc_number}}|{{doc_issued_by}}|{{doc_issued_date}}|"
        "{{doc_department_code}}|{{snils}}|{{card_number}}|{{company_name}}|"
        "{{company_short_name}}|{{license_number}}|{{license_date}}|{{license_issued_by}}|"
        "{{company_bank}}|{{branch_name}}|{{doctor_fio}}|{{doctor_position}}"
    )
    with translation.override("ru"):  # a Russian clinic's papers
        result = filled(body, patient, branch=branch)
        passport = str(DocumentType.PASSPORT.label)
    assert result.html.split("|") == [
        "Петрова Мария Ивановна",
        "Петрова М. И.",
        "17.05.1985",
        "+7 912 345-67-89",
        "petrova@example.ru",
        "г. Москва, ул. Ленина, д. 1",
        "г. Москва, ул. Мира, д. 5",
        passport,
        "4510 123456",
        "ГУ МВД России по г. Москве",
        "20.06.2015",
        "770-001",
        "112-233-445 95",
        str(patient.card_number),
        "ООО «Одонта»",
        "Odonta",
        "Л041-01137-77/00368412",
        "12.03.2021",
        "Департамент здравоохранения города Москвы",
        "ПАО Сбербанк, БИК 044525225, р/с 40702810938000012345",
        branch.name,
        "Смирнова Анна Викторовна",
        "терапевт",
    ]
    assert result.missing == []


def test_today_is_the_branchs_date_with_the_month_in_words(time_machine, branch):
    time_machine.move_to(datetime.datetime(2026, 11, 26, 12, tzinfo=datetime.UTC))
    with translation.override("ru"):
        result = filled("{{today}} · {{today_long}}", PatientFactory(), branch=branch)
    assert result.html == "26.11.2026 · 26 ноября 2026 г."


def test_a_childs_documents_carry_the_legal_representative(branch):
    child = PatientFactory(
        last_name="Петров", first_name="Миша", birth_date=datetime.date(2018, 1, 2)
    )
    LegalRepresentative.objects.create(
        patient=child,
        relation="mother",
        last_name="Петрова",
        first_name="Мария",
        middle_name="Ивановна",
        birth_date=datetime.date(1985, 5, 17),
        phone="+79123456789",
        address="г. Москва, ул. Мира, д. 5",
        passport_series="4510",
        passport_number="123456",
        passport_issued_by="ГУ МВД России по г. Москве",
        passport_issued_on=datetime.date(2015, 6, 20),
    )
    body = (
        "{{rep_fio}}|{{rep_relation}}|{{rep_birth_date}}|{{rep_phone}}|{{rep_address}}|"
        "{{rep_doc_series}} {{rep_doc_number}}|{{rep_doc_issued_by}}|{{rep_doc_issued_date}}|"
        "{{fio}}"
    )
    with translation.override("ru"):
        result = filled(body, child, branch=branch)
    assert result.html.split("|") == [
        "Петрова Мария Ивановна",
        "мать",
        "17.05.1985",
        "+7 912 345-67-89",
        "г. Москва, ул. Мира, д. 5",
        "4510 123456",
        "ГУ МВД России по г. Москве",
        "20.06.2015",
        "Петров Миша Иванович",
    ]


def test_a_missing_value_prints_as_a_line_to_fill_and_is_listed(branch):
    patient = PatientFactory(birth_date=None, email="", snils="")
    result = filled("Email {{email}}, СНИЛС {{snils}}, снова {{email}}, {{rep_fio}}.", patient)
    blank = f'<span class="doc-blank">{BLANK_LINE}</span>'
    assert result.html == f"Email {blank}, СНИЛС {blank}, снова {blank}, {blank}."
    assert [p.key for p in result.missing] == ["email", "snils", "rep_fio"]


def test_the_preview_marks_the_missing_values():
    patient = PatientFactory(email="")
    context = build_context(patient)
    result = placeholders.fill("{{email}}", context, mark_missing=True)
    assert 'data-missing="email"' in result.html and "doc-missing" in result.html


def test_a_foreign_document_prints_as_described_without_passport_fields():
    patient = PatientFactory(
        document_type=DocumentType.OTHER,
        other_document="Паспорт Республики Казахстан N1234567",
        passport_series="4510",
    )
    result = filled("{{doc_name}}|{{doc_series}}", patient)
    assert result.html.startswith("Паспорт Республики Казахстан N1234567|<span")


def test_values_are_escaped_and_nothing_is_evaluated():
    patient = PatientFactory(last_name="<script>alert(1)</script>", first_name="{{email}}")
    body = "{{fio}} {{ fio }} {{ fio|upper }} {% if 1 %}x{% endif %} {{__class__}}"
    result = filled(body, patient)
    assert "<script>" not in result.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{email}}" in result.html
    # Only the registry's keys are replaced: the rest stays text, evaluated by nobody.
    assert "{{ fio|upper }} {% if 1 %}x{% endif %} {{__class__}}" in result.html


def test_a_value_is_computed_once_per_printing():
    calls = []
    counted = Placeholder(
        "count_test", "count_test", "Т", "T", "", lambda c: calls.append(1) or "x"
    )
    with registered(Group("count_test", "Т", "T"), counted):
        context = build_context(PatientFactory())
        placeholders.fill("{{count_test}} {{count_test}}", context)
        placeholders.fill("{{count_test}}", context)
        assert calls == [1]


def test_the_sample_context_prints_samples_and_the_clinics_own_data(organization):
    result = placeholders.fill("{{fio}} · {{company_name}} · {{visit_date}}", sample_context())
    assert result.html == "Иванова Анна Петровна · ООО «Одонта» · 01.12.2026"


# --- Checking a text ---------------------------------------------------------------------


def test_an_unknown_placeholder_is_refused_with_its_name():
    with pytest.raises(ValidationError) as error:
        placeholders.normalize("<p>{{fio}} {{passport}} {{ fio_full }} {{passport}}</p>")
    assert "{{passport}}, {{fio_full}}" in error.value.messages[0]


def test_spaces_and_tags_an_editor_puts_inside_braces_are_normalised():
    text = "<p>{{ fio }} {{<strong>birth_date</strong>}} {{&nbsp;phone }}</p>"
    assert placeholders.normalize(text) == "<p>{{fio}} {{birth_date}} {{phone}}</p>"
    assert [p.key for p in placeholders.used_in("{{fio}} {{phone}} {{fio}}")] == ["fio", "phone"]
