"""What the clinical record plugs into the core: the ICD-10 reference books, the card's
Diagnostics section, the timeline's wording, demo charts, and (``plan_documents``) the plan
a document is printed for."""

from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic import demo, files, references, trash
from clinic.permissions import has_module_perm
from clinical import (
    orthodontics,
    plan_booking,  # noqa: F401  (subscribes on import)
    plan_documents,  # noqa: F401  (registers the plan source and placeholders on import)
    selectors,
)
from clinical.models import (
    ClinicalImage,
    Diagnosis,
    DiagnosisCategory,
    MedicalHistoryTemplate,
    MedicalRecord,
    OrthodonticCard,
    PerioExam,
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
timeline.describe(
    "perio_exam.deleted",
    "rulers",
    lambda payload: _("Periodontal exam moved to the recycle bin"),
)
timeline.describe("perio_exam.restored", "rulers", lambda payload: _("Periodontal exam restored"))
timeline.describe(
    "orthodontic_card.deleted",
    "grid-3x3",
    lambda payload: _("Orthodontic card moved to the recycle bin"),
)
timeline.describe(
    "orthodontic_card.restored", "grid-3x3", lambda payload: _("Orthodontic card restored")
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
        item_screen="clinical:plan-template",
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


card_sections.register(
    card_sections.CardSection(
        "images",
        "clinical:images",
        right=("clinical", "view"),
        scripts=("js/clinical_images.js",),
        styles=("css/clinical_images.css",),
    )
)


def _card_images(user):
    """The images of live cards, to whoever may open the card and its clinical record
    (patients are shared by the network, and so are their images, like their documents)."""
    if not has_module_perm(user, "patients", "view"):
        return ClinicalImage.objects.none()
    return ClinicalImage.objects.of_live_cards()


files.register(
    files.FileKind(
        "clinical-image",
        ClinicalImage,
        "file",
        right=("clinical", "view"),
        objects=_card_images,
        filename=lambda image: image.original_name,  # type: ignore[attr-defined]
        inline=True,
        patient_of=lambda image: image.patient_id,  # type: ignore[attr-defined]
    )
)
# The grid shows a page of previews at once: each is not worth an audit entry (opening the
# tab is audited as a view of the card, opening an image's file is audited by itself).
files.register(
    files.FileKind(
        "clinical-image-preview",
        ClinicalImage,
        "preview",
        right=("clinical", "view"),
        objects=_card_images,
        inline=True,
        cache_seconds=3600,
        audited=False,
    )
)

trash.register(
    trash.TrashSection(
        "orthodontic-cards",
        gettext_lazy("Orthodontic cards"),
        OrthodonticCard,
        "clinical",
        event_prefix="orthodontic_card",
        describe=lambda card: f"{card} · {card.patient}",  # type: ignore[attr-defined]
        patient_of=lambda card: card.patient_id,  # type: ignore[attr-defined]
    )
)
trash.register(
    trash.TrashSection(
        "perio-exams",
        gettext_lazy("Periodontal exams"),
        PerioExam,
        "clinical",
        event_prefix="perio_exam",
        describe=lambda exam: f"{exam} · {exam.patient}",  # type: ignore[attr-defined]
        patient_of=lambda exam: exam.patient_id,  # type: ignore[attr-defined]
    )
)
trash.register(
    trash.TrashSection(
        "clinical-images",
        gettext_lazy("Clinical images"),
        ClinicalImage,
        "clinical",
        event_prefix="image",
        describe=lambda image: f"{image} · {image.patient}",  # type: ignore[attr-defined]
        patient_of=lambda image: image.patient_id,  # type: ignore[attr-defined]
    )
)


def _image_text(payload: dict) -> str:
    from clinical.models import ImageKind, XrayType

    kind = payload.get("kind")
    if kind == ImageKind.XRAY and payload.get("xray_type") in XrayType.values:
        what = _("X-ray (%(type)s)") % {"type": XrayType(payload["xray_type"]).label}
    else:
        what = str(ImageKind.PHOTO.label)
    teeth = _teeth(payload)
    return f"{what}: {teeth}" if teeth else what


timeline.describe(
    "image.added",
    "image",
    lambda payload: _("Image added: %(what)s") % {"what": _image_text(payload)},
)
timeline.describe("image.deleted", "image", lambda payload: _("Image moved to the recycle bin"))
timeline.describe("image.restored", "image", lambda payload: _("Image restored"))


def _seed(log) -> None:
    from clinical import demo as clinical_demo
    from clinical.icd10 import load_icd10

    # The list the data migration loads; again here for a database emptied since (adds only
    # what is missing).
    load_icd10(DiagnosisCategory, Diagnosis)
    clinical_demo.seed_charts(log)
    clinical_demo.seed_medical_history(log)
    clinical_demo.seed_perio(log)
    clinical_demo.seed_orthodontics(log)
    clinical_demo.seed_images(log)
    clinical_demo.seed_plans(log)


demo.register_seeder(30, "clinical", _seed)

card_sections.register(
    card_sections.CardSection("orthodontics", "clinical:ortho", right=("clinical", "view"))
)


def _ortho_context(card, ctx) -> dict:
    return {"card": card, "printed": orthodontics.printed_sections(card)}


rendering.register_layout(
    rendering.Layout(
        "orthodontic_card",
        "clinical/print/orthodontic_card.html",
        title=lambda card: str(card),
        context=_ortho_context,
    )
)


def _ortho_section(payload: dict) -> str:
    section = orthodontics.get(payload.get("section", ""))
    return str(section.title) if section else payload.get("section", "")


timeline.describe(
    "orthodontic_card.created",
    "grid-3x3",
    lambda payload: _("Orthodontic card No. %(number)s opened") % {"number": payload["number"]},
)
timeline.describe(
    "orthodontic_card.section_saved",
    "grid-3x3",
    lambda payload: (
        _("Orthodontic card No. %(number)s: %(section)s saved")
        % {"number": payload["number"], "section": _ortho_section(payload)}
    ),
)
timeline.describe(
    "orthodontic_card.reset",
    "eraser",
    lambda payload: (
        _("Orthodontic card No. %(number)s: %(section)s reset")
        % {"number": payload["number"], "section": _ortho_section(payload)}
        if payload.get("section")
        else _("Orthodontic card No. %(number)s reset") % {"number": payload["number"]}
    ),
)


# Diagnoses and records are medical data: only users who may read the clinical record see
# these events on the timeline.
timeline.register_kind(
    timeline.Kind(
        "clinical",
        gettext_lazy("Clinical record"),
        (
            "chart.",
            "medical_record.",
            "treatment_plan.",
            "perio_exam.",
            "image.",
            "orthodontic_card.",
        ),
        order=30,
        right=("clinical", "view"),
    )
)

post_save.connect(selectors.forget_diagnosis_options, sender=Diagnosis, dispatch_uid="options")
post_delete.connect(selectors.forget_diagnosis_options, sender=Diagnosis, dispatch_uid="options")
