"""Reads of patient data, with their related rows fetched up front."""

import datetime
import re
from datetime import tzinfo

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from clinic.db import ByteOrder
from clinic.lists import Concatenation
from clinic.phones import phone_digits
from patients.models import Patient, PatientEvent
from patients.next_visit import next_visit_start

# Card numbers are short; a phone fragment needs at least this many digits to search by.
MIN_PHONE_DIGITS = 3
# A shorter first word is a surname's beginning: "ив" inside names would match half the book.
MIN_CONTAINED_WORD = 3
# The quick search ranks at most this many matches of each part (see ``candidates``).
SEARCH_CANDIDATES = 200
# The dropdown counts matches up to this many and says "more than" past it.
SEARCH_COUNT_CAP = 100
# The list counts up to this many and ranks at most this many of the other matches.
LIST_CANDIDATES = 1000


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


def ranked_in_parts(queryset: QuerySet[Patient], query: str) -> QuerySet[Patient] | Concatenation:
    """``ranked`` for a page of the list: the surnames that start with the first word in
    byte order (the prefix index, walked and stopped), then the other matches in byte order
    among at most ``LIST_CANDIDATES`` of them (``NameOrderedCandidates``). Past that bound
    the list says that more than ``LIST_CANDIDATES`` match, and the user narrows the search."""
    words = normalize_name_query(query)
    if not words:
        return queryset.order_by("search_name", "id")
    in_order = queryset.alias(name_in_c=ByteOrder("search_name"))
    starting = Q(name_in_c__startswith=words[0])
    first = in_order.filter(starting).order_by("name_in_c", "id")
    if len(words[0]) < MIN_CONTAINED_WORD:
        return first  # every match starts with the word
    rest = NameOrderedCandidates(in_order.exclude(starting), bound=LIST_CANDIDATES)
    return Concatenation(first, rest)


def candidate_ids(queryset: QuerySet[Patient], *, bound: int = SEARCH_CANDIDATES) -> list[int]:
    """At most ``bound`` ids of ``queryset``'s matches, in no particular order, to rank.

    The trigram index has no order: ranking every match of a fragment that much of the
    register shares ("ихайл") sorts (or walks the name index past) hundreds of thousands of
    rows for ten lines. Taking a bounded set first makes a common fragment cost what a rare
    one does; past the bound, the lines are the best of the candidates, and the screen says
    that more match. The ids are read first and the rows then by primary key: a bounded
    subquery inside the ranking query lets the planner join it against the whole table.
    """
    # In primary-key order (not the model's, which would sort every match): the database
    # walks the key and stops at ``bound``; left free it may walk the name index, which
    # reads every row before the first match where the matches cluster under one letter.
    return list(queryset.order_by("pk").values_list("pk", flat=True)[:bound])


class NameOrderedCandidates:
    """At most ``bound`` matches of ``queryset`` in name (byte) order, sorted in Python from
    their names, then the page's rows read by primary key with the list's related rows.
    A part of a ``Concatenation``."""

    def __init__(self, queryset: QuerySet[Patient], *, bound: int) -> None:
        self.queryset = queryset
        self.bound = bound
        self._ids: list[int] | None = None

    def ids(self) -> list[int]:
        if self._ids is None:
            # The first ``bound`` by primary key (see ``candidate_ids``), ordered here.
            keyed = self.queryset.order_by("pk").values_list("search_name", "pk")[: self.bound]
            self._ids = [pk for _name, pk in sorted(keyed, key=lambda r: (r[0].encode(), r[1]))]
        return self._ids

    def __getitem__(self, index: slice) -> list[Patient]:
        page = self.ids()[index]
        rows = patients_for_list(Patient.objects.filter(pk__in=page)).in_bulk()
        return [rows[pk] for pk in page if pk in rows]

    def count_up_to(self, limit: int) -> int:
        return min(len(self.ids()), limit)


def phone_ending(digits: str) -> Q:
    """The number (main or home) ends with the digits, or the card number is them: what a
    caller's last digits or a card number mean, ranked before the digits merely inside."""
    # search_phones is "<main> <home>", digits only: a main number ends before the space.
    condition = Q(search_phones__contains=f"{digits} ") | Q(search_phones__endswith=digits)
    if len(digits) <= 9:
        condition |= Q(card_number=int(digits))
    return condition


def likely_on_the_line(ids: list[int], *, zone: tzinfo | None = None) -> QuerySet[Patient]:
    """A visit today first, then the soonest upcoming visits, then the latest activity,
    then name order: among the cards that share a number's last digits, the caller.
    "Today" is the day in ``zone`` (the front desk's branch), else in the project's zone."""
    zone = zone or timezone.get_default_timezone()
    today = timezone.localdate(timezone=zone)
    since = datetime.datetime.combine(today, datetime.time(), tzinfo=zone)
    return (
        Patient.objects.filter(pk__in=ids)
        .annotate(next_visit=next_visit_start(since))
        .order_by(
            F("next_visit").asc(nulls_last=True),
            F("last_activity_at").desc(nulls_last=True),
            ByteOrder("search_name"),
            "id",
        )
    )


def patient_search(query: str, *, limit: int = 10, zone: tzinfo | None = None) -> list[Patient]:
    """The quick search's first ``limit`` cards (at most ``SEARCH_CANDIDATES``).

    Names: surnames starting with the first word, in byte order (``ByteOrder``: "C" on
    PostgreSQL), read from the prefix index in order and stopped at ``limit``; then, if
    they leave room, the other matches in name order among a bounded set of candidates.
    Digits: numbers that end with them (and the card number) before numbers that contain
    them, each part ranked by ``likely_on_the_line`` among a bounded set of candidates.
    """
    condition = search_condition(query)
    if condition is None:
        return []
    limit = min(limit, SEARCH_CANDIDATES)
    found = Patient.objects.filter(condition).alias(name_in_c=ByteOrder("search_name"))
    words = normalize_name_query(query)
    if not words:
        digits = phone_digits(query)
        if len(digits) < MIN_PHONE_DIGITS:
            return list(found.order_by("name_in_c", "id")[:limit])
        ending = phone_ending(digits)
        results = list(likely_on_the_line(candidate_ids(found.filter(ending)), zone=zone)[:limit])
        if len(results) < limit:
            rest = likely_on_the_line(candidate_ids(found.exclude(ending)), zone=zone)
            results += rest[: limit - len(results)]
        return results
    starting = Q(name_in_c__startswith=words[0])
    results = list(found.filter(starting).order_by("name_in_c", "id")[:limit])
    if len(results) < limit and len(words[0]) >= MIN_CONTAINED_WORD:
        others = NameOrderedCandidates(found.exclude(starting), bound=SEARCH_CANDIDATES)
        results += others[: limit - len(results)]
    return results


def patient_search_count(query: str, *, cap: int = SEARCH_COUNT_CAP) -> int:
    """How many cards match, counted up to ``cap + 1``: past the cap, "more than ``cap``"."""
    condition = search_condition(query)
    if condition is None:
        return 0
    # In primary-key order, as ``candidate_ids`` reads (left free, the count may walk the
    # name index past every row before the first match of a fragment inside a word).
    return Patient.objects.filter(condition).order_by("pk")[: cap + 1].count()


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
        "representative",
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


def timeline_for(
    patient: Patient, user, *, kind: str | None = None, offset: int = 0, limit: int = 50
) -> tuple[list[PatientEvent], bool]:
    """A page of the patient's events the user may see (of ``kind``, if given), newest
    first, and whether there are more."""
    from patients import timeline

    events = timeline.visible_to(PatientEvent.objects.filter(patient=patient), user, kind)
    page = list(events.order_by("-occurred_at", "-id")[offset : offset + limit + 1])
    return page[:limit], len(page) > limit
