"""The placeholders every document may use: today, the patient and their legal
representative, the clinic, the branch and the doctor. The visit's are registered by the
calendar (``calendar_app/registrations.py``); plans and invoices add theirs the same way."""

import datetime

from django.utils.formats import date_format
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from clinic.phones import format_phone
from documents.context import DocumentContext
from documents.placeholders import Group, Placeholder, register, register_group
from patients.models import DocumentType
from patients.templatetags.patient_documents import snils

GENITIVE_MONTHS = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)


def short_date(day: datetime.date | None) -> str:
    return day.strftime("%d.%m.%Y") if day else ""


def long_date(day: datetime.date) -> str:
    """«26 ноября 2026 г.», as Russian documents date themselves; in English, 26 November 2026."""
    if (get_language() or "ru").startswith("en"):
        return date_format(day, "j F Y")
    return f"{day.day} {GENITIVE_MONTHS[day.month - 1]} {day.year} г."


for group in (
    Group("general", "Общее", "General", order=10),
    Group("patient", "Пациент", "Patient", order=20),
    Group("representative", "Законный представитель", "Legal representative", order=30),
    Group("clinic", "Клиника", "Clinic", order=40),
    Group("branch", "Филиал", "Branch", order=50),
    Group("doctor", "Врач", "Doctor", order=60),
):
    register_group(group)


def _add(key, group, label_ru, label_en, description, value, sample="", **kwargs) -> None:
    register(Placeholder(key, group, label_ru, label_en, description, value, sample, **kwargs))


# --- General ---------------------------------------------------------------------------

_add(
    "today",
    "general",
    "Дата",
    "Date",
    gettext_lazy("Today's date: 26.11.2026."),
    lambda ctx: short_date(ctx.today),
)
_add(
    "today_long",
    "general",
    "Дата прописью",
    "Date in words",
    gettext_lazy("Today's date with the month in words: 26 November 2026."),
    lambda ctx: long_date(ctx.today),
)

# --- Patient ---------------------------------------------------------------------------


def _passport(ctx: DocumentContext, field: str) -> str:
    patient = ctx.patient
    if patient is None or patient.document_type != DocumentType.PASSPORT:
        return ""
    value = getattr(patient, field)
    return short_date(value) if isinstance(value, datetime.date) else value


def _document_name(ctx: DocumentContext) -> str:
    patient = ctx.patient
    if patient is None:
        return ""
    if patient.document_type == DocumentType.OTHER:
        return patient.other_document
    return str(patient.get_document_type_display())


PATIENT = [
    (
        "fio",
        "ФИО",
        "Full name",
        gettext_lazy("The patient's full name."),
        lambda c: c.patient.full_name,
        "Иванова Анна Петровна",
    ),
    (
        "fio_short",
        "Фамилия И. О.",
        "Surname and initials",
        gettext_lazy("The patient's surname and initials: Иванова А. П."),
        lambda c: c.patient.short_name,
        "Иванова А. П.",
    ),
    (
        "birth_date",
        "Дата рождения",
        "Date of birth",
        gettext_lazy("The patient's date of birth."),
        lambda c: short_date(c.patient.birth_date),
        "17.05.1985",
    ),
    (
        "gender",
        "Пол",
        "Gender",
        gettext_lazy("The patient's gender."),
        lambda c: str(c.patient.gender or ""),
        "Женский",
    ),
    (
        "phone",
        "Телефон",
        "Phone",
        gettext_lazy("The patient's mobile phone."),
        lambda c: format_phone(c.patient.phone),
        "+7 912 345-67-89",
    ),
    (
        "email",
        "Email",
        "Email",
        gettext_lazy("The patient's email."),
        lambda c: c.patient.email,
        "ivanova@example.ru",
    ),
    (
        "address",
        "Адрес",
        "Address",
        gettext_lazy("The registration address, else the actual one."),
        lambda c: c.patient.registration_address or c.patient.actual_address,
        "г. Москва, ул. Ленина, д. 1, кв. 2",
    ),
    (
        "actual_address",
        "Фактический адрес",
        "Actual address",
        gettext_lazy("Where the patient lives."),
        lambda c: c.patient.actual_address,
        "г. Москва, ул. Ленина, д. 1, кв. 2",
    ),
    (
        "doc_name",
        "Документ",
        "Identity document",
        gettext_lazy(
            "The kind of identity document (a passport), or the document described on the card."
        ),
        _document_name,
        "Паспорт гражданина РФ",
    ),
    (
        "doc_series",
        "Серия документа",
        "Document series",
        gettext_lazy("The passport's series."),
        lambda c: _passport(c, "passport_series"),
        "4510",
    ),
    (
        "doc_number",
        "Номер документа",
        "Document number",
        gettext_lazy("The passport's number."),
        lambda c: _passport(c, "passport_number"),
        "123456",
    ),
    (
        "doc_issued_by",
        "Кем выдан",
        "Issued by",
        gettext_lazy("Who issued the passport."),
        lambda c: _passport(c, "passport_issued_by"),
        "ГУ МВД России по г. Москве",
    ),
    (
        "doc_issued_date",
        "Дата выдачи",
        "Issue date",
        gettext_lazy("When the passport was issued."),
        lambda c: _passport(c, "passport_issued_on"),
        "20.06.2015",
    ),
    (
        "doc_department_code",
        "Код подразделения",
        "Department code",
        gettext_lazy("The passport's department code: 770-001."),
        lambda c: _passport(c, "passport_department_code"),
        "770-001",
    ),
    (
        "snils",
        "СНИЛС",
        "SNILS",
        gettext_lazy("SNILS as printed: 123-456-789 01."),
        lambda c: snils(c.patient.snils),
        "112-233-445 95",
    ),
    (
        "inn",
        "ИНН",
        "INN",
        gettext_lazy("The patient's INN."),
        lambda c: c.patient.inn,
        "500100732259",
    ),
    (
        "oms_policy",
        "Полис ОМС",
        "OMS policy",
        gettext_lazy("The OMS policy number."),
        lambda c: c.patient.oms_policy,
        "7700000000000000",
    ),
    (
        "card_number",
        "Номер карты",
        "Card number",
        gettext_lazy("The number of the patient's card."),
        lambda c: str(c.patient.card_number),
        "100245",
    ),
]
for key, label_ru, label_en, description, value, sample in PATIENT:
    _add(key, "patient", label_ru, label_en, description, value, sample)

# --- Legal representative --------------------------------------------------------------


def _rep(field: str):
    def value(ctx: DocumentContext) -> str:
        representative = ctx.representative
        if representative is None:
            return ""
        if field == "relation":
            return str(representative.get_relation_display()).lower()
        if field == "phone":
            return format_phone(representative.phone)
        raw = getattr(representative, field)
        return short_date(raw) if isinstance(raw, datetime.date) else raw

    return value


REPRESENTATIVE = [
    (
        "rep_fio",
        "ФИО представителя",
        "Representative's name",
        gettext_lazy("The legal representative's full name (of a child or a ward)."),
        "full_name",
        "Иванов Пётр Сергеевич",
    ),
    (
        "rep_relation",
        "Кем приходится",
        "Relation",
        gettext_lazy("Who the representative is to the patient: mother, guardian..."),
        "relation",
        "отец",
    ),
    (
        "rep_birth_date",
        "Дата рождения представителя",
        "Representative's date of birth",
        gettext_lazy("The representative's date of birth."),
        "birth_date",
        "02.03.1980",
    ),
    (
        "rep_phone",
        "Телефон представителя",
        "Representative's phone",
        gettext_lazy("The representative's phone."),
        "phone",
        "+7 916 555-00-11",
    ),
    (
        "rep_address",
        "Адрес представителя",
        "Representative's address",
        gettext_lazy("The representative's address."),
        "address",
        "г. Москва, ул. Ленина, д. 1, кв. 2",
    ),
    (
        "rep_doc_series",
        "Серия паспорта представителя",
        "Representative's passport series",
        gettext_lazy("The representative's passport series."),
        "passport_series",
        "4505",
    ),
    (
        "rep_doc_number",
        "Номер паспорта представителя",
        "Representative's passport number",
        gettext_lazy("The representative's passport number."),
        "passport_number",
        "654321",
    ),
    (
        "rep_doc_issued_by",
        "Кем выдан паспорт представителя",
        "Representative's passport issued by",
        gettext_lazy("Who issued the representative's passport."),
        "passport_issued_by",
        "ОВД района Хамовники г. Москвы",
    ),
    (
        "rep_doc_issued_date",
        "Дата выдачи паспорта представителя",
        "Representative's passport issue date",
        gettext_lazy("When the representative's passport was issued."),
        "passport_issued_on",
        "15.03.2005",
    ),
]
for key, label_ru, label_en, description, field, sample in REPRESENTATIVE:
    _add(key, "representative", label_ru, label_en, description, _rep(field), sample)

# --- Clinic ----------------------------------------------------------------------------


def _bank(ctx: DocumentContext) -> str:
    org = ctx.organization
    parts = [
        org.bank_name,
        org.bank_bik and _("BIK %(number)s") % {"number": org.bank_bik},
        org.bank_account and _("account %(number)s") % {"number": org.bank_account},
        org.bank_corr_account
        and _("correspondent account %(number)s") % {"number": org.bank_corr_account},
    ]
    return ", ".join(part for part in parts if part)


CLINIC = [
    (
        "company_name",
        "Наименование организации",
        "Company name",
        gettext_lazy("The legal name, else the clinic's name."),
        lambda c: c.organization.legal_name or c.organization.name,
    ),
    (
        "company_short_name",
        "Название клиники",
        "Clinic name",
        gettext_lazy("The clinic's name as patients know it."),
        lambda c: c.organization.name,
    ),
    (
        "company_legal_address",
        "Юридический адрес",
        "Legal address",
        gettext_lazy("The organization's legal address."),
        lambda c: c.organization.legal_address,
    ),
    (
        "company_inn",
        "ИНН организации",
        "Company INN",
        gettext_lazy("The organization's INN."),
        lambda c: c.organization.inn,
    ),
    (
        "company_kpp",
        "КПП",
        "KPP",
        gettext_lazy("The organization's KPP."),
        lambda c: c.organization.kpp,
    ),
    (
        "company_ogrn",
        "ОГРН",
        "OGRN",
        gettext_lazy("The organization's OGRN."),
        lambda c: c.organization.ogrn,
    ),
    (
        "company_phone",
        "Телефон организации",
        "Company phone",
        gettext_lazy("The organization's phone."),
        lambda c: format_phone(c.organization.phone),
    ),
    (
        "company_email",
        "Email организации",
        "Company email",
        gettext_lazy("The organization's email."),
        lambda c: c.organization.email,
    ),
    (
        "company_website",
        "Сайт",
        "Website",
        gettext_lazy("The organization's website."),
        lambda c: c.organization.website,
    ),
    (
        "company_director",
        "Руководитель",
        "Director",
        gettext_lazy("Who signs for the organization."),
        lambda c: c.organization.director,
    ),
    (
        "company_bank",
        "Банковские реквизиты",
        "Bank details",
        gettext_lazy("Bank, BIK and accounts in one line."),
        _bank,
    ),
    (
        "license_number",
        "Номер лицензии",
        "Licence number",
        gettext_lazy("The medical licence's number."),
        lambda c: c.organization.medical_license,
    ),
    (
        "license_date",
        "Дата лицензии",
        "Licence date",
        gettext_lazy("When the medical licence was issued."),
        lambda c: short_date(c.organization.license_issued_on),
    ),
    (
        "license_issued_by",
        "Кем выдана лицензия",
        "Licence issued by",
        gettext_lazy("Who issued the medical licence."),
        lambda c: c.organization.license_issued_by,
    ),
]
for key, label_ru, label_en, description, value in CLINIC:
    _add(key, "clinic", label_ru, label_en, description, value)

# --- Branch and doctor -----------------------------------------------------------------

BRANCH = [
    (
        "branch_name",
        "Филиал",
        "Branch",
        gettext_lazy("The branch: the visit's, else the one you work in now."),
        lambda c: c.branch.name if c.branch else "",
    ),
    (
        "branch_address",
        "Адрес филиала",
        "Branch address",
        gettext_lazy("The branch's address."),
        lambda c: c.branch.address if c.branch else "",
    ),
    (
        "branch_phone",
        "Телефон филиала",
        "Branch phone",
        gettext_lazy("The branch's phone."),
        lambda c: format_phone(c.branch.phone) if c.branch else "",
    ),
]
for key, label_ru, label_en, description, value in BRANCH:
    _add(key, "branch", label_ru, label_en, description, value)


def _position(ctx: DocumentContext) -> str:
    if ctx.doctor is None:
        return ""
    return ", ".join(str(p).lower() for p in ctx.doctor.professions.all())


_add(
    "doctor_fio",
    "doctor",
    "ФИО врача",
    "Doctor's name",
    gettext_lazy("The visit's doctor, else the patient's attending doctor."),
    lambda c: c.doctor.full_name if c.doctor else "",
    sample="Смирнова Анна Викторовна",
)
_add(
    "doctor_position",
    "doctor",
    "Должность врача",
    "Doctor's position",
    gettext_lazy("The doctor's professions: therapist, surgeon..."),
    _position,
    sample="терапевт",
)
