"""The default templates shipped in documents/defaults: their index, placeholders and markup.

Plain files, checked without a database: what the documents app loads must be a template a
user could have saved through the editor (the same tags, only known placeholders).
"""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

DEFAULTS = Path(__file__).resolve().parents[1] / "defaults"

# The placeholders a default template may use (the registry of the documents app holds more).
PLACEHOLDERS = frozenset(
    [
        *("today", "today_long"),
        *("fio", "fio_short", "birth_date", "gender", "phone", "email", "address"),
        *("actual_address", "doc_name", "doc_series", "doc_number", "doc_issued_by"),
        *("doc_issued_date", "doc_department_code", "snils", "inn", "oms_policy", "card_number"),
        *("rep_fio", "rep_relation", "rep_birth_date", "rep_phone", "rep_address"),
        *("rep_doc_series", "rep_doc_number", "rep_doc_issued_by", "rep_doc_issued_date"),
        *("company_name", "company_short_name", "company_legal_address", "company_inn"),
        *("company_kpp", "company_ogrn", "company_phone", "company_email", "company_website"),
        *("company_director", "company_bank", "license_number", "license_date"),
        *("license_issued_by", "branch_name", "branch_address", "branch_phone"),
        *("doctor_fio", "doctor_position"),
        *("visit_date", "visit_time", "visit_services", "visit_total"),
    ]
)
TYPES = {"contract", "informed_consent", "pd_consent", "act", "certificate", "other"}
FIRST_VISIT_PACK = {"paid_services_contract", "informed_consent_general", "personal_data_consent"}
BLOCK_TAGS = {"h1", "h2", "h3", "p", "ol", "ul", "table"}
INLINE_TAGS = {"strong", "em", "u", "br"}
TABLE_TAGS = {"thead", "tbody", "tr", "th", "td"}
ALLOWED_TAGS = BLOCK_TAGS | INLINE_TAGS | TABLE_TAGS | {"li"}
VOID_TAGS = {"br"}
TEXT_BLOCK_TAGS = {"p", "h1", "h2", "h3"}
ALIGN_STYLE = re.compile(r"text-align: (center|right|justify);?")
# The placeholder renders as a table: alone in its paragraph, the renderer can swap the paragraph.
BLOCK_PLACEHOLDERS = {"visit_services"}

PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")
MIXED_SCRIPT_WORD = re.compile(r"\w*(?:[а-яё][a-z]|[a-z][а-яё])\w*", re.IGNORECASE)


def load_index() -> list[dict]:
    return json.loads((DEFAULTS / "index.json").read_text(encoding="utf-8"))


def template_files() -> list[str]:
    return [entry["file"] for entry in load_index()]


class MarkupChecker(HTMLParser):
    """Collects what the editor's allow-list would refuse, and unbalanced or misnested tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.open_tags: list[str] = []
        self.first_tag: str | None = None
        self.paragraph_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        where = f"line {self.getpos()[0]}"
        self.first_tag = self.first_tag or tag
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"{where}: tag <{tag}> is not allowed")
        for name, value in attrs:
            if not self.attribute_allowed(tag, name, value or ""):
                self.problems.append(f'{where}: attribute {name}="{value}" on <{tag}>')
        if tag in BLOCK_TAGS and TEXT_BLOCK_TAGS.intersection(self.open_tags):
            self.problems.append(f"{where}: <{tag}> inside {self.open_tags}")
        if tag == "p":
            self.paragraph_text = []
        if tag not in VOID_TAGS:
            self.open_tags.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"line {self.getpos()[0]}: self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        where = f"line {self.getpos()[0]}"
        if tag in VOID_TAGS:
            self.problems.append(f"{where}: </{tag}>")
        elif not self.open_tags or self.open_tags[-1] != tag:
            self.problems.append(f"{where}: </{tag}> closes {self.open_tags[-1:] or 'nothing'}")
        else:
            self.open_tags.pop()
        if tag == "p":
            self.check_block_placeholders("".join(self.paragraph_text).strip(), where)

    def handle_data(self, data: str) -> None:
        if "p" in self.open_tags:
            self.paragraph_text.append(data)
        elif data.strip() and not self.open_tags:
            where = f"line {self.getpos()[0]}"
            self.problems.append(f"{where}: text outside any block: {data.strip()!r}")

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"line {self.getpos()[0]}: comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"line {self.getpos()[0]}: declaration {decl}")

    def check_block_placeholders(self, text: str, where: str) -> None:
        for key in BLOCK_PLACEHOLDERS:
            if f"{{{{{key}}}}}" in text and text != f"{{{{{key}}}}}":
                self.problems.append(f"{where}: {{{{{key}}}}} must be alone in its paragraph")

    @staticmethod
    def attribute_allowed(tag: str, name: str, value: str) -> bool:
        if name == "style":
            return tag in TEXT_BLOCK_TAGS and ALIGN_STYLE.fullmatch(value) is not None
        if name in {"colspan", "rowspan"}:
            return tag in {"td", "th"} and value.isdigit()
        return False


def check_markup(text: str) -> MarkupChecker:
    checker = MarkupChecker()
    checker.feed(text)
    checker.close()
    if checker.open_tags:
        checker.problems.append(f"unclosed tags at the end: {checker.open_tags}")
    return checker


def test_index_lists_each_template_once_with_valid_fields():
    index = load_index()
    assert isinstance(index, list) and index
    fields = {"key", "type", "name_ru", "name_en", "file", "packs"}
    for entry in index:
        assert set(entry) == fields, entry
        assert re.fullmatch(r"[a-z][a-z0-9_]*", entry["key"]), entry["key"]
        assert entry["type"] in TYPES, entry
        assert entry["name_ru"].strip() and entry["name_en"].strip(), entry
        assert entry["file"] == f"{entry['key']}.html", entry
        assert isinstance(entry["packs"], list), entry
        assert set(entry["packs"]) <= {"first_visit"}, entry
    assert len({entry["key"] for entry in index}) == len(index)
    assert len({entry["name_ru"] for entry in index}) == len(index)


def test_first_visit_pack_holds_the_contract_and_both_consents():
    pack = {entry["key"] for entry in load_index() if "first_visit" in entry["packs"]}
    assert pack == FIRST_VISIT_PACK


def test_every_listed_file_exists_and_every_file_is_listed():
    listed = set(template_files())
    on_disk = {path.name for path in DEFAULTS.glob("*.html")}
    assert listed == on_disk


@pytest.mark.parametrize("name", template_files())
def test_template_uses_only_known_placeholders_written_exactly(name):
    text = (DEFAULTS / name).read_text(encoding="utf-8")
    used = set(PLACEHOLDER.findall(text))
    assert used, "a default template without placeholders prints no patient data"
    assert used <= PLACEHOLDERS, sorted(used - PLACEHOLDERS)
    leftover_braces = re.findall(r".{0,20}[{}].{0,20}", PLACEHOLDER.sub("", text))
    assert not leftover_braces, f"malformed placeholders: {leftover_braces}"


@pytest.mark.parametrize("name", template_files())
def test_template_is_a_body_fragment_of_allowed_markup(name):
    checker = check_markup((DEFAULTS / name).read_text(encoding="utf-8"))
    assert not checker.problems, "\n".join(checker.problems)
    # The renderer prints the letterhead above: a template starts with its own title.
    assert checker.first_tag == "h1"


@pytest.mark.parametrize("name", template_files())
def test_template_has_no_words_mixing_latin_and_cyrillic_letters(name):
    text = PLACEHOLDER.sub(" ", (DEFAULTS / name).read_text(encoding="utf-8"))
    assert not MIXED_SCRIPT_WORD.findall(text)


def test_checker_refuses_what_the_editor_would_strip():
    bad = (
        '<p class="x">a</p><script>alert(1)</script><p style="color: red">b</p>'
        '<p onclick="x()">c</p><p><table></table></p><h2>d</p>'
    )
    found = "\n".join(check_markup(bad).problems)
    for expected in ("class=", "<script>", "color: red", "onclick", "<table> inside", "closes"):
        assert expected in found
