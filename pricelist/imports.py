"""Excel import and export of a price list, with a preview.

The upload is read at once (a price list is hundreds of rows, capped at ``MAX_ROWS``) into
plain rows that are kept in the cache under a token for ``KEEP_SECONDS``; the preview sorts
them into created, changed, unchanged and refused (with the reasons per row). Applying
reads the kept rows again and plans them anew against the database as it is then, in one
transaction: a row that has become wrong since the preview is refused, and nothing is
written if any write fails.

Columns (by header, Russian or English): code, name, category, price, duration, per tooth,
effective from. Into the base list a new code creates a service (name, category, price and
duration needed); a known code updates the service's name, category, duration and per-tooth
flag where the row gives them, and its price. Into a branch's list only the price is taken:
the services themselves belong to the base list. A price takes effect on "effective from"
(today when empty), which may not be in the past (``pricelist.services``).
"""

import datetime
import io
import re
import secrets
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.models import User
from pricelist import services as writes
from pricelist.forms import DURATION_MAX, MONEY_MAX
from pricelist.models import Price, PriceList, Service, ServiceCategory

MAX_ROWS = 5000
MAX_SHOWN = 500
KEEP_SECONDS = 60 * 60

HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("код", "code", "код услуги"),
    "name": ("наименование", "название", "услуга", "name", "service"),
    "category": ("категория", "раздел", "category"),
    "price": ("цена", "стоимость", "цена руб", "price"),
    "duration": ("длительность", "длительность мин", "минут", "duration", "duration minutes"),
    "per_tooth": ("за зуб", "цена за зуб", "per tooth", "priced per tooth"),
    "effective_from": ("действует с", "дата начала", "effective from", "from"),
}
# The export's headers, which the import reads back.
EXPORT_HEADERS = [
    "Код",
    "Наименование",
    "Категория",
    "Цена",
    "Длительность, мин",
    "За зуб",
    "Действует с",
]
YES = {"да", "yes", "1", "true", "+", "x"}
NO = {"нет", "no", "0", "false", "-", ""}


class ImportFileError(Exception):
    """The file as a whole cannot be imported."""


def _header_key(header: object) -> str:
    text = re.sub(r"[^\w\s]", " ", str(header or "")).lower().replace("ё", "е")
    return " ".join(text.split())


def _cell(value: Any) -> str:
    """Cells are kept as text (the cache holds JSON-like data); dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        # openpyxl reads 2500 as 2500 and 2500.5 as 2500.5; repr keeps what the cell showed.
        return repr(value).removesuffix(".0")
    return str(value).strip()


def read_rows(content: bytes) -> list[dict[str, Any]]:
    """The workbook's first sheet as rows ``{"row": n, field: text}``; empty rows dropped."""
    if not content.startswith(b"PK\x03\x04") or not zipfile.is_zipfile(io.BytesIO(content)):
        raise ImportFileError(_("The file is not an Excel workbook (.xlsx)."))
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header = next(lines, None)
        if not header:
            raise ImportFileError(_("The file has no header row."))
        columns: dict[str, int] = {}
        for index, title in enumerate(header):
            key = _header_key(title)
            for name, synonyms in HEADERS.items():
                if key in synonyms and name not in columns:
                    columns[name] = index
        missing = [name for name in ("code", "price") if name not in columns]
        if missing:
            raise ImportFileError(
                _("The file has no column for: %(columns)s. Expected columns: %(expected)s.")
                % {
                    "columns": ", ".join(
                        EXPORT_HEADERS[0] if m == "code" else EXPORT_HEADERS[3] for m in missing
                    ),
                    "expected": ", ".join(EXPORT_HEADERS),
                }
            )
        rows: list[dict[str, Any]] = []
        for number, values in enumerate(lines, start=2):
            row = {
                name: _cell(values[index]) if index < len(values) else ""
                for name, index in columns.items()
            }
            if not any(row.values()):
                continue
            if len(rows) >= MAX_ROWS:
                raise ImportFileError(
                    _("The file has more than %(max)s rows; split it into parts.")
                    % {"max": MAX_ROWS}
                )
            rows.append({"row": number, **row})
        workbook.close()
    except ImportFileError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on a broken workbook
        raise ImportFileError(_("The file could not be read as an Excel workbook.")) from exc
    if not rows:
        raise ImportFileError(_("The file has no rows below the header."))
    return rows


@dataclass
class Outcome:
    row: int
    code: str
    name: str = ""
    action: str = "unchanged"  # create, update, unchanged, refused
    errors: list[str] = field(default_factory=list)
    changes: dict[str, list[str]] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    price: Decimal | None = None
    effective_from: datetime.date | None = None
    service: Service | None = None


@dataclass
class Plan:
    price_list: PriceList
    outcomes: list[Outcome]

    def of(self, action: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.action == action]

    @property
    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "unchanged": 0, "refused": 0}
        for outcome in self.outcomes:
            counts[outcome.action] += 1
        return counts


def _money(text: str, errors: list[str]) -> Decimal | None:
    try:
        value = Decimal(text.replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation:
        errors.append(_("The price “%(value)s” is not a number.") % {"value": text[:30]})
        return None
    if not value.is_finite():
        errors.append(_("The price “%(value)s” is not a number.") % {"value": text[:30]})
        return None
    if value < 0:
        errors.append(_("A price cannot be negative."))
        return None
    if value > MONEY_MAX or value != value.quantize(Decimal("0.01")):
        errors.append(_("A price has at most two decimals and ten digits before them."))
        return None
    return value


def _duration(text: str, errors: list[str]) -> int | None:
    try:
        value = int(Decimal(text.replace(",", ".")))
    except (InvalidOperation, ValueError, OverflowError):
        errors.append(_("The duration “%(value)s” is not a number.") % {"value": text[:30]})
        return None
    if not 1 <= value <= DURATION_MAX:
        errors.append(_("A duration is from 1 to %(max)s minutes.") % {"max": DURATION_MAX})
        return None
    return value


def _day(text: str, errors: list[str]) -> datetime.date | None:
    today = timezone.localdate()
    if not text:
        return today
    day = None
    for parse in (datetime.date.fromisoformat, _russian_date):
        try:
            day = parse(text[:10])
            break
        except ValueError:
            continue
    if day is None:
        errors.append(_("The date “%(value)s” is not a date.") % {"value": text[:30]})
        return None
    if day < today:
        errors.append(_("A new price takes effect today or later, not on a past day."))
        return None
    if day.year > 2100:
        errors.append(_("Enter a date before 2101."))
        return None
    return day


def _russian_date(text: str) -> datetime.date:
    day, month, year = text.split(".")
    return datetime.date(int(year), int(month), int(day))


def plan(rows: list[dict[str, Any]], price_list: PriceList) -> Plan:
    """What applying ``rows`` to ``price_list`` would do, row by row (a few queries)."""
    codes = {str(row.get("code", ""))[:30] for row in rows}
    services = {s.code: s for s in Service.objects.filter(code__in=codes)}
    categories = {c.name.lower(): c for c in ServiceCategory.objects.all()}
    history: dict[int, list[tuple[datetime.date, Decimal]]] = {}
    for service_id, day, amount in (
        Price.objects.filter(price_list=price_list, service__in=services.values())
        .order_by("service_id", "-effective_from")
        .values_list("service_id", "effective_from", "amount")
    ):
        history.setdefault(service_id, []).append((day, amount))
    seen: set[str] = set()
    outcomes = []
    for row in rows:
        outcomes.append(_plan_row(row, price_list, services, categories, history, seen))
    return Plan(price_list, outcomes)


def _price_on(entries: list[tuple[datetime.date, Decimal]], day: datetime.date) -> Decimal | None:
    return next((amount for start, amount in entries if start <= day), None)


def _plan_row(row, price_list, services, categories, history, seen) -> Outcome:
    code = str(row.get("code", "")).strip()
    outcome = Outcome(row=row["row"], code=code[:30], name=str(row.get("name", ""))[:300])
    errors = outcome.errors
    if not code:
        errors.append(_("The row has no code."))
    elif len(code) > 30:
        errors.append(_("A code has at most 30 characters."))
    elif code in seen:
        errors.append(_("The code %(code)s is on an earlier row too.") % {"code": code})
    seen.add(code)
    price = _money(str(row.get("price", "")), errors) if row.get("price") else None
    if not row.get("price"):
        errors.append(_("The row has no price."))
    day = _day(str(row.get("effective_from", "")), errors)
    service = services.get(code)
    data: dict[str, Any] = {}
    if price_list.is_base:
        name = str(row.get("name", "")).strip()
        if len(name) > 300:
            errors.append(_("A name has at most 300 characters."))
        elif name:
            data["name"] = name
        category_name = str(row.get("category", "")).strip()
        if category_name:
            category = categories.get(category_name.lower())
            if category is None:
                errors.append(
                    _("There is no category “%(name)s”; add it on the price list screen first.")
                    % {"name": category_name[:150]}
                )
            else:
                data["category"] = category
        if row.get("duration"):
            duration = _duration(str(row["duration"]), errors)
            if duration is not None:
                data["duration_minutes"] = duration
        flag = str(row.get("per_tooth", "")).strip().lower()
        if flag in YES:
            data["per_tooth"] = True
        elif flag and flag not in NO:
            errors.append(_("“Per tooth” is yes or no."))
        elif flag in ("нет", "no", "0", "false", "-"):
            data["per_tooth"] = False
        if service is None:
            missing = [
                label
                for key, label in (
                    ("name", _("name")),
                    ("category", _("category")),
                    ("duration_minutes", _("duration")),
                )
                if key not in data
            ]
            if missing and not errors:
                errors.append(
                    _("A new service needs: %(fields)s.") % {"fields": ", ".join(missing)}
                )
    elif service is None and code:
        errors.append(
            _("No service has the code %(code)s: add it to the base list first.") % {"code": code}
        )
    if errors:
        outcome.action = "refused"
        return outcome
    outcome.price, outcome.effective_from, outcome.data = price, day, data
    if service is None:
        outcome.action = "create"
        return outcome
    outcome.service = service
    for key, value in data.items():
        old = getattr(service, key)
        if old != value:
            outcome.changes[key] = [str(old), str(value)]
    entries = history.get(service.pk, [])
    assert day is not None and price is not None
    if _price_on(entries, day) != price:
        old_price = _price_on(entries, day)
        outcome.changes["price"] = ["" if old_price is None else str(old_price), str(price)]
    outcome.action = "update" if outcome.changes else "unchanged"
    return outcome


# --- The kept upload -------------------------------------------------------------------


def keep(rows: list[dict[str, Any]], *, price_list: PriceList, user: User) -> str:
    token = secrets.token_urlsafe(16)
    cache.set(
        f"pricelist-import:{token}",
        {"user": user.pk, "price_list": price_list.pk, "rows": rows},
        KEEP_SECONDS,
    )
    return token


def kept(token: str, *, user: User) -> dict[str, Any] | None:
    if not re.fullmatch(r"[\w-]{10,40}", token or ""):
        return None
    found = cache.get(f"pricelist-import:{token}")
    if not found or found["user"] != user.pk:
        return None
    return found


def forget(token: str) -> None:
    cache.delete(f"pricelist-import:{token}")


@transaction.atomic
def apply(rows: list[dict[str, Any]], *, price_list: PriceList, by: User) -> Plan:
    """Plan the rows again and write what they say, all or nothing. Refused rows are
    skipped (the preview showed them); a write that fails undoes the whole import."""
    price_list = PriceList.objects.select_for_update().get(pk=price_list.pk)
    result = plan(rows, price_list)
    for outcome in result.outcomes:
        if outcome.action == "create":
            assert outcome.price is not None
            writes.service_create(
                data={"code": outcome.code, **outcome.data},
                price=outcome.price,
                effective_from=outcome.effective_from,
                by=by,
            )
        elif outcome.action == "update":
            assert outcome.service is not None and outcome.price is not None
            fields = {k: v for k, v in outcome.data.items() if k in outcome.changes}
            if fields:
                writes.service_update(service=outcome.service, data=fields, by=by)
            if "price" in outcome.changes:
                assert outcome.effective_from is not None
                writes.price_set(
                    price_list=price_list,
                    service=outcome.service,
                    amount=outcome.price,
                    effective_from=outcome.effective_from,
                    by=by,
                )
    return result


# --- Export ----------------------------------------------------------------------------


def export_rows(price_list: PriceList, on: datetime.date) -> Iterator[list[Any]]:
    """The list's services with their prices on ``on`` (one query), as the import reads
    them back. "Effective from" is left empty: re-importing the file changes nothing, and a
    price edited in it takes effect on the day of the import."""
    from pricelist.prices import base_list
    from pricelist.selectors import services_priced

    services = services_priced(price_list, base_list(), on=on).filter(Q(list_price__isnull=False))
    for service in services.iterator(chunk_size=500):
        yield [
            service.code,
            service.name,
            service.category.name,
            service.list_price,  # type: ignore[attr-defined]
            service.duration_minutes,
            "да" if service.per_tooth else "нет",
            None,
        ]
