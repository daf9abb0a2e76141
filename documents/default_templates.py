"""The default templates the clinic starts with, shipped in ``documents/defaults/``:

    index.json   [{"key": "paid_services_contract", "type": "contract",
                   "name_ru": "...", "name_en": "...", "file": "paid_services_contract.html",
                   "packs": ["first_visit"]}, ...]
    *.html       each template's text: an HTML body fragment with {{placeholders}}

``ensure_default_templates`` loads them; migration 0003 and ``seed_demo`` call it, and so
does ``manage.py load_default_templates`` after an upgrade that ships new texts. It is
idempotent and leaves the clinic's work alone: a default is created once (a deleted one
stays deleted), and a newer shipped text replaces the old one, as a new version, only in
templates nobody has edited since they were loaded.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps as global_apps
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.utils import timezone

from documents import placeholders
from documents.sanitize import sanitize

logger = logging.getLogger(__name__)

DEFAULTS_DIR = Path(__file__).resolve().parent / "defaults"
# The shipped document types (a reference book the clinic may rename and add to): the codes
# are what index.json names; migration 0002 loads them.
DOCUMENT_TYPES = (
    ("contract", "Договор"),
    ("informed_consent", "Информированное добровольное согласие"),
    ("pd_consent", "Согласие на обработку персональных данных"),
    ("act", "Акт"),
    ("certificate", "Справка"),
    ("other", "Прочее"),
)
TYPE_CODES = tuple(code for code, _name in DOCUMENT_TYPES)


@dataclass(frozen=True)
class DefaultTemplate:
    key: str
    type: str
    name: str
    body: str
    packs: tuple[str, ...]
    page_size: str = "A4"


def read_defaults(directory: Path = DEFAULTS_DIR) -> list[DefaultTemplate]:
    """The shipped templates; none when the directory has no ``index.json``."""
    index = directory / "index.json"
    if not index.exists():
        return []
    entries = json.loads(index.read_text(encoding="utf-8"))
    defaults = []
    for entry in entries:
        if entry.get("type") not in TYPE_CODES:
            raise ValueError(
                f"{index}: {entry.get('key')!r} has an unknown type {entry.get('type')!r}"
            )
        defaults.append(
            DefaultTemplate(
                key=entry["key"],
                type=entry["type"],
                name=entry.get("name_ru") or entry["name_en"],
                body=(directory / entry["file"]).read_text(encoding="utf-8"),
                packs=tuple(entry.get("packs") or ()),
                page_size=entry.get("page_size", "A4"),
            )
        )
    return defaults


def stored_body(html: str) -> str:
    """The shipped text as a template stores it. A placeholder the registry does not know
    (one whose app has not landed yet) is kept as typed, not refused: it prints as is until
    its app registers it."""
    body = sanitize(html)
    try:
        return placeholders.normalize(body)
    except ValidationError:
        logger.warning("A shipped template uses placeholders this installation does not know")
        return body


def ensure_default_templates(
    apps=global_apps,
    directory: Path = DEFAULTS_DIR,
    log: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Load the shipped templates (see the module's text); ``apps`` is a migration's app
    registry there, the project's otherwise. Returns how many were created, updated, kept."""
    DocumentType = apps.get_model("documents", "DocumentType")
    Template = apps.get_model("documents", "Template")
    TemplateVersion = apps.get_model("documents", "TemplateVersion")
    counts = {"created": 0, "updated": 0, "kept": 0}
    defaults = read_defaults(directory)
    if defaults:
        ensure_document_types(apps)
    types = {t.code: t for t in DocumentType._base_manager.exclude(code="")}
    for default in defaults:
        document_type = types[default.type]
        body = stored_body(default.body)
        template = (
            Template._base_manager.select_related("current_version").filter(key=default.key).first()
        )
        if template is None:
            template = Template._base_manager.create(
                key=default.key,
                name=default.name,
                document_type=document_type,
                page_size=default.page_size,
                packs=list(default.packs),
            )
        elif (
            template.deleted_at is not None
            or _edited(template)
            or template.current_version.body == body
        ):
            counts["kept"] += 1
            continue
        created = template.current_version is None
        add_version(Template, TemplateVersion, template, body=body, origin="default")
        counts["created" if created else "updated"] += 1
    if log and any(counts.values()):
        log(
            "documents: default templates {created} created, {updated} updated, {kept} kept".format(
                **counts
            )
        )
    return counts


def add_version(Template, TemplateVersion, template, *, body: str, origin: str, by=None):
    """A template's next version, made current. The model classes are passed in: a
    migration's historical ones here, the project's in ``documents.services``."""
    last = TemplateVersion._base_manager.filter(template=template).aggregate(n=Max("number"))
    version = TemplateVersion._base_manager.create(
        template=template,
        number=(last["n"] or 0) + 1,
        name=template.name,
        page_size=template.page_size,
        body=body,
        origin=origin,
        created_by=by,
    )
    Template._base_manager.filter(pk=template.pk).update(
        current_version=version, updated_at=timezone.now()
    )
    template.current_version = version
    return version


def ensure_document_types(apps=global_apps) -> None:
    """The shipped document types, where they are missing (deleted ones stay deleted)."""
    DocumentType = apps.get_model("documents", "DocumentType")
    for position, (code, name) in enumerate(DOCUMENT_TYPES, start=1):
        DocumentType._base_manager.get_or_create(
            code=code, defaults={"name": name, "position": position}
        )


def _edited(template) -> bool:
    """Whether the clinic has saved a text of its own (or the template lost its text)."""
    version = template.current_version
    return version is None or version.origin != "default"
