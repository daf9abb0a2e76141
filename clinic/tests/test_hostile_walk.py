"""Hostile values into every field of every form, every query of every page, every id of
every URL: never a 5xx, and a refused request changes nothing.

The pages come from the URL conf (``clinic.testing_urls``), so a new view is walked the
moment it is routed and sampled. Each page a superuser GETs is parsed for its forms, which
are submitted as a browser would (rendered values, a single select's first option), with:

- control characters (a NUL, an escape sequence) in every field at once: refused (400) by
  the middleware, nothing changed;
- then one field at a time, the others keeping their values: 100,000 characters with emoji
  into a text field (a form may accept them), 0001-01-01 and 9999-12-31 into a date field
  (never saved), 2**63, -1 and "²" into a select, a hidden field or a checkbox of ids,
  10**20 and -1 into a number field.

Query parameters get each kind of value in every name a view reads by hand and every GET
form's field at once; ids in URLs get 2**63 and 10**30. Every request runs in a
transaction rolled back afterwards, so one cannot spoil the next; the rows of every table
of the project's apps (the audit log included) are counted in one query before and after.
"""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client

from clinic.models import Organization
from clinic.testing_urls import ROUTES, THIRD_PARTY_PREFIXES, build_world, url_for

CONTROL = "a\x00b\x1b[2J"
# 100,000 characters, emoji among them: a form may accept it into a free-text field.
LONG_TEXT = "😀👨‍👩‍👧‍👦" + "Ж" * 100_000
FAR_DATES = ["0001-01-01", "9999-12-31"]
NO_IDS = [str(2**63), "-1", "²"]
HUGE_NUMBERS = [str(10**20), "-1"]
# Query parameters the project's views read by hand (``?date=``, ``?branch=``…), plus the
# names of every GET form's fields, found on the pages themselves.
QUERY_NAMES = [
    "date",
    "start",
    "end",
    "branch",
    "chair",
    "doctor",
    "patient",
    "profession",
    "waitlist",
    "exclude",
    "q",
    "page",
    "per_page",
    "ordering",
    "export",
    "mode",
    "then",
    "next",
]
APPS = ("clinic", "patients", "pricelist", "calendar_app", "billing", "integrations")


# --- Forms, as a browser sees them --------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # text, date, number, hidden, select, checkbox, radio, file, time
    values: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    patient_picker: bool = False
    multiple: bool = False


@dataclass
class PageForm:
    method: str
    action: str
    fields: dict[str, Field] = field(default_factory=dict)

    @property
    def key(self) -> tuple:
        return (self.method, urlsplit(self.action).path, tuple(sorted(self.fields)))

    def baseline(self, patient_id: int) -> dict[str, list[str]]:
        """What submitting the form unchanged sends."""
        data: dict[str, list[str]] = {}
        for f in self.fields.values():
            if f.kind == "file":
                continue
            if f.kind == "select" and not f.values:
                # A browser sends a single select's first option; the patient picker's
                # options come from the search API, so it gets the sample patient.
                if f.patient_picker:
                    data[f.name] = [str(patient_id)]
                elif f.options and not f.multiple:
                    data[f.name] = [f.options[0]]
                continue
            if f.values:
                data[f.name] = list(f.values)
        return data


class FormParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[PageForm] = []
        self.form: PageForm | None = None
        self.select: Field | None = None
        self.option_value: str | None = None
        self.textarea: Field | None = None

    def handle_starttag(self, tag, attrs):
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            method = "post" if (a.get("method", "").lower() == "post" or "hx-post" in a) else "get"
            action = a.get("hx-post") or a.get("hx-get") or a.get("action") or self.page_url
            self.form = PageForm(method, action)
            self.forms.append(self.form)
            return
        if self.form is None:
            return
        if tag == "option":
            if self.select is not None:
                self._option(a)
            return
        if "name" not in a:
            return
        if tag == "input":
            self._input(a)
        elif tag == "select":
            self.select = self.form.fields.setdefault(
                a["name"],
                Field(
                    a["name"],
                    "select",
                    patient_picker="data-patient-picker" in a,
                    multiple="multiple" in a,
                ),
            )
        elif tag == "textarea":
            self.textarea = self.form.fields.setdefault(a["name"], Field(a["name"], "text"))
            self.textarea.values = [""]

    def _input(self, a):
        kind = a.get("type", "text").lower()
        if kind in ("submit", "button", "reset", "image"):
            return
        name = a["name"]
        if kind in ("checkbox", "radio"):
            f = self.form.fields.setdefault(name, Field(name, kind))
            f.options.append(a.get("value", "on"))
            if "checked" in a:
                f.values.append(a.get("value", "on"))
            return
        kinds = {"date": "date", "number": "number", "hidden": "hidden", "file": "file"}
        f = self.form.fields.setdefault(name, Field(name, kinds.get(kind, "text")))
        f.values.append(a.get("value", ""))

    def _option(self, a):
        value = a.get("value", "")
        self.select.options.append(value)
        if "selected" in a:
            self.select.values.append(value)

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea.values = [self.textarea.values[0] + data]


def hostile_values(f: Field) -> list[tuple[str, str]]:
    """(kind, value) pairs worth posting into a field of this kind (control characters go
    into every field at once: the middleware refuses them before any view)."""
    if f.kind == "text":
        return [("text", LONG_TEXT)]
    if f.kind == "date":
        return [("date", value) for value in FAR_DATES]
    if f.kind == "number":
        return [("number", value) for value in HUGE_NUMBERS]
    if f.kind in ("select", "hidden") or (
        f.kind == "checkbox" and any(option.isdigit() for option in f.options)
    ):
        return [("id", value) for value in NO_IDS]
    return []


# --- The walk ---------------------------------------------------------------------------


def _project_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for label in APPS
        for model in apps.get_app_config(label).get_models()
        if model._meta.managed and not model._meta.proxy
    )


@dataclass
class Walk:
    client: Client
    tables: list[str]
    failures: list[str] = field(default_factory=list)
    requests: int = 0

    def __post_init__(self):
        quote = connection.ops.quote_name
        counts = ", ".join(f"(SELECT COUNT(*) FROM {quote(table)})" for table in self.tables)
        self.snapshot_sql = f"SELECT {counts}"

    def snapshot(self) -> dict[str, int]:
        """Rows of every table, in one query."""
        with connection.cursor() as cursor:
            cursor.execute(self.snapshot_sql)
            return dict(zip(self.tables, cursor.fetchone(), strict=True))

    def send(
        self,
        method: str,
        url: str,
        data=None,
        *,
        what: str = "",
        must_keep_db: bool = False,
        compare: bool = True,
    ):
        """One request in a rolled-back transaction; a 5xx (or an exception) is a failure,
        and so is a change of the database by a refused request or when ``must_keep_db``
        (compared unless ``compare`` is off, for reads)."""
        self.requests += 1
        label = f"{method.upper()} {url[:120]} {what}".rstrip()
        try:
            with transaction.atomic():
                before = self.snapshot() if compare else None
                if method == "get":
                    response = self.client.get(url, data or {})
                else:
                    response = self.client.post(url, data or {})
                after = self.snapshot() if compare else None
                transaction.set_rollback(True)
        except Exception as exc:  # a 500 in the making: the test client re-raises it
            self.failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:200]}")
            return None
        status = response.status_code
        if status >= 500:
            self.failures.append(f"{label}: {status}")
        elif before != after and (status >= 400 or must_keep_db):
            changed = sorted(table for table in before if before[table] != after[table])
            self.failures.append(f"{label}: {status} but it changed {', '.join(changed)}")
        return response


def _pages(world) -> Iterator[str]:
    for route in ROUTES:
        if route.third_party or route.is_api:
            continue
        url = url_for(route, world)
        if url is None:
            continue
        if any(method in ("*", "GET") for method, _access in route.accesses()):
            yield url


def _forms_of(walk: Walk, urls: list[str]) -> list[PageForm]:
    forms: dict[tuple, PageForm] = {}
    for url in urls:
        response = walk.send("get", url, compare=False)
        if response is None or "text/html" not in response.get("Content-Type", ""):
            continue
        parser = FormParser(url)
        parser.feed(response.content.decode(errors="replace"))
        for form in parser.forms:
            action = urlsplit(form.action).path
            if not action.startswith("/") or action.lstrip("/").startswith(THIRD_PARTY_PREFIXES):
                continue
            forms.setdefault(form.key, form)
    return list(forms.values())


@pytest.fixture
def world(db, branch, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    return build_world(branch, tmp_path)


@pytest.fixture
def walk(admin_persona, world):
    Organization.load()  # the singleton a page creates on first sight: not the walk's doing
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin_persona.user)
    return Walk(client, _project_tables())


def test_hostile_values_in_every_field_of_every_form(walk, world):
    forms = _forms_of(walk, list(_pages(world)))
    assert len(forms) >= 20, [form.key for form in forms]
    patient_id = world["patient"].pk
    for form in forms:
        baseline = form.baseline(patient_id)
        fields = [
            f for f in form.fields.values() if f.kind != "file" and f.name != "csrfmiddlewaretoken"
        ]
        if not fields:
            continue  # a button (delete, restore): nothing to type into
        control = {**baseline, **{f.name: [CONTROL] for f in fields}}
        response = walk.send(
            form.method, form.action, control, what="[control characters]", must_keep_db=True
        )
        if response is not None and response.status_code != 400:
            walk.failures.append(f"{form.action}: control characters got {response.status_code}")
        for f in fields:
            for kind, value in hostile_values(f):
                walk.send(
                    form.method,
                    form.action,
                    {**baseline, f.name: [value]},
                    what=f"[{f.name}={value[:24]!r}]",
                    must_keep_db=kind == "date",
                    compare=form.method == "post",
                )
    assert not walk.failures, "\n".join([f"{walk.requests} requests", *walk.failures])


# Each kind of hostile value in every query parameter at once; ?branch= apart, since most
# calendar views check it first (and answer 404 to garbage).
QUERIES = [
    {"*": CONTROL},
    {"*": FAR_DATES[0]},
    {"*": FAR_DATES[1]},
    {"*": NO_IDS[0]},
    {"*": NO_IDS[2]},
    {"*": str(10**20), "q": LONG_TEXT},
    {"branch": NO_IDS[2]},
]


def test_hostile_query_parameters_to_every_page(walk, world):
    urls = list(_pages(world))
    names = set(QUERY_NAMES)
    for form in _forms_of(walk, urls):
        if form.method == "get":
            names |= set(form.fields)
    names.discard("branch")
    for url, hostile in itertools.product(urls, QUERIES):
        query = {name: hostile["*"] for name in names} if "*" in hostile else {}
        query.update({name: value for name, value in hostile.items() if name != "*"})
        separator = "&" if "?" in url else "?"
        walk.send("get", f"{url}{separator}{urlencode(query)}", compare=False)
    assert not walk.failures, "\n".join([f"{walk.requests} requests", *walk.failures])


def test_ids_that_fit_no_column_in_every_url(walk, world):
    for route in ROUTES:
        if route.third_party or not route.has_params:
            continue
        url = url_for(route, world)
        if url is None:
            continue
        for huge in (str(2**63), str(10**30)):
            hostile = _with_huge_ids(route.path, url, huge)
            if hostile == url:
                continue
            walk.send("get", hostile)
            walk.send("post", hostile, must_keep_db=True)
    assert not walk.failures, "\n".join([f"{walk.requests} requests", *walk.failures])


def _with_huge_ids(path: str, url: str, huge: str) -> str:
    """``url`` with every ``<int:...>`` segment of ``path`` replaced by ``huge``."""
    pattern_parts = ("/" + path).split("/")
    url_parts = url.split("/")
    if len(pattern_parts) != len(url_parts):
        return url
    return "/".join(
        huge if part.startswith("<int:") else value
        for part, value in zip(pattern_parts, url_parts, strict=True)
    )
