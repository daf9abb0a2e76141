"""Reads of patient data, with their related rows fetched up front."""

import re

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from clinic.db import ByteOrder
from clinic.phones import phone_digits
from patients.models import Patient, PatientEvent

# Card numbers are short; a phone fragment needs at least this many digits to search by.
MIN_PHONE_DIGITS = 3
# A shorter first word is a surname's beginning: "ив" inside names would match half the book.
MIN_CONTAINED_WORD = 3


def normalize_name_query(text: str) -> list[str]:
    words = re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*", text.lower().replace("ё", "е"))
    return words[:4]


def search_condition(query: str) -> Q | None:
    """What a search box means: name parts, a phone fragment in any format, or a card number.

    Names: every word must occur in "last first middle" (trigram index); a short first word
    is a prefix of the last name (btree index). Phones: the digits occur in the main or
    home phone. Digits alone also match a card number exactly.
    """
    text = (query or "").strip()
    if not text:
        return None
    words = normalize_name_query(text)
    if not words:
        digits = phone_digits(text)
        if len(digits) < MIN_PHONE_DIGITS:
            return Q(card_number=int(digits)) if digits else Q(pk__in=[])
        condition = Q(search_phones__contains=digits)
        if len(digits) <= 9:
            condition |= Q(card_number=int(digits))
        return condition
    condition = Q()
    for index, word in enumerate(words):
        if index == 0 and len(word) < MIN_CONTAINED_WORD:
            condition &= Q(search_name__startswith=word)
        else:
            condition &= Q(search_name__contains=word)
    return condition


def ranked(queryset: QuerySet[Patient], query: str) -> QuerySet[Patient]:
    """Surnames that start with the first word come first (Иванов before …Ивановна)."""
    words = normalize_name_query(query)
    if not words:
        return queryset.order_by("search_name", "id")
    starts = Case(
        When(search_name__startswith=words[0], then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return queryset.annotate(rank=starts).order_by("rank", "search_name", "id")


def patient_search(query: str, *, limit: int = 10) -> list[Patient]:
    """The quick search's first ``limit`` cards: surnames starting with the first word, then
    the other matches, each part in name order.

    Two reads instead of one ranked sort: in byte order (``ByteOrder``: "C" on PostgreSQL),
    the prefix index returns the first names of a common prefix ("Иван…") without sorting
    tens of thousands of matches; the rest is read only when the prefix leaves room.
    """
    condition = search_condition(query)
    if condition is None:
        return []
    found = Patient.objects.filter(condition).alias(name_in_c=ByteOrder("search_name"))
    in_order = ("name_in_c", "id")
    words = normalize_name_query(query)
    if not words:
        return list(found.order_by(*in_order)[:limit])
    starting = Q(name_in_c__startswith=words[0])
    results: list[Patient] = list(found.filter(starting).order_by(*in_order)[:limit])
    if len(results) < limit and len(words[0]) >= MIN_CONTAINED_WORD:
        results += found.exclude(starting).order_by(*in_order)[: limit - len(results)]
    return results


def patients_for_list(queryset: QuerySet[Patient] | None = None) -> QuerySet[Patient]:
    queryset = queryset if queryset is not None else Patient.objects.all()
    return queryset.select_related(
        "attending_doctor", "coordinator", "branch", "marketing_channel", "patient_group"
    )


def patient_for_card(pk: int) -> Patient:
    return Patient.objects.select_related(
        "gender",
        "marketing_channel",
        "patient_group",
        "coordinator",
        "attending_doctor",
        "branch",
        "family",
        "portal_account",
        "created_by",
    ).get(pk=pk)


def family_members(patient: Patient) -> list[Patient]:
    if not patient.family_id:
        return []
    return list(
        Patient.objects.filter(family_id=patient.family_id)
        .exclude(pk=patient.pk)
        .order_by("birth_date", "first_name")
    )


def timeline_for(patient: Patient, *, limit: int = 50) -> list[PatientEvent]:
    return list(
        PatientEvent.objects.filter(patient=patient).order_by("-occurred_at", "-id")[:limit]
    )
