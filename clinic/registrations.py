"""The core's reference books, recycle-bin sections and file kinds (loaded by
``ClinicConfig.ready``)."""

from django.utils.translation import gettext_lazy as _

from clinic import files, references, retention, services, trash
from clinic.models import (
    Branch,
    Chair,
    Employee,
    Gender,
    Insurer,
    MarketingChannel,
    Organization,
    ParentDiagnosisGroup,
    PatientGroup,
    PayVariant,
    Profession,
    ProfessionKind,
    RightsGroup,
    Unit,
)
from clinic.references import ReferenceBook

references.register(ReferenceBook("genders", _("Genders"), Gender, icon="gender-ambiguous"))
references.register(
    ReferenceBook(
        "doctor-professions",
        _("Doctor professions"),
        Profession,
        fixed={"kind": ProfessionKind.DOCTOR},
        description=_(
            "Therapist, surgeon, orthodontist: used in the calendar filter and price list."
        ),
        icon="heart-pulse",
    )
)
references.register(
    ReferenceBook(
        "staff-professions",
        _("Staff professions"),
        Profession,
        fixed={"kind": ProfessionKind.STAFF},
        description=_("Administrator, coordinator, accountant, assistant."),
        icon="person-workspace",
    )
)
references.register(
    ReferenceBook(
        "parent-diagnoses",
        _("Parent diagnosis groups"),
        ParentDiagnosisGroup,
        icon="diagram-3",
    )
)
references.register(ReferenceBook("insurers", _("Insurers"), Insurer, icon="shield-plus"))
references.register(
    ReferenceBook(
        "marketing-channels",
        _("Marketing channels"),
        MarketingChannel,
        description=_("Where patients heard of the clinic."),
        icon="megaphone",
    )
)
references.register(
    ReferenceBook(
        "patient-groups",
        _("Patient groups (CLV)"),
        PatientGroup,
        description=_("Segments for the CLV analytics of the marketing module."),
        icon="people",
    )
)
references.register(
    ReferenceBook(
        "units",
        _("Units of measure"),
        Unit,
        fields=("name", "short_name", "measure", "ratio"),
        description=_("Units of consumables, with the ratio to the base unit of their measure."),
        icon="rulers",
    )
)
references.register(
    ReferenceBook(
        "pay-variants",
        _("Pay variants"),
        PayVariant,
        fields=("name", "period"),
        description=_("Per month, day, hour, shift or your own."),
        icon="cash-stack",
    )
)

trash.register(
    trash.TrashSection(
        "employees",
        _("Staff"),
        Employee,
        "staff",
        event_prefix="employee",
        on_delete=services.employee_deleted,
        on_restore=services.employee_restored,
    )
)
trash.register(
    trash.TrashSection(
        "rights-groups",
        _("Rights groups"),
        RightsGroup,
        "references",
        on_delete=services.rights_group_deleting,
    )
)
trash.register(
    trash.TrashSection(
        "branches",
        _("Branches"),
        Branch,
        "settings",
        event_prefix="branch",
        on_delete=services.branch_deleting,
    )
)
trash.register(
    trash.TrashSection(
        "chairs",
        _("Chairs"),
        Chair,
        "settings",
        event_prefix="chair",
        describe=lambda chair: f"{chair.branch} · {chair}",  # type: ignore[attr-defined]
    )
)

retention.register(
    retention.RetentionRule("dispatched_events", purge=retention.purge_dispatched_events)
)
retention.register(
    retention.RetentionRule("expired_sessions", purge=retention.purge_expired_sessions)
)

# The logo is on every page's sidebar: any signed-in employee may load it.
files.register(
    files.FileKind(
        "organization-logo",
        Organization,
        "logo",
        inline=True,
        cache_seconds=3600,
        audited=False,
    )
)
