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
    PlanTemplate,
    TreatmentPlan,
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


# --- Treatment plans ---------------------------------------------------------------------

references.register(
    references.ReferenceBook(
        "plan-templates",
        gettext_lazy("Treatment plan templates"),
        PlanTemplate,
        fields=("name", "description"),
        description=gettext_lazy(
            "Services by doctor profession, with hours, for a set of diagnoses: the plan's "
            "Suggest ranks them."
        ),
        icon="list-check",
        screen="clinical:plan-templates",
    )
)

card_sections.register(
    card_sections.CardSection(
        "plan",
        "clinical:plans",
        right=("clinical", "view"),
        scripts=("js/dental_chart.js",),
        styles=("css/dental_chart.css", "css/treatment_plan.css"),
    )
)


def _plan_context(plan: TreatmentPlan, ctx) -> dict:
    from clinical.plan_selectors import plan_view

    return {"view": plan_view(plan)}


rendering.register_layout(
    rendering.Layout(
        "treatment_plan",
        "clinical/print/treatment_plan.html",
        title=lambda plan: _("Treatment plan No. %(number)s") % {"number": plan.number},
        context=_plan_context,
    )
)


timeline.describe(
    "treatment_plan.created",
    "list-check",
    lambda p: _("Treatment plan No. %(number)s created") % {"number": p.get("number", "")},
)
timeline.describe(
    "treatment_plan.approved",
    "check2-circle",
    lambda p: _("Treatment plan No. %(number)s approved") % {"number": p.get("number", "")},
)
timeline.describe(
    "treatment_plan.completed",
    "check2-all",
    lambda p: _("Treatment plan No. %(number)s completed") % {"number": p.get("number", "")},
)
timeline.describe(
    "treatment_plan.cancelled",
    "x-circle",
    lambda p: _("Treatment plan No. %(number)s cancelled") % {"number": p.get("number", "")},
)
timeline.describe(
    "treatment_plan.changed",
    "pencil-square",
    lambda p: _("Treatment plan No. %(number)s changed") % {"number": p.get("number", "")},
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
    from clinical.demo import seed_charts, seed_medical_history, seed_plans

    seed_charts(log)
    seed_medical_history(log)
    seed_plans(log)


demo.register_seeder(30, "clinical", _seed)
