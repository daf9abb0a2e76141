"""What every list screen shares: pagination that keeps the filters, and export.

Exports stream, so a list of any size goes out without holding it in memory: CSV row by
row, XLSX through openpyxl's write-only workbook.
"""

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

EXPORT_FORMATS = ("csv", "xlsx")
MAX_PAGE_SIZE = 200


def page_size(request: HttpRequest, default: int = 25) -> int:
    try:
        size = int(request.GET.get("per_page", default))
    except ValueError:
        return default
    return min(max(size, 5), MAX_PAGE_SIZE)


class CappedPaginator(Paginator):
    """Counts at most ``cap`` rows: a list of 500,000 patients must not COUNT(*) them all.

    Past the cap the page shows "10,000+" and the last page is the cap's; filters narrow it.
    """

    cap = 10_000

    @property
    def count(self) -> int:
        if not hasattr(self, "_capped_count"):
            if hasattr(self.object_list, "query"):
                self._capped_count = self.object_list[: self.cap + 1].count()  # type: ignore[attr-defined]
            else:
                self._capped_count = min(len(self.object_list), self.cap + 1)
        return self._capped_count

    @property
    def capped(self) -> bool:
        return self.count > self.cap


def paginate(
    request: HttpRequest, items, per_page: int | None = None, *, capped: bool = False
) -> Page:
    paginator_class = CappedPaginator if capped else Paginator
    paginator = paginator_class(items, per_page or page_size(request))
    return paginator.get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("export", None)
    return params.urlencode()


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_response(
    *,
    fmt: str,
    filename: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> HttpResponseBase:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "xlsx":
        return _xlsx_response(f"{filename}-{stamp}.xlsx", headers, rows)
    writer = csv.writer(_Echo(), delimiter=";")

    def stream():
        # The BOM and the semicolon are what Excel in a Russian locale opens correctly.
        yield "\ufeff" + writer.writerow([str(h) for h in headers])
        for row in rows:
            yield writer.writerow(["" if v is None else v for v in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    return response


def _xlsx_response(
    filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([str(h) for h in headers])
    for row in rows:
        sheet.append([_excel_value(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _excel_value(value: Any) -> Any:
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def export_requested(request: HttpRequest) -> str | None:
    fmt = request.GET.get("export")
    return fmt if fmt in EXPORT_FORMATS else None


RowBuilder = Callable[[Any], Sequence[Any]]
