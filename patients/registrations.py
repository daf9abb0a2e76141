"""What the patients app plugs into the core: recycle bin, settings, event handlers, demo,
file kinds."""

from django import forms
from django.utils.translation import gettext_lazy as _

from clinic import demo, files, live, preferences, trash
from clinic.permissions import has_module_perm
from patients import handlers, timeline  # noqa: F401  (handlers subscribe on import)
from patients.models import Patient, PatientImport

# "patient.<id>": the card's events changed (patients are shared by the whole network).
live.register_topic(
    "patient", lambda user, rest: rest.isdigit() and has_module_perm(user, "patients", "view")
)

trash.register(
    trash.TrashSection(
        "patients",
        _("Patients"),
        Patient,
        "patients",
        event_prefix="patient",
        describe=lambda patient: f"{patient} (№ {patient.card_number})",  # type: ignore[attr-defined]
        patient_of=lambda patient: patient.pk,
    )
)

# An import file is a whole patient list: only those who may import may download it back.
files.register(
    files.FileKind(
        "patient-import",
        PatientImport,
        "file",
        right=("patients", "import"),
        filename=lambda job: job.original_name,  # type: ignore[attr-defined]
    )
)

preferences.register(
    preferences.Preference(
        "patients.returning_after_months",
        "patients",
        _("Reset the patient's status to returning after months without activity"),
        lambda: forms.IntegerField(min_value=1, max_value=120),
        default=12,
        help_text=_(
            "A patient is primary from registration through the first course of treatment; after "
            "this many months without visits or payments the card becomes returning."
        ),
    )
)


def _seed(log) -> None:
    from patients.demo import seed_patients

    seed_patients(log)


demo.register_seeder(10, "patients", _seed)
