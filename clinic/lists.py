"""What every list screen shares: pagination that keeps the filters, and export.

Exports stream, so a list of any size goes out without holding it in memory: CSV row by
row, XLSX through openpyxl's write-only workbook. ``export_response`` is the one way out
of the system into a spreadsheet: it also makes sure that no value opens as a formula.
"""

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.functional import Promise

EXPORT_FORMATS = ("csv", "xlsx")
MAX_PAGE_SIZE = 200


def page_size(request: HttpRequest, default: int = 25) -> int:
    try:
        size = int(request.GET.get("per_page", default))
    except ValueError:
        return default
    return min(max(size, 5), MAX_PAGE_SIZE)


class Concatenation:
    """Ordered querysets read one after another as one list.

    A ranked list ("surnames that start with the word, then the other matches") becomes
    parts that each read in their own index order, instead of one sort of every match.
    A page costs its own rows, plus an exact count of a part that lies wholly before it
    (bounded by the page's offset).
    """

    def __init__(self, *parts) -> None:
        # Querysets, or sequences that slice into lists and have ``count_up_to(limit)``.
        self.parts = parts

    def __getitem__(self, index: slice) -> list:
        start = index.start or 0
        wanted = index.stop - start
        rows: list = []
        for part in self.parts:
            if wanted <= 0:
                break
            got = list(part[start : start + wanted])
            rows += got
            wanted -= len(got)
            if got:
                start = 0
            elif start:
                start -= count_up_to(part, start)
        return rows

    def count_up_to(self, limit: int) -> int:
        total = 0
        for part in self.parts:
            if total >= limit:
                break
            total += count_up_to(part, limit - total)
        return total


def count_up_to(items, limit: int) -> int:
    """``min(len(items), limit)`` without counting past ``limit`` rows of a queryset."""
    if hasattr(items, "count_up_to"):
        return items.count_up_to(limit)
    if hasattr(items, "query"):
        # Without its order: a sliced count keeps it, and would sort every row to count some.
        return items.order_by()[:limit].count()
    return min(len(items), limit)


class CappedPaginator(Paginator):
    """Counts at most ``cap`` rows: a list of 500,000 patients must not COUNT(*) them all.

    Past the cap the page says "more than <cap>" and the last page is the cap's; filters
    narrow it. The items may be a ``Concatenation``.
    """

    cap = 10_000

    def __init__(self, object_list, per_page, *args, cap: int | None = None, **kwargs) -> None:
        super().__init__(object_list, per_page, *args, **kwargs)
        if cap is not None:
            self.cap = cap

    @property
    def count(self) -> int:
        if not hasattr(self, "_capped_count"):
            self._capped_count = count_up_to(self.object_list, self.cap + 1)
        return self._capped_count

    @property
    def capped(self) -> bool:
        return self.count > self.cap


def paginate(
    request: HttpRequest,
    items,
    per_page: int | None = None,
    *,
    capped: bool = False,
    cap: int | None = None,
) -> Page:
    """A page of ``items``; ``capped`` (or a ``cap``) counts at most that many rows."""
    size = per_page or page_size(request)
    if capped or cap is not None:
        paginator: Paginator = CappedPaginator(items, size, cap=cap)
    else:
        paginator = Paginator(items, size)
    return paginator.get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("export", None)
    return params.urlencode()


class _Echo:
    def write(self, value: str) -> str:
        return value


# A cell that starts with one of these is a formula to Excel, LibreOffice or Google Sheets
# (tab and carriage return too, after which some of them look again); the fullwidth forms are
# cheap insurance for spreadsheets that fold them to ASCII.
FORMULA_TRIGGERS = frozenset("=+-@\t\r＝＋－＠")
# A signed plain number opens as that same number: nothing to escape.
SIGNED_NUMBER = re.compile(r"[+-]\d+(?:[.,]\d+)?")


def opens_as_formula(text: str) -> bool:
    """Whether a spreadsheet would evaluate ``text`` (CSV injection); leading spaces too."""
    stripped = text.lstrip(" ")
    if not stripped or stripped[0] not in FORMULA_TRIGGERS:
        return False
    return not SIGNED_NUMBER.fullmatch(stripped)


def csv_value(value: Any) -> Any:
    """Text that would open as a formula gets a leading apostrophe: spreadsheets read it as
    "this cell is text" and do not show it. Numbers, dates and other text stay as they are."""
    if value is None:
        return ""
    if isinstance(value, Promise):
        value = str(value)
    if isinstance(value, str) and opens_as_formula(value):
        return "'" + value
    return value


def export_response(
    *,
    fmt: str,
    filename: str,
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    stamped: bool = True,
) -> HttpResponseBase:
    """A CSV or XLSX download of ``rows``; every export of the system goes through here.

    Rows hold Python values: numbers (``Decimal`` for money), dates and text. Numbers stay
    numbers; text never becomes a live formula (see ``opens_as_formula``).
    """
    if stamped:
        filename = f"{filename}-{timezone.localtime().strftime('%Y%m%d-%H%M')}"
    if fmt == "xlsx":
        return _xlsx_response(f"{filename}.xlsx", headers, rows)
    writer = csv.writer(_Echo(), delimiter=";")

    def stream():
        # The BOM and the semicolon are what Excel in a Russian locale opens correctly.
        yield "\ufeff" + writer.writerow([csv_value(str(h)) for h in headers])
        for row in rows:
            yield writer.writerow([csv_value(v) for v in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _xlsx_response(
    filename: str, headers: Sequence[Any], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([_excel_value(sheet, str(h)) for h in headers])
    for row in rows:
        sheet.append([_excel_value(sheet, v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _excel_value(sheet, value: Any) -> Any:
    if isinstance(value, Promise):
        value = str(value)
    if isinstance(value, str):
        return _text_cell(sheet, value)
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def _text_cell(sheet, text: str):
    """Always a string cell: openpyxl would make ``=...`` a formula and ``#N/A`` an error.

    Text that opens as a formula is also marked "quote prefix", so that Excel keeps it as
    text even when someone edits the cell.
    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    # Control characters an XLSX file cannot hold (openpyxl refuses them): a visible mark.
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("\ufffd", text))
    cell.data_type = "s"
    if opens_as_formula(text):
        cell.quotePrefix = True
    return cell


def export_requested(request: HttpRequest) -> str | None:
    fmt = request.GET.get("export")
    return fmt if fmt in EXPORT_FORMATS else None


RowBuilder = Callable[[Any], Sequence[Any]]
