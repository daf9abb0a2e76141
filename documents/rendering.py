"""The one renderer of printed documents: HTML for the screen, PDF through WeasyPrint.

Everything printed goes through here: templates with placeholders (``documents.services``)
and built-in layouts that apps register (the treatment plan, an invoice, an act):

    from documents import rendering

    rendering.register_layout(rendering.Layout(
        "plan", "clinical/print/plan.html",
        title=lambda plan: _("Treatment plan № %(number)s") % {"number": plan.number},
        context=lambda plan, ctx: {"plan": plan, "lines": plan.lines.all()},
    ))
    piece = rendering.layout_piece("plan", plan, build_context(patient, user=user))
    pdf = rendering.render([piece], ctx.organization)[0].pdf

A layout's template is an ordinary Django template (autoescaped) of the document's body; the
renderer adds the clinic's letterhead (name, address, licence, logo), page numbers, the
DejaVu fonts (Cyrillic) and the page size, A4 or A5. Nothing is fetched while rendering:
the logo is inlined and any other URL is refused.
"""

import base64
import hashlib
import io
import logging
import mimetypes
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from clinic.models import Organization
from documents.context import DocumentContext


@dataclass(frozen=True)
class Piece:
    """One document, ready to render: its title and its body as safe HTML."""

    title: str
    body: SafeString
    page_size: str = "A4"
    missing: tuple = ()


@dataclass(frozen=True)
class Rendered:
    piece: Piece
    pdf: bytes
    pages: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


# --- Built-in layouts ------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    key: str
    template: str
    title: Callable[[Any], str] | str
    context: Callable[[Any, DocumentContext], dict] = field(default=lambda obj, ctx: {})
    page_size: str = "A4"


_layouts: dict[str, Layout] = {}


def register_layout(layout: Layout) -> Layout:
    _layouts[layout.key] = layout
    return layout


def get_layout(key: str) -> Layout | None:
    return _layouts.get(key)


def layout_piece(key: str, obj: Any, context: DocumentContext) -> Piece:
    layout = _layouts[key]
    body = render_to_string(
        layout.template, {**layout.context(obj, context), "object": obj, "ctx": context}
    )
    title = layout.title(obj) if callable(layout.title) else layout.title
    return Piece(str(title), mark_safe(body), layout.page_size)  # noqa: S308  (autoescaped)


# --- HTML ------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _logo_data_uri(name: str) -> str:
    organization = Organization.load()
    try:
        with organization.logo.storage.open(name, "rb") as handle:
            content = handle.read()
    except OSError:
        return ""
    kind = mimetypes.guess_type(name)[0] or "image/png"
    return f"data:{kind};base64,{base64.b64encode(content).decode()}"


def letterhead(organization: Organization) -> dict:
    logo = _logo_data_uri(organization.logo.name) if organization.logo else ""
    return {"organization": organization, "logo": logo}


def document_html(piece: Piece, organization: Organization) -> str:
    """The whole HTML page WeasyPrint lays out."""
    return render_to_string(
        "documents/print/page.html",
        {"piece": piece, **letterhead(organization)},
    )


def sheet_html(piece: Piece, organization: Organization) -> SafeString:
    """The same document as a sheet inside an application page (the preview)."""
    return mark_safe(  # noqa: S308  (a template's output)
        render_to_string("documents/print/sheet.html", {"piece": piece, **letterhead(organization)})
    )


# --- PDF -------------------------------------------------------------------------------

logger = logging.getLogger(__name__)

STYLESHEET = "documents/print/print.css"
_local = threading.local()


def _weasy() -> tuple[Any, Any, Any]:
    """WeasyPrint's font configuration, the parsed stylesheet and the URL fetcher, once per
    thread (parsing them is a good part of a small document's time; none of them is
    shared across threads). The fetcher reads inline data only (the logo): a document
    never reaches out, whatever its text says."""
    if not hasattr(_local, "stylesheet"):
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration
        from weasyprint.urls import URLFetcher

        fonts = FontConfiguration()
        css = render_to_string(STYLESHEET)
        _local.fonts, _local.stylesheet = fonts, CSS(string=css, font_config=fonts)
        _local.fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    return _local.fonts, _local.stylesheet, _local.fetcher


def warm_up() -> None:
    """Render a line once, so that the process has found its fonts (fontconfig's first
    look takes over a second) before the first user prints. Web processes call it in a
    background thread at start (``config/asgi.py``)."""
    from weasyprint import HTML

    try:
        fonts, stylesheet, fetcher = _weasy()
        HTML(string="<p>Одонта</p>", url_fetcher=fetcher).write_pdf(
            stylesheets=[stylesheet], font_config=fonts
        )
    except Exception:  # only a head start: the first print will pay instead
        logger.warning("Warming up the PDF renderer failed", exc_info=True)


def render(pieces: list[Piece], organization: Organization) -> list[Rendered]:
    """Each piece as a PDF of its own (its pages numbered from one)."""
    from weasyprint import HTML

    fonts, stylesheet, fetcher = _weasy()
    rendered = []
    for piece in pieces:
        document = HTML(string=document_html(piece, organization), url_fetcher=fetcher).render(
            stylesheets=[stylesheet], font_config=fonts
        )
        rendered.append(Rendered(piece, document.write_pdf(), len(document.pages)))
    return rendered


def combine(pdfs: list[bytes]) -> bytes:
    """Several PDFs as one, in order (a pack printed at once)."""
    if len(pdfs) == 1:
        return pdfs[0]
    from pypdf import PdfWriter

    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(io.BytesIO(pdf))
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()
