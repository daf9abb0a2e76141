"""Loading the ICD-10 dental list (``clinical/data/icd10_dental_ru.csv``): a row without a
parent is a category (K02), a row with one is a diagnosis of it (K02.1)."""

import csv
from pathlib import Path

ICD10_CSV = Path(__file__).resolve().parent / "data" / "icd10_dental_ru.csv"


def load_icd10(category_model, diagnosis_model, path: Path = ICD10_CSV) -> tuple[int, int]:
    """Add the categories and diagnoses that are missing (by code, deactivated ones included);
    entries a clinic has renamed or deactivated stay as they are. Returns what was added.

    Takes the models as arguments: the data migration passes its historical ones."""
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    categories = {c.code: c for c in category_model._base_manager.all()}
    known = set(diagnosis_model._base_manager.values_list("code", flat=True))
    new_categories = [
        category_model(code=row["code"], name=row["name_ru"].strip(), position=position)
        for position, row in enumerate(rows)
        if not row["parent_code"] and row["code"] not in categories
    ]
    for category in category_model._base_manager.bulk_create(new_categories):
        categories[category.code] = category
    new_diagnoses = [
        diagnosis_model(
            code=row["code"],
            name=row["name_ru"].strip(),
            name_en=row["name_en"].strip(),
            applies_to=row["applies_to"].strip(),
            category=categories[row["parent_code"]],
            position=position,
        )
        for position, row in enumerate(rows)
        if row["parent_code"] and row["code"] not in known
    ]
    diagnosis_model._base_manager.bulk_create(new_diagnoses)
    if new_diagnoses:
        from clinical.selectors import forget_diagnosis_options  # a bulk load sends no signal

        forget_diagnosis_options()
    return len(new_categories), len(new_diagnoses)
