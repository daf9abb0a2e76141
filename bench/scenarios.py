"""The measured scenarios: what a request looks like, which parameters vary, the target, and
the database floor (the minimal SQL returning the same data, run straight with psycopg).

A later module adds its screens by appending ``Scenario`` objects to ``SCENARIOS`` (an
invoice, a payment, the dashboard): ``params`` draws varied parameters, ``call`` makes the
request through the logged-in client, ``floor`` runs the minimal SQL for one parameter.
"""

import datetime
import json
import random
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from harness import Client

# The calendar's overlap queries may start their index range 12 hours before the window:
# the booking service refuses longer visits and shifts (calendar_app.services).
LONGEST = datetime.timedelta(hours=12)


@dataclass
class Context:
    """What parameters are drawn from: the biggest branch, a sample of live patients."""

    db: psycopg.Connection
    client: Client
    rng: random.Random
    branch_id: int
    branch_name: str
    zone: zoneinfo.ZoneInfo
    chairs: list[int]
    doctors: list[int]
    patients: list[tuple[int, str, str, str]]  # id, last name, first name, phone
    services: list[tuple[int, str]]  # id, price
    user_id: int
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def today(self) -> datetime.date:
        return datetime.datetime.now(self.zone).date()

    def day_bounds(
        self, day: datetime.date, days: int = 1
    ) -> tuple[datetime.datetime, datetime.datetime]:
        start = datetime.datetime.combine(day, datetime.time(), self.zone)
        end = datetime.datetime.combine(
            day + datetime.timedelta(days=days), datetime.time(), self.zone
        )
        return start, end


@dataclass
class Scenario:
    name: str
    title: str
    target_ms: float
    params: Callable[[Context, int], list[Any]]
    call: Callable[[Client, Any], httpx.Response]
    floor: Callable[[psycopg.Connection, Any], Any]
    # "read" or "write"; the app/floor target applies to reads. "baseline": the bare request,
    # measured for the other reads' second ratio.
    kind: str = "read"
    expect: tuple[int, ...] = (200,)
    note: str = ""
    # A quality measure besides the time: whether a response is what it should be for its
    # parameter (the owner of the digits among the first ten), and the share to reach.
    quality: Callable[[Any, httpx.Response], bool] | None = None
    quality_title: str = ""
    quality_target: float = 0.0
    # For a write: take back what it wrote, so that the next run finds the same room.
    cleanup: Callable[[psycopg.Connection, list[Any]], None] | None = None


def load_context(db: psycopg.Connection, client: Client, seed: int) -> Context:
    """The biggest branch (the one the issue calls "a 20-chair branch" at size L)."""
    branch_id, name, zone, position = db.execute(
        "SELECT b.id, b.name, b.time_zone, b.position FROM clinic_branch b "
        "JOIN clinic_chair c ON c.branch_id = b.id AND c.deleted_at IS NULL "
        "WHERE b.deleted_at IS NULL GROUP BY b.id ORDER BY count(*) DESC, b.position LIMIT 1"
    ).fetchone()
    chairs = [r[0] for r in db.execute(
        "SELECT id FROM clinic_chair WHERE branch_id = %s AND deleted_at IS NULL ORDER BY id",
        [branch_id],
    )]  # fmt: skip
    doctors = [r[0] for r in db.execute(
        "SELECT e.id FROM clinic_employee e JOIN clinic_employee_branches eb "
        "ON eb.employee_id = e.id WHERE eb.branch_id = %s AND e.kind = 'doctor' "
        "AND e.deleted_at IS NULL ORDER BY e.id",
        [branch_id],
    )]  # fmt: skip
    rng = random.Random(seed)
    patients = db.execute(
        "SELECT id, last_name, first_name, phone FROM patients_patient "
        "TABLESAMPLE BERNOULLI (5) REPEATABLE (%s) WHERE deleted_at IS NULL LIMIT 20000",
        [seed],
    ).fetchall()
    services = [(r[0], str(r[1])) for r in db.execute(
        "SELECT id, price FROM pricelist_service "
        "WHERE deleted_at IS NULL AND duration_minutes <= 30"
    )]  # fmt: skip
    user_id = db.execute(
        "SELECT id FROM clinic_user WHERE username = %s", [f"registrar{position}"]
    ).fetchone()[0]
    return Context(
        db=db,
        client=client,
        rng=rng,
        branch_id=branch_id,
        branch_name=name,
        zone=zoneinfo.ZoneInfo(zone),
        chairs=chairs,
        doctors=doctors,
        patients=patients,
        services=services,
        user_id=user_id,
    )


def registrar_of(db: psycopg.Connection, branch_id: int) -> str:
    position = db.execute("SELECT position FROM clinic_branch WHERE id = %s", [branch_id])
    return f"registrar{position.fetchone()[0]}"


# --- Patient search -------------------------------------------------------------------

NAME_WORDS = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def name_queries(ctx: Context, count: int) -> list[str]:
    """What a front desk types: a surname's first letters, sometimes a first name's too."""
    queries = []
    for _ in range(count):
        _pk, last, first, _phone = ctx.rng.choice(ctx.patients)
        query = last[: ctx.rng.randint(3, min(7, len(last)))]
        if ctx.rng.random() < 0.3:
            query += " " + first[: ctx.rng.randint(2, 3)]
        queries.append(query if ctx.rng.random() < 0.5 else query.lower())
    return queries


def phone_queries(ctx: Context, count: int) -> list[str]:
    """The last four digits, seven digits from the middle, or the whole number as typed."""
    queries = []
    for _ in range(count):
        digits = ctx.rng.choice(ctx.patients)[3][2:]  # without +7
        roll = ctx.rng.random()
        if roll < 0.4:
            queries.append(digits[-4:])
        elif roll < 0.7:
            start = ctx.rng.randint(0, len(digits) - 7)
            queries.append(digits[start : start + 7])
        else:
            queries.append(f"8 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}")
    return queries


@dataclass(frozen=True)
class SearchSQL:
    """The condition and ORDER BY of ``patients.selectors.search_condition``/``ranked`` (the
    list's order; the quick search reads in two steps, see ``floor_quick_search``)."""

    where: str
    where_params: list[Any]
    order: str
    order_params: list[Any]


def search_sql(query: str) -> SearchSQL:
    words = NAME_WORDS.findall(query.lower().replace("ё", "е"))[:4]
    if words:
        parts, params = [], []
        for index, word in enumerate(words):
            parts.append("search_name LIKE %s")
            params.append(f"{word}%" if index == 0 and len(word) < 3 else f"%{word}%")
        order = "search_name LIKE %s DESC, search_name, p.id"
        return SearchSQL(" AND ".join(parts), params, order, [f"{words[0]}%"])
    digits = re.sub(r"\D", "", query)
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    if len(digits) <= 9:
        return SearchSQL(
            "(search_phones LIKE %s OR card_number = %s)",
            [f"%{digits}%", int(digits)],
            "search_name, p.id",
            [],
        )
    return SearchSQL("search_phones LIKE %s", [f"%{digits}%"], "search_name, p.id", [])


def floor_quick_search(db: psycopg.Connection, query: str) -> Any:
    """The reads of ``patients.selectors.patient_search``: the names that start with the first
    word, in byte order, then (if fewer than ten) the other matches."""
    search = search_sql(query)
    select = (
        "SELECT p.id, card_number, last_name, first_name, middle_name, phone, birth_date "
        f"FROM patients_patient p WHERE deleted_at IS NULL AND {search.where} "
    )
    in_order = 'ORDER BY search_name COLLATE "C", p.id LIMIT %s'
    if not search.order_params:
        return db.execute(select + in_order, [*search.where_params, 10], prepare=True).fetchall()
    starting = 'search_name COLLATE "C" LIKE %s'
    rows = db.execute(
        f"{select} AND {starting} {in_order}",
        [*search.where_params, *search.order_params, 10],
        prepare=True,
    ).fetchall()
    first_word = search.order_params[0].rstrip("%")
    if len(rows) < 10 and len(first_word) >= 3:
        rows += db.execute(
            f"{select} AND NOT {starting} {in_order}",
            [*search.where_params, *search.order_params, 10 - len(rows)],
            prepare=True,
        ).fetchall()
    return rows


# Fragments inside a first name or patronymic that very many cards share.
INNER_FRAGMENTS = ["ихайл", "лексан", "ладимир", "ергеев", "ндреев", "митри"]


def fragment_queries(ctx: Context, count: int) -> list[str]:
    return [ctx.rng.choice(INNER_FRAGMENTS) for _ in range(count)]


def common_surname_queries(ctx: Context, count: int) -> list[str]:
    """The issue's "Иван": the most common surnames' prefix, as typed or in lower case."""
    return [ctx.rng.choice(["Иван", "иван"]) for _ in range(count)]


# A quick search ranks at most this many candidates of a part (patients.selectors).
SEARCH_CANDIDATES = 200
NEXT_VISIT = (
    "(SELECT a.start FROM calendar_app_appointment a WHERE a.patient_id = p.id "
    "AND a.deleted_at IS NULL AND a.status NOT IN ('cancelled', 'no_show') "
    "AND a.start >= date_trunc('day', now()) ORDER BY a.start LIMIT 1)"
)
QUICK_COLUMNS = "p.id, card_number, last_name, first_name, middle_name, phone, birth_date"


def floor_bounded_quick_search(db: psycopg.Connection, query: str) -> Any:
    """The reads of ``patients.selectors.patient_search`` since the ranking: names, the
    prefix in index order, then the others ranked among 200 candidates; digits, the numbers
    ending with them, then those containing them, each ranked among 200 candidates by the
    next visit and the last activity."""
    search = search_sql(query)
    if search.order_params:
        starting = 'search_name COLLATE "C" LIKE %s'
        select = f"SELECT {QUICK_COLUMNS} FROM patients_patient p WHERE deleted_at IS NULL "
        rows = db.execute(
            f'{select} AND {search.where} AND {starting} ORDER BY search_name COLLATE "C", p.id '
            "LIMIT 10",
            [*search.where_params, *search.order_params],
            prepare=True,
        ).fetchall()
        if len(rows) < 10 and len(search.order_params[0]) > 3:
            rows += db.execute(
                f"{select} AND p.id IN (SELECT id FROM patients_patient WHERE deleted_at IS NULL "
                f"AND {search.where} AND NOT {starting} LIMIT {SEARCH_CANDIDATES}) "
                f'ORDER BY search_name COLLATE "C", p.id LIMIT %s',
                [*search.where_params, *search.order_params, 10 - len(rows)],
                prepare=True,
            ).fetchall()
        return rows
    digits = re.sub(r"\D", "", query)
    ending = "(search_phones LIKE %s OR search_phones LIKE %s OR card_number = %s)"
    ending_params = [f"%{digits} %", f"%{digits}", int(digits)]
    ranked = (
        f"SELECT {QUICK_COLUMNS}, {NEXT_VISIT} AS next_visit FROM patients_patient p "
        "WHERE p.id IN (SELECT id FROM patients_patient WHERE deleted_at IS NULL AND {part} "
        f"LIMIT {SEARCH_CANDIDATES}) ORDER BY next_visit NULLS LAST, "
        'last_activity_at DESC NULLS LAST, search_name COLLATE "C", p.id LIMIT %s'
    )
    rows = db.execute(
        ranked.format(part=f"{search.where} AND {ending}"),
        [*search.where_params, *ending_params, 10],
        prepare=True,
    ).fetchall()
    if len(rows) < 10:
        rows += db.execute(
            ranked.format(part=f"{search.where} AND NOT {ending}"),
            [*search.where_params, *ending_params, 10 - len(rows)],
            prepare=True,
        ).fetchall()
    return rows


def owners_with_visits_ahead(ctx: Context, count: int) -> list[tuple[int, str]]:
    """200 patients with a visit in the coming two weeks and the last four digits of their
    phone (the same sample whatever ``count``: it is a quality measure, not only a time)."""
    if "owners" not in ctx.cache:
        ctx.cache["owners"] = ctx.db.execute(
            "SELECT p.id, right(p.phone, 4) FROM patients_patient p "
            "WHERE p.deleted_at IS NULL AND p.phone <> '' AND EXISTS ("
            "SELECT 1 FROM calendar_app_appointment a WHERE a.patient_id = p.id "
            "AND a.deleted_at IS NULL AND a.status NOT IN ('cancelled', 'no_show') "
            "AND a.start >= now() AND a.start < now() + interval '14 days') "
            "ORDER BY md5(p.id::text || %s) LIMIT 200",
            [str(ctx.rng.random())],
        ).fetchall()
    return ctx.cache["owners"]


def owner_in_first_ten(param: tuple[int, str], response: httpx.Response) -> bool:
    return f'data-quick-result="{param[0]}"' in response.text


LIST_CAP = 1000  # patients.selectors.LIST_CANDIDATES: the count's cap and the bound
LIST_SELECT = (
    "SELECT p.id, p.card_number, p.last_name, p.first_name, p.middle_name, p.birth_date, "
    "p.phone, p.is_active, d.last_name, d.first_name, d.middle_name, c.last_name, "
    "c.first_name, c.middle_name, b.name FROM patients_patient p "
    "LEFT JOIN clinic_employee d ON d.id = p.attending_doctor_id "
    "LEFT JOIN clinic_employee c ON c.id = p.coordinator_id "
    "LEFT JOIN clinic_branch b ON b.id = p.branch_id "
)


def floor_patient_list(db: psycopg.Connection, query: str) -> Any:
    """The list's page of 25 with the names it shows, and its count capped at 1,001: for a
    name, the surnames that start with the word in index order, then the other matches
    among 1,000 candidates (``patients.selectors.ranked_in_parts``)."""
    search = search_sql(query)
    count = db.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM patients_patient p WHERE deleted_at IS NULL "
        f"AND {search.where} LIMIT {LIST_CAP + 1}) t",
        search.where_params,
        prepare=True,
    ).fetchone()
    if not search.order_params:
        rows = db.execute(
            f"{LIST_SELECT} WHERE p.deleted_at IS NULL AND {search.where} "
            "ORDER BY p.search_name, p.id LIMIT 25",
            search.where_params,
            prepare=True,
        ).fetchall()
        return count, rows
    starting = 'p.search_name COLLATE "C" LIKE %s'
    in_order = 'ORDER BY p.search_name COLLATE "C", p.id LIMIT %s'
    rows = db.execute(
        f"{LIST_SELECT} WHERE p.deleted_at IS NULL AND {search.where} AND {starting} {in_order}",
        [*search.where_params, *search.order_params, 25],
        prepare=True,
    ).fetchall()
    if len(rows) < 25 and len(search.order_params[0]) > 3:
        rows += db.execute(
            f"{LIST_SELECT} WHERE p.id IN (SELECT id FROM patients_patient p WHERE "
            f"deleted_at IS NULL AND {search.where} AND NOT {starting} LIMIT {LIST_CAP}) "
            f"{in_order}",
            [*search.where_params, *search.order_params, 25 - len(rows)],
            prepare=True,
        ).fetchall()
    return count, rows


# --- Patient card ---------------------------------------------------------------------


def card_params(ctx: Context, count: int) -> list[int]:
    return [ctx.rng.choice(ctx.patients)[0] for _ in range(count)]


def floor_card(db: psycopg.Connection, pk: int) -> Any:
    patient = db.execute(
        "SELECT p.family_id, p.*, g.name, mc.name, pg.name, co.last_name, co.first_name, "
        "co.middle_name, ad.last_name, ad.first_name, ad.middle_name, b.name, f.name, "
        "f.card_number, pa.login, pa.is_active, u.username FROM patients_patient p "
        "LEFT JOIN clinic_gender g ON g.id = p.gender_id "
        "LEFT JOIN clinic_marketingchannel mc ON mc.id = p.marketing_channel_id "
        "LEFT JOIN clinic_patientgroup pg ON pg.id = p.patient_group_id "
        "LEFT JOIN clinic_employee co ON co.id = p.coordinator_id "
        "LEFT JOIN clinic_employee ad ON ad.id = p.attending_doctor_id "
        "LEFT JOIN clinic_branch b ON b.id = p.branch_id "
        "LEFT JOIN patients_family f ON f.id = p.family_id "
        "LEFT JOIN patients_portalaccount pa ON pa.patient_id = p.id "
        "LEFT JOIN clinic_user u ON u.id = p.created_by_id "
        "WHERE p.id = %s AND p.deleted_at IS NULL",
        [pk],
        prepare=True,
    ).fetchone()
    family_id = patient[0] if patient else None
    members = []
    if family_id:
        members = db.execute(
            "SELECT id, last_name, first_name, middle_name, birth_date FROM patients_patient "
            "WHERE family_id = %s AND id <> %s AND deleted_at IS NULL "
            "ORDER BY birth_date, first_name",
            [family_id, pk],
            prepare=True,
        ).fetchall()
    timeline = db.execute(
        "SELECT id, name, occurred_at, actor_name, payload FROM patients_patientevent "
        "WHERE patient_id = %s ORDER BY occurred_at DESC, id DESC LIMIT 50",
        [pk],
        prepare=True,
    ).fetchall()
    return patient, members, timeline


# --- Calendar day ---------------------------------------------------------------------


def day_params(ctx: Context, count: int) -> list[datetime.date]:
    """Days of the last month and the next two weeks (the days a front desk looks at)."""
    return [ctx.today + datetime.timedelta(days=ctx.rng.randint(-30, 14)) for _ in range(count)]


def week_params(ctx: Context, count: int) -> list[datetime.date]:
    """Mondays of the last month and the next two weeks."""
    monday = ctx.today - datetime.timedelta(days=ctx.today.weekday())
    return [monday + datetime.timedelta(weeks=ctx.rng.randint(-4, 2)) for _ in range(count)]


def floor_day(ctx: Context, days: int = 1) -> Callable[[psycopg.Connection, datetime.date], Any]:
    def floor(db: psycopg.Connection, day: datetime.date) -> Any:
        start, end = ctx.day_bounds(day, days)
        shifts = db.execute(
            "SELECT s.id, s.chair_id, s.start, s.end, s.doctor_id, d.last_name, d.first_name, "
            "d.middle_name, d.color FROM calendar_app_workshift s "
            "JOIN clinic_employee d ON d.id = s.doctor_id WHERE s.deleted_at IS NULL "
            "AND s.branch_id = %s AND s.start < %s AND s.end > %s AND s.start > %s "
            "ORDER BY s.start",
            [ctx.branch_id, end, start, start - LONGEST],
            prepare=True,
        ).fetchall()
        statuses = db.execute(
            "SELECT code, name, color FROM calendar_app_appointmentstatus WHERE deleted_at IS NULL",
            prepare=True,
        ).fetchall()
        visits = db.execute(
            "SELECT a.id, a.chair_id, a.start, a.end, a.status, a.visit_type, a.note, "
            "a.patient_id, p.last_name, p.first_name, p.middle_name, p.phone, d.last_name, "
            "d.first_name, d.middle_name, d.color, (SELECT array_agg(sv.name ORDER BY l.id) "
            "FROM calendar_app_appointmentservice l JOIN pricelist_service sv "
            "ON sv.id = l.service_id WHERE l.appointment_id = a.id) "
            "FROM calendar_app_appointment a JOIN patients_patient p ON p.id = a.patient_id "
            "JOIN clinic_employee d ON d.id = a.doctor_id WHERE a.deleted_at IS NULL "
            "AND a.status <> 'cancelled' AND a.branch_id = %s AND a.start < %s "
            "AND a.end > %s AND a.start > %s ORDER BY a.start",
            [ctx.branch_id, end, start, start - LONGEST],
            prepare=True,
        ).fetchall()
        return shifts, statuses, visits

    return floor


def call_events(ctx: Context, days: int = 1) -> Callable[[Client, datetime.date], httpx.Response]:
    def call(client: Client, day: datetime.date) -> httpx.Response:
        following = day + datetime.timedelta(days=days)
        return client.get(
            f"/calendar/feed/events/?branch={ctx.branch_id}&start={day}&end={following}"
        )

    return call


def floor_resources(ctx: Context) -> Callable[[psycopg.Connection, Any], Any]:
    def floor(db: psycopg.Connection, _param: Any) -> Any:
        return db.execute(
            "SELECT id, name FROM clinic_chair WHERE deleted_at IS NULL AND branch_id = %s "
            "ORDER BY position, id",
            [ctx.branch_id],
            prepare=True,
        ).fetchall()

    return floor


# --- Slots ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotQuery:
    date_from: datetime.date
    date_to: datetime.date
    duration: int
    doctor: int | None = None
    branch: int | None = None

    def url(self) -> str:
        who = f"doctor={self.doctor}" if self.doctor else f"branch={self.branch}"
        return (
            f"/api/v1/slots?{who}&date_from={self.date_from}&date_to={self.date_to}"
            f"&duration={self.duration}"
        )


def doctor_slot_params(ctx: Context, count: int) -> list[SlotQuery]:
    queries = []
    for _ in range(count):
        start = ctx.today + datetime.timedelta(days=ctx.rng.randint(0, 7))
        queries.append(
            SlotQuery(
                start,
                start + datetime.timedelta(days=13),
                ctx.rng.choice([30, 45, 60]),
                doctor=ctx.rng.choice(ctx.doctors),
            )
        )
    return queries


def branch_slot_params(ctx: Context, count: int) -> list[SlotQuery]:
    queries = []
    for _ in range(count):
        start = ctx.today + datetime.timedelta(days=ctx.rng.randint(0, 7))
        queries.append(
            SlotQuery(
                start,
                start + datetime.timedelta(days=6),
                ctx.rng.choice([30, 45, 60]),
                branch=ctx.branch_id,
            )
        )
    return queries


def floor_slots(db: psycopg.Connection, query: SlotQuery) -> Any:
    """The slot finder's two reads: the shifts in the window, then what occupies their
    doctors and chairs (the interval arithmetic in Python is the app's part)."""
    utc = datetime.UTC
    window_start = datetime.datetime.combine(
        query.date_from - datetime.timedelta(days=1), datetime.time(), utc
    )
    window_end = datetime.datetime.combine(
        query.date_to + datetime.timedelta(days=2), datetime.time(), utc
    )
    now = datetime.datetime.now(utc)
    who = "s.doctor_id = %s" if query.doctor else "s.branch_id = %s"
    shifts = db.execute(
        "SELECT s.doctor_id, s.chair_id, s.branch_id, s.start, s.end, b.time_zone "
        "FROM calendar_app_workshift s JOIN clinic_branch b ON b.id = s.branch_id "
        "JOIN clinic_employee d ON d.id = s.doctor_id JOIN clinic_chair c ON c.id = s.chair_id "
        f"WHERE s.deleted_at IS NULL AND {who} AND s.start < %s AND s.end > %s "
        "AND s.start > %s AND d.deleted_at IS NULL AND c.deleted_at IS NULL "
        "ORDER BY s.start, s.doctor_id",
        [query.doctor or query.branch, window_end, max(window_start, now), window_start - LONGEST],
        prepare=True,
    ).fetchall()
    if not shifts:
        return shifts, []
    busy = db.execute(
        'SELECT doctor_id, chair_id, start, "end" FROM calendar_app_appointment '
        "WHERE deleted_at IS NULL AND status <> 'cancelled' AND start < %s AND \"end\" > %s "
        "AND start > %s AND (doctor_id = ANY(%s) OR chair_id = ANY(%s))",
        [
            window_end,
            window_start,
            window_start - LONGEST,
            sorted({s[0] for s in shifts}),
            sorted({s[1] for s in shifts}),
        ],
        prepare=True,
    ).fetchall()
    return shifts, busy


# --- Booking --------------------------------------------------------------------------


@dataclass(frozen=True)
class Booking:
    patient: int
    doctor: int
    chair: int
    start: datetime.datetime  # aware, the branch's zone
    service: int
    price: str
    branch: int

    def form(self) -> dict[str, Any]:
        return {
            "patient": self.patient,
            "doctor": self.doctor,
            "chair": self.chair,
            "date": self.start.date().isoformat(),
            "time": self.start.strftime("%H:%M"),
            "duration_minutes": 30,
            "services": [self.service],
            "visit_type": "",
            "note": "bench",
        }


def booking_params(ctx: Context, count: int) -> list[Booking]:
    """Free 30-minute times of the coming two weeks, none overlapping another chosen one
    (each booking must succeed: the slot finder is asked first, outside the timing)."""
    first = ctx.today + datetime.timedelta(days=1)
    found: list[dict] = []
    for week in range(2):
        date_from = first + datetime.timedelta(days=7 * week)
        response = ctx.client.get(
            f"/api/v1/slots?branch={ctx.branch_id}&date_from={date_from}"
            f"&date_to={date_from + datetime.timedelta(days=6)}&duration=30"
        )
        response.raise_for_status()
        found += response.json()
    ctx.rng.shuffle(found)
    taken: dict[tuple[str, int], list[tuple[datetime.datetime, datetime.datetime]]] = {}
    bookings = []
    for slot in found:
        start = datetime.datetime.fromisoformat(slot["start"])
        end = start + datetime.timedelta(minutes=30)
        keys = [("doctor", slot["doctor_id"]), ("chair", slot["chair_id"])]
        if any(s < end and start < e for key in keys for s, e in taken.get(key, [])):
            continue
        for key in keys:
            taken.setdefault(key, []).append((start, end))
        service, price = ctx.rng.choice(ctx.services)
        bookings.append(
            Booking(
                patient=ctx.rng.choice(ctx.patients)[0],
                doctor=slot["doctor_id"],
                chair=slot["chair_id"],
                start=start.astimezone(ctx.zone),
                service=service,
                price=price,
                branch=ctx.branch_id,
            )
        )
        if len(bookings) == count:
            break
    return bookings


def call_booking(client: Client, booking: Booking) -> httpx.Response:
    return client.post(f"/calendar/appointments/new/?branch={booking.branch}", data=booking.form())


def unbook(db: psycopg.Connection, bookings: list[Booking]) -> None:
    """The visits the scenario booked, with their lines and status rows, deleted: every run
    books about 230 free times of the coming two weeks, and a dozen runs would fill them.
    Their audit entries stay (the chain is append-only)."""
    with db.transaction():
        db.execute(
            "CREATE TEMP TABLE bench_booked ON COMMIT DROP AS SELECT a.id FROM "
            "calendar_app_appointment a JOIN unnest(%s::bigint[], %s::timestamptz[]) "
            "AS b(chair_id, start) USING (chair_id, start) WHERE a.note = 'bench'",
            [[b.chair for b in bookings], [b.start for b in bookings]],
        )
        for table in ("calendar_app_appointmentservice", "calendar_app_appointmentstatuschange"):
            db.execute(f"DELETE FROM {table} WHERE appointment_id IN (SELECT id FROM bench_booked)")
        db.execute("DELETE FROM calendar_app_appointment WHERE id IN (SELECT id FROM bench_booked)")


def floor_booking(ctx: Context) -> Callable[[psycopg.Connection, Booking], Any]:
    def floor(db: psycopg.Connection, booking: Booking) -> Any:
        """The rows a booking must write, exclusion constraints checked, then rolled back so
        that the application can book the same time afterwards."""
        end = booking.start + datetime.timedelta(minutes=30)
        with db.transaction(force_rollback=True):
            visit = db.execute(
                "INSERT INTO calendar_app_appointment (patient_id, doctor_id, chair_id, "
                'branch_id, start, "end", status, visit_type, note, cancel_reason, source, '
                "created_by_id, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, "
                "'planned', 'returning', 'bench', '', 'calendar', %s, now(), now()) RETURNING id",
                [
                    booking.patient,
                    booking.doctor,
                    booking.chair,
                    booking.branch,
                    booking.start,
                    end,
                    ctx.user_id,
                ],
                prepare=True,
            ).fetchone()[0]
            db.execute(
                "INSERT INTO calendar_app_appointmentservice (appointment_id, service_id, "
                "quantity, price) VALUES (%s, %s, 1, %s)",
                [visit, booking.service, booking.price],
                prepare=True,
            )
            db.execute(
                "INSERT INTO clinic_outboxevent (name, aggregate_type, aggregate_id, payload, "
                "created_at, delivered_to, attempts, last_error) VALUES ('appointment.created', "
                "'calendar_app.appointment', %s, %s, now(), '[]', 0, '')",
                [str(visit), json.dumps({"appointment_id": visit, "patient_id": booking.patient})],
                prepare=True,
            )
        return visit

    return floor


# --- The list -------------------------------------------------------------------------


def clinical_scenarios(ctx: Context) -> list[Scenario]:
    from clinical_scenarios import clinical_scenarios as scenarios_of_the_record

    return scenarios_of_the_record(ctx)


def billing_scenarios(ctx: Context) -> list[Scenario]:
    from billing_scenarios import billing_scenarios as scenarios_of_billing

    return scenarios_of_billing(ctx)


BARE = "request.bare"


def floor_signed_in(ctx: Context) -> Callable[[psycopg.Connection, Any], Any]:
    def floor(db: psycopg.Connection, _param: Any) -> Any:
        return db.execute(
            "SELECT u.id, u.username, e.id, e.last_name, e.first_name, e.kind "
            "FROM clinic_user u LEFT JOIN clinic_employee e ON e.user_id = u.id "
            "WHERE u.id = %s",
            [ctx.user_id],
            prepare=True,
        ).fetchall()

    return floor


def scenarios(ctx: Context) -> list[Scenario]:
    return [
        # Measured first in every run: what any signed-in request costs before its own work
        # (the report's second ratio adds it to each read's floor).
        Scenario(
            BARE,
            "A signed-in request and nothing more: the user (GET /api/v1/me)",
            50,
            lambda c, n: [None] * n,
            lambda client, _p: client.get("/api/v1/me"),
            floor_signed_in(ctx),
            kind="baseline",
        ),
        Scenario(
            "search.name",
            "Quick search by name fragment (/patients/search/?q=)",
            50,
            name_queries,
            lambda client, q: client.get("/patients/search/", params={"q": q}),
            floor_quick_search,
        ),
        Scenario(
            "search.phone",
            "Quick search by phone fragment (/patients/search/?q=)",
            50,
            phone_queries,
            lambda client, q: client.get("/patients/search/", params={"q": q}),
            floor_quick_search,
        ),
        Scenario(
            "list.name",
            "Patient list searched by name (/patients/?q=)",
            50,
            name_queries,
            lambda client, q: client.get("/patients/", params={"q": q}),
            floor_patient_list,
        ),
        Scenario(
            "list.phone",
            "Patient list searched by phone (/patients/?q=)",
            50,
            phone_queries,
            lambda client, q: client.get("/patients/", params={"q": q}),
            floor_patient_list,
        ),
        Scenario(
            "search.fragment",
            "Quick search by a fragment inside a name that very many cards share",
            50,
            fragment_queries,
            lambda client, q: client.get("/patients/search/", params={"q": q}),
            floor_bounded_quick_search,
        ),
        Scenario(
            "search.owner",
            "Quick search by the last four digits of a patient with a visit ahead",
            50,
            owners_with_visits_ahead,
            lambda client, owner: client.get("/patients/search/", params={"q": owner[1]}),
            lambda db, owner: floor_bounded_quick_search(db, owner[1]),
            quality=owner_in_first_ten,
            quality_title="owner in the first ten",
            quality_target=0.9,
            note="200 patients with a visit in the coming two weeks, the last four digits "
            "of their phone",
        ),
        Scenario(
            "list.surname",
            "Patient list searched by a common surname prefix (Иван)",
            100,
            common_surname_queries,
            lambda client, q: client.get("/patients/", params={"q": q}),
            floor_patient_list,
        ),
        Scenario(
            "card",
            "Open a patient card (/patients/<pk>/)",
            80,
            card_params,
            lambda client, pk: client.get(f"/patients/{pk}/"),
            floor_card,
            note="the app also appends the audit entry of the view (a write)",
        ),
        Scenario(
            "calendar.events",
            f"Calendar day of the biggest branch, {len(ctx.chairs)} chairs (feed/events)",
            100,
            day_params,
            call_events(ctx),
            floor_day(ctx),
        ),
        Scenario(
            "calendar.week",
            f"Calendar week of the biggest branch, {len(ctx.chairs)} chairs (feed/events)",
            100,
            week_params,
            call_events(ctx, days=7),
            floor_day(ctx, days=7),
        ),
        Scenario(
            "calendar.resources",
            "Calendar chairs of that branch (feed/resources)",
            100,
            lambda c, n: [None] * n,
            lambda client, _p: client.get(f"/calendar/feed/resources/?branch={ctx.branch_id}"),
            floor_resources(ctx),
        ),
        Scenario(
            "slots.doctor",
            "Slots for one doctor over 14 days (GET /api/v1/slots)",
            50,
            doctor_slot_params,
            lambda client, q: client.get(q.url()),
            floor_slots,
        ),
        Scenario(
            "slots.branch",
            "Slots for the branch over 7 days (GET /api/v1/slots)",
            200,
            branch_slot_params,
            lambda client, q: client.get(q.url()),
            floor_slots,
        ),
        Scenario(
            "find.branch",
            "Find a time: the branch over 7 days, grouped by day and doctor (/calendar/find/)",
            200,
            branch_slot_params,
            lambda client, q: client.get(
                f"/calendar/find/?branch={q.branch}&duration={q.duration}"
                f"&date_from={q.date_from}&date_to={q.date_to}"
            ),
            floor_slots,
            note="the page keeps 9 times per doctor-day (slots.per_doctor_day) and renders 8",
        ),
        Scenario(
            "booking",
            "Book an appointment (POST /calendar/appointments/new/)",
            20,
            booking_params,
            call_booking,
            floor_booking(ctx),
            kind="write",
            expect=(204,),
            note="floor: the appointment, service line and outbox rows, rolled back",
            cleanup=unbook,
        ),
        *clinical_scenarios(ctx),
        *billing_scenarios(ctx),
    ]
