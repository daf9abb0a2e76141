"""What the clinical record plugs into the core: the ICD-10 reference books, the card's
Diagnostics section, the timeline's wording, demo charts."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic import demo, references
from clinical.models import (
    Diagnosis,
    DiagnosisCategory,
    MedicalHistoryTemplate,
    MedicalRecord,
    PerioExam,
)
from documents import rendering
from patients import card_sections, timeline

references.register(
    references.ReferenceBook(
        "diagnosis-categories",
        gettext_lazy("Diagnosis categories"),
        DiagnosisCategory,
        fields=("name", "code"),
        search_fields=("name", "code"),
        description=gettext_lazy("The blocks of ICD-10 (K00-K14) and the clinic's own groups."),
        icon="folder2",
    )
)
references.register(
    references.ReferenceBook(
        "diagnoses",
        gettext_lazy("Diagnoses"),
        Diagnosis,
        fields=("name", "code", "category", "applies_to"),
        search_fields=("name", "code"),
        description=gettext_lazy("ICD-10 dental diagnoses the chart offers, by category."),
        icon="clipboard2-pulse",
    )
)

references.register(
    references.ReferenceBook(
        "medical-history-templates",
        gettext_lazy("Medical history templates"),
        MedicalHistoryTemplate,
        fields=(
            "name",
            "profession",
            "complaints",
            "anamnesis",
            "objective",
            "local_status",
            "treatment",
            "recommendations",
        ),
        description=gettext_lazy(
            "Ready text for the sections of a medical record, by the doctor's profession."
        ),
        icon="journal-text",
    )
)

card_sections.register(
    card_sections.CardSection("history", "clinical:history", right=("clinical", "view"))
)


def _record_context(record: MedicalRecord, ctx) -> dict:
    return {"record": record}


rendering.register_layout(
    rendering.Layout(
        "medical_record",
        "clinical/print/medical_record.html",
        title=lambda record: (
            _("Medical record of %(day)s") % {"day": f"{record.recorded_on:%d.%m.%Y}"}
        ),
        context=_record_context,
    )
)

card_sections.register(
    card_sections.CardSection(
        "diagnostics",
        "clinical:chart",
        right=("clinical", "view"),
        scripts=("js/dental_chart.js",),
        styles=("css/dental_chart.css",),
    )
)


card_sections.register(
    card_sections.CardSection(
        "perio", "clinical:perio", right=("clinical", "view"), styles=("css/perio.css",)
    )
)


def _perio_context(exam: PerioExam, ctx) -> dict:
    from clinical import perio

    return {
        "exam": exam,
        "jaws": perio.jaws(perio.tooth_rows(exam.measurements, exam.missing)),
        "summary": perio.summary(exam),
        "mode": "print",
    }


rendering.register_layout(
    rendering.Layout(
        "perio_exam",
        "clinical/print/perio_exam.html",
        title=lambda exam: (
            _("Periodontal chart of %(day)s") % {"day": f"{exam.examined_on:%d.%m.%Y}"}
        ),
        context=_perio_context,
    )
)


def _perio_day(payload: dict) -> str:
    day = payload.get("examined_on", "")
    return ".".join(reversed(day.split("-"))) if day else ""


timeline.describe(
    "perio_exam.created",
    "rulers",
    lambda payload: _("Periodontal exam of %(day)s added") % {"day": _perio_day(payload)},
)
timeline.describe(
    "perio_exam.updated",
    "rulers",
    lambda payload: _("Periodontal exam of %(day)s changed") % {"day": _perio_day(payload)},
)


def _teeth(payload: dict) -> str:
    return ", ".join(str(tooth) for tooth in payload.get("teeth", []))


def _added(payload: dict) -> str:
    what = " ".join(filter(None, [payload.get("diagnosis"), payload.get("diagnosis_name")]))
    return _("Chart: %(what)s on %(teeth)s") % {
        "what": what or payload.get("state", ""),
        "teeth": _teeth(payload),
    }


def _removed(payload: dict) -> str:
    return _("Chart: %(what)s removed from %(tooth)s") % {
        "what": payload.get("diagnosis") or payload.get("state", ""),
        "tooth": payload["tooth"],
    }


timeline.describe("chart.diagnosis_added", "clipboard2-plus", _added)
timeline.describe("chart.diagnosis_removed", "clipboard2-minus", _removed)


def _codes(payload: dict) -> str:
    return ", ".join(payload.get("diagnoses", []))


timeline.describe(
    "medical_record.created",
    "journal-medical",
    lambda payload: _("Medical record added: %(codes)s") % {"codes": _codes(payload)},
)
timeline.describe(
    "medical_record.signed",
    "journal-check",
    lambda payload: _("Medical record signed: %(codes)s") % {"codes": _codes(payload)},
)
timeline.describe(
    "medical_record.corrected",
    "journal-arrow-up",
    lambda payload: (
        _("Medical record corrected (version %(version)s): %(reason)s")
        % {"version": payload["version"], "reason": payload.get("reason", "")}
    ),
)


def _seed(log) -> None:
    from clinical.demo import seed_charts, seed_medical_history, seed_perio

    seed_charts(log)
    seed_medical_history(log)
    seed_perio(log)


demo.register_seeder(30, "clinical", _seed)
