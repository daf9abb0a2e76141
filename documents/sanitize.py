"""Template text is user content (often pasted from Word): it is cleaned on save with an
allow-list (``nh3``, the Ammonia sanitiser) before it is stored, previewed or printed.

What stays is what a printed document needs: headings, paragraphs, bold, italic, underline,
lists, tables (with merged cells) and a few layout styles (alignment, indents, widths,
borders, page breaks). Scripts and style sheets go with their content; event handlers,
links, images, classes, fonts and every other attribute or property go too.
"""

import re

import nh3

TAGS = {
    "h1",
    "h2",
    "h3",
    "h4",
    "p",
    "div",
    "span",
    "br",
    "hr",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "sub",
    "sup",
    "blockquote",
    "ol",
    "ul",
    "li",
    "table",
    "caption",
    "colgroup",
    "col",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "td",
    "th",
}
ATTRIBUTES = {
    "*": {"style"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
}
STYLE_PROPERTIES = {
    "text-align",
    "vertical-align",
    "text-indent",
    "margin-left",
    "padding-left",
    "font-weight",
    "font-style",
    "text-decoration",
    "width",
    "border",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "border-collapse",
    "page-break-before",
    "break-before",
}
# Removed with what they hold, not only the tag.
DROPPED_WITH_CONTENT = {"script", "style", "title", "head", "template", "noscript", "xml"}
# A style value that fetches or computes something has no place in a printed page.
ACTIVE_STYLE = re.compile(r"url\s*\(|expression\s*\(|@import|\\", re.IGNORECASE)
DIGITS = re.compile(r"\d{1,3}")


def _attribute_filter(tag: str, name: str, value: str) -> str | None:
    if name == "style" and ACTIVE_STYLE.search(value):
        return None
    if name in ("colspan", "rowspan", "span", "start"):
        return value if DIGITS.fullmatch(value.strip()) else None
    return value


def sanitize(html: str) -> str:
    """The allow-listed part of ``html``, as stored."""
    cleaned = nh3.clean(
        html or "",
        tags=TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=_attribute_filter,
        filter_style_properties=STYLE_PROPERTIES,
        strip_comments=True,
        link_rel=None,
    )
    return cleaned.strip()
