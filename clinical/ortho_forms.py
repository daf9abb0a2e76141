"""The forms of the orthodontic card's sections (form 043-1/u) and of a new card.

Each section's form validates what the section stores: ``to_data`` turns its cleaned values
into JSON (dates as ISO text, empty values left out) and ``rows`` reads stored values back as
(label, text) pairs for the card's page and its print, with the same labels and choices."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from clinic.forms import DateInput, Form
from clinic.models import Employee

TEXT_LIMIT = 4000
LINE_LIMIT = 200


def _text(label, *, required: bool = False, rows: int = 3) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


def _line(label, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=LINE_LIMIT, **kwargs)


def _choice(label, choices) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, choices=[("", "—"), *choices])


def _several(label, choices) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label, required=False, choices=choices, widget=forms.CheckboxSelectMultiple
    )


def _date(label, *, required: bool = False) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=DateInput())


def _empty(value) -> bool:
    return value in (None, "", [], (), False)


class SectionForm(Form):
    """A section's fields. Saving a section with nothing filled in is refused: a section is
    cleared with Reset, which keeps its old values in the audit log."""

    def clean(self):
        cleaned = super().clean() or {}
        if not self.errors and all(_empty(value) for value in cleaned.values()):
            raise ValidationError(
                _("Nothing to save: fill in a field, or reset the section."), code="empty"
            )
        return cleaned

    def to_data(self) -> dict:
        data = {}
        for name, value in self.cleaned_data.items():
            if _empty(value):
                continue
            data[name] = value.isoformat() if isinstance(value, datetime.date) else value
        return data

    @classmethod
    def rows(cls, data: dict, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        """The stored values that are filled, in the form's order, as text."""
        rows = []
        for name, field in cls.base_fields.items():
            value = data.get(name)
            if name in skip or _empty(value):
                continue
            rows.append((str(field.label), _as_text(field, value)))
        return rows


def _as_text(field: forms.Field, value) -> str:
    if isinstance(field, forms.MultipleChoiceField):
        labels = dict(field.choices)  # type: ignore[arg-type]
        return ", ".join(str(labels.get(item, item)) for item in value)
    if isinstance(field, forms.ChoiceField):
        return str(dict(field.choices).get(value, value))  # type: ignore[arg-type]
    if isinstance(field, forms.BooleanField):
        return _("yes") if value else _("no")
    if isinstance(field, forms.DateField):
        try:
            return datetime.date.fromisoformat(str(value)).strftime("%d.%m.%Y")
        except ValueError:
            return str(value)
    return str(value)


def _icd10_code(value: str) -> str:
    from clinical.models import Diagnosis

    code = value.strip().upper()
    if code and not Diagnosis.objects.filter(code=code).exists():
        raise ValidationError(_("This diagnosis is not in the ICD-10 list."), code="no_such_code")
    return code


class TitlePageForm(SectionForm):
    first_visit_on = _date(gettext_lazy("Date of the first visit"))
    referred_by = _line(gettext_lazy("Referred by"))
    referral_diagnosis = _line(gettext_lazy("Diagnosis of the referring institution"))
    school_or_work = _line(gettext_lazy("Place of study or work"))
    parents = _line(gettext_lazy("Parents or legal representative"))
    previous_treatment = _choice(
        gettext_lazy("Orthodontic treatment before"),
        [
            ("none", pgettext_lazy("previous treatment", "none")),
            ("removable", gettext_lazy("removable appliances")),
            ("fixed", gettext_lazy("fixed appliances (braces)")),
        ],
    )
    notes = _text(gettext_lazy("Notes"), rows=2)


class ComplaintsForm(SectionForm):
    kinds = _several(
        gettext_lazy("Complaints"),
        [
            ("appearance", gettext_lazy("appearance of the teeth or face")),
            ("chewing", gettext_lazy("difficult biting or chewing")),
            ("speech", gettext_lazy("speech")),
            ("breathing", gettext_lazy("mouth breathing")),
            ("joint", gettext_lazy("pain or clicking in the jaw joint")),
        ],
    )
    text = _text(gettext_lazy("Complaints in the patient's words"))


class AnamnesisForm(SectionForm):
    feeding = _choice(
        gettext_lazy("Feeding in the first year"),
        [
            ("breast", gettext_lazy("breast")),
            ("artificial", gettext_lazy("artificial")),
            ("mixed", gettext_lazy("mixed")),
        ],
    )
    habits = _several(
        gettext_lazy("Bad habits"),
        [
            ("finger", gettext_lazy("finger sucking")),
            ("pacifier", gettext_lazy("pacifier")),
            ("lip", gettext_lazy("lip biting")),
            ("tongue", gettext_lazy("tongue thrusting")),
            ("nails", gettext_lazy("nail biting")),
            ("mouth_breathing", gettext_lazy("mouth breathing")),
        ],
    )
    diseases = _text(gettext_lazy("Past and concomitant diseases"), rows=2)
    heredity = _text(gettext_lazy("Heredity (anomalies in the family)"), rows=2)
    disease_history = _text(gettext_lazy("History of the present condition"))


YES_NO_TEST = [("positive", gettext_lazy("positive")), ("negative", gettext_lazy("negative"))]


class FaceForm(SectionForm):
    profile = _choice(
        gettext_lazy("Profile"),
        [
            ("straight", gettext_lazy("straight")),
            ("convex", gettext_lazy("convex")),
            ("concave", gettext_lazy("concave")),
        ],
    )
    symmetry = _choice(
        gettext_lazy("Symmetry of the face"),
        [("symmetric", gettext_lazy("symmetric")), ("asymmetric", gettext_lazy("asymmetric"))],
    )
    lips = _choice(
        gettext_lazy("Lips"),
        [
            ("closed", gettext_lazy("closed freely")),
            ("strained", gettext_lazy("closed with strain")),
            ("open", gettext_lazy("not closed")),
        ],
    )
    lower_third = _choice(
        gettext_lazy("Height of the lower third of the face"),
        [
            ("normal", gettext_lazy("normal")),
            ("reduced", gettext_lazy("reduced")),
            ("increased", gettext_lazy("increased")),
        ],
    )
    chin_fold = _choice(
        gettext_lazy("Chin fold"),
        [
            ("moderate", gettext_lazy("moderate")),
            ("smoothed", gettext_lazy("smoothed")),
            ("deep", gettext_lazy("deep")),
        ],
    )
    cephalometry = _text(gettext_lazy("Cephalometry (measurements)"))
    notes = _text(gettext_lazy("Notes"), rows=2)


class OralCavityForm(SectionForm):
    dental_formula = _text(gettext_lazy("Dental formula"), rows=2)
    molars = _choice(
        gettext_lazy("Molar relation (Angle class)"),
        [
            ("class1", gettext_lazy("Class I")),
            ("class2", gettext_lazy("Class II")),
            ("class3", gettext_lazy("Class III")),
        ],
    )
    overbite = _choice(
        gettext_lazy("Incisor overbite"),
        [
            ("normal", gettext_lazy("normal")),
            ("deep", gettext_lazy("deep")),
            ("open", gettext_lazy("open bite")),
        ],
    )
    transverse = _choice(
        gettext_lazy("Transverse relation"),
        [
            ("normal", gettext_lazy("normal")),
            ("cross_left", gettext_lazy("crossbite on the left")),
            ("cross_right", gettext_lazy("crossbite on the right")),
            ("cross_both", gettext_lazy("crossbite on both sides")),
        ],
    )
    midline = _choice(
        gettext_lazy("Midline"),
        [
            ("coincides", gettext_lazy("coincides")),
            ("left", gettext_lazy("shifted to the left")),
            ("right", gettext_lazy("shifted to the right")),
        ],
    )
    frenula = _line(gettext_lazy("Frenula of the lips and tongue"))
    hygiene = _choice(
        gettext_lazy("Oral hygiene"),
        [
            ("good", gettext_lazy("good")),
            ("fair", gettext_lazy("satisfactory")),
            ("poor", gettext_lazy("poor")),
        ],
    )
    notes = _text(gettext_lazy("Teeth, dentition and mucosa"))


class DiagnosisForm(SectionForm):
    diagnosis = _text(gettext_lazy("Diagnosis"), required=True)
    code = _line(gettext_lazy("ICD-10 code"), help_text=gettext_lazy("For example K07.2"))

    def clean_code(self) -> str:
        return _icd10_code(self.cleaned_data.get("code", ""))


class ClinicalDiagnosisForm(DiagnosisForm):
    established_on = _date(gettext_lazy("Established on"))


class XRayForm(SectionForm):
    panoramic_on = _date(gettext_lazy("Panoramic X-ray (OPG): date"))
    panoramic = _text(gettext_lazy("Panoramic X-ray findings"))
    cephalogram_on = _date(gettext_lazy("Lateral cephalogram: date"))
    cephalogram = _text(gettext_lazy("Cephalogram analysis"))
    other = _text(gettext_lazy("CBCT and other images"), rows=2)


class FunctionalTestsForm(SectionForm):
    breathing = _choice(
        gettext_lazy("Breathing"),
        [
            ("nasal", gettext_lazy("nasal")),
            ("oral", gettext_lazy("through the mouth")),
            ("mixed", gettext_lazy("mixed")),
        ],
    )
    swallowing = _choice(
        gettext_lazy("Swallowing"),
        [("normal", gettext_lazy("somatic (normal)")), ("infantile", gettext_lazy("infantile"))],
    )
    speech = _choice(
        gettext_lazy("Speech"),
        [("clear", gettext_lazy("clear")), ("impaired", gettext_lazy("impaired"))],
    )
    chewing = _choice(
        gettext_lazy("Chewing"),
        [("both", gettext_lazy("on both sides")), ("one", gettext_lazy("on one side"))],
    )
    ilyina_markosyan = _choice(gettext_lazy("Ilyina-Markosyan test"), YES_NO_TEST)
    eschler_bittner = _choice(gettext_lazy("Eschler-Bittner test"), YES_NO_TEST)
    notes = _text(gettext_lazy("Notes"), rows=2)


class AdditionalMethodsForm(SectionForm):
    models = _text(gettext_lazy("Study models (Pont, Korkhaus, Tonn indices)"))
    photos = _text(gettext_lazy("Photographs of the face and teeth"), rows=2)
    other = _text(gettext_lazy("Other methods and consultations"), rows=2)


class TreatmentPlanForm(SectionForm):
    appliance = _choice(
        gettext_lazy("Appliance"),
        [
            ("plate", gettext_lazy("removable plate")),
            ("functional", gettext_lazy("functional appliance")),
            ("braces", gettext_lazy("braces")),
            ("aligners", gettext_lazy("aligners")),
            ("combined", gettext_lazy("combined")),
        ],
    )
    aims = _text(gettext_lazy("Aims of the treatment"))
    stages = _text(gettext_lazy("Stages"))
    months = forms.IntegerField(
        label=gettext_lazy("Expected duration, months"), required=False, min_value=1, max_value=120
    )
    retention = _text(gettext_lazy("Retention"), rows=2)


class ConsentForm(SectionForm):
    given = forms.BooleanField(label=gettext_lazy("Informed consent given"), required=False)
    signed_on = _date(gettext_lazy("Signed on"))
    signed_by = _choice(
        gettext_lazy("Signed by"),
        [
            ("patient", gettext_lazy("the patient")),
            ("representative", gettext_lazy("the legal representative")),
        ],
    )
    representative = _line(gettext_lazy("Representative's name"))
    notes = _text(gettext_lazy("Notes"), rows=2)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("given") and not cleaned.get("signed_on"):
            self.add_error("signed_on", _("Give the date the consent was signed."))
        if cleaned.get("signed_by") == "representative" and not cleaned.get("representative"):
            self.add_error("representative", _("Name the representative who signed."))
        return cleaned


class EpicrisisForm(SectionForm):
    started_on = _date(gettext_lazy("Treatment started"))
    finished_on = _date(gettext_lazy("Treatment finished"))
    result = _choice(
        gettext_lazy("Result"),
        [
            ("good", gettext_lazy("good")),
            ("fair", gettext_lazy("satisfactory")),
            ("poor", gettext_lazy("unsatisfactory")),
        ],
    )
    summary = _text(gettext_lazy("Summary of the treatment"))
    recommendations = _text(gettext_lazy("Recommendations"), rows=2)

    def clean(self):
        cleaned = super().clean()
        started, finished = cleaned.get("started_on"), cleaned.get("finished_on")
        if started and finished and finished < started:
            self.add_error("finished_on", _("The treatment cannot finish before it started."))
        return cleaned


class DiaryEntryForm(SectionForm):
    """One visit in the orthodontist's diary: appended, never overwritten."""

    on = _date(gettext_lazy("Date"), required=True)
    text = _text(gettext_lazy("What was done"), required=True)
    next_visit_on = _date(gettext_lazy("Next visit"))


class ObservationEntryForm(SectionForm):
    """One observation after (or between stages of) the treatment: appended."""

    on = _date(gettext_lazy("Date"), required=True)
    text = _text(gettext_lazy("Observation"), required=True)


class NewCardForm(Form):
    opened_on = _date(gettext_lazy("Opened on"), required=True)
    doctor = forms.ModelChoiceField(
        label=gettext_lazy("Orthodontist"), queryset=Employee.objects.none(), required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = (  # type: ignore[attr-defined]
            Employee.objects.for_user(user).doctors()
        )
