"""The project's URL conf as data, for tests that visit every URL.

``ROUTES`` enumerates every routed view with its declared access; ``build_world`` makes one
object of each kind a URL with parameters needs, and ``url_for`` fills a route's parameters
from ``SAMPLES``. The URL permission walk, the hostile-input walk and the quickstart walk
share them, so a new view is covered by all three once it has a sample here.
"""

import datetime
import io
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from PIL import Image

from clinic import demo, testing
from clinic.models import Gender, Organization, OutboxEvent
from clinic.permissions import Access
from clinic.tests.factories import BranchFactory, ChairFactory, EmployeeFactory

# Routes that other projects own and test; here they only must not fail with a 500.
THIRD_PARTY_PREFIXES = ("accounts/", "i18n/")


@dataclass
class Route:
    path: str
    name: str
    callback: object
    has_params: bool

    @property
    def third_party(self) -> bool:
        return self.path.startswith(THIRD_PARTY_PREFIXES) or self.name == "api:api-root"

    @property
    def path_view(self):
        """django-ninja's PathView behind an API URL (its wrapper closes over it)."""
        for cell in getattr(self.callback, "__closure__", None) or ():
            if hasattr(cell.cell_contents, "operations"):
                return cell.cell_contents
        return None

    @property
    def is_api(self) -> bool:
        return self.path.startswith("api/")

    def accesses(self) -> list[tuple[str, Access | None]]:
        """(HTTP method, declared access) of each operation behind this URL."""
        path_view = self.path_view
        if path_view is not None:
            return [
                (
                    method,
                    next(
                        (cb.access for cb in operation.auth_callbacks if hasattr(cb, "access")),
                        None,
                    ),
                )
                for operation in path_view.operations
                for method in operation.methods
            ]
        return [("*", getattr(self.callback, "access", None))]


def walk_urls(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk_urls(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            path = prefix + str(pattern.pattern)
            name = f"{namespace}{pattern.name}" if pattern.name else path
            has_params = bool(re.search(r"<\w+(:\w+)?>|\(\?P<", path))
            yield Route(path, name, pattern.callback, has_params)


ROUTES = list(walk_urls(get_resolver().url_patterns))


def sample_png() -> bytes:
    """A 1x1 PNG: a logo for the file URL's sample."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def _failed_sync_log_entry():
    """A failed line of the sync log (no provider's retry handler is registered for it)."""
    from integrations import synclog

    return synclog.log(
        direction="out",
        system="probe",
        action="probe.push",
        result="failed",
        entity_type="patient",
        entity_id="1",
        error="probe",
    )


def _paused_amocrm_sync():
    """An initial amoCRM sync that was paused (its connection is not connected)."""
    from integrations.models import SyncJob
    from integrations.services import connection_ensure

    return SyncJob.objects.create(
        system="amocrm", connection=connection_ensure(system="amocrm"), status="paused"
    )


def _done_app_accounts_sync():
    """A finished run of amoCRM's "Sync app accounts" (the patients list's)."""
    from integrations.models import SyncJob
    from integrations.services import connection_ensure

    return SyncJob.objects.create(
        system="amocrm",
        connection=connection_ensure(system="amocrm"),
        kind="app_accounts",
        status="done",
        cursor={"from": "2026-01-01", "to": "2026-01-31", "after": 0},
    )


def build_world(branch, media_root) -> dict:
    """One object of each kind the sampled URLs need (the caller sets MEDIA_ROOT).

    The branch-scoped objects (staff, chairs, a shift, a visit, a waiting-list entry and a
    deleted one of each for the recycle bin) exist in ``branch`` and again in a second
    branch, ``world["elsewhere"]``: a world of the same shape whose shared objects
    (patients, reference books, rights groups) are the same, for the walk that checks a
    user of ``branch`` reaches nothing of the other branch. ``world["elsewhere"]["markers"]``
    are names that only the other branch's objects carry.
    """
    organization = Organization.objects.get_or_create(pk=1)[0]
    organization.logo.save("logo.png", ContentFile(sample_png()))
    Organization.forget_cached()
    gender = Gender.objects.create(name="Образец")
    deleted_gender = Gender.objects.create(name="Удалённый", deleted_at="2026-01-01T00:00Z")
    groups = demo.ensure_rights_groups()
    from documents.tests.factories import make_template, printed_copy
    from patients.tests.factories import PatientFactory, PatientImportFactory

    patient = PatientFactory()
    template = make_template()
    shared = {
        "patient": patient,
        "tooth_record": _tooth_record(patient),
        "document_template": template,
        "printed_document": printed_copy(patient, template=template),
        "patient_import": PatientImportFactory(),
        "gender": gender,
        "deleted_gender": deleted_gender,
        "rights_group": groups["accountant"],
        "failed_event": OutboxEvent.objects.create(
            name="probe.failed", attempts=12, failed_at=timezone.now(), last_error="probe"
        ),
        "sync_log_entry": _failed_sync_log_entry(),
        "amocrm_job": _paused_amocrm_sync(),
        "amocrm_app_accounts_job": _done_app_accounts_sync(),
    }
    world = {
        **shared,
        **_branch_objects(branch, shared["patient"], employee="Образцов", doctor="Врачов"),
    }
    shared.update(_medical_records(patient, world["doctor"]))
    shared["ortho_card"] = _ortho_card(patient)
    shared["clinical_image"] = _clinical_image(patient, branch)
    shared["plan_template"] = _plan_template()
    shared["service"] = _plan_service()
    shared["service_category"] = shared["service"].category
    shared["discount"] = _discount()
    shared["tax_certificate"] = _tax_certificate(patient)
    world.update(shared)
    world["price_list"] = _branch_price_list(branch, "Прайс-лист филиала")
    world.update(_plans(branch, patient, world["doctor"]))
    world.update(_billing(branch, patient))
    elsewhere = testing.other_branch()
    world["elsewhere"] = {
        **shared,
        **_branch_objects(
            elsewhere,
            shared["patient"],
            employee="Чужакова",
            doctor="Чужеврачов",
            chair="Чужое кресло",
        ),
    }
    world["elsewhere"].update(_plans(elsewhere, patient, world["elsewhere"]["doctor"]))
    world["elsewhere"].update(_billing(elsewhere, patient))
    closed = BranchFactory(name="Закрытый чужой филиал", deleted_at=timezone.now())
    world["elsewhere"]["employee"].branches.add(closed)
    world["elsewhere"]["deleted"]["branches"] = closed
    world["elsewhere"]["price_list"] = _branch_price_list(elsewhere, "Чужой прайс-лист")
    world["elsewhere"]["markers"] = [
        "Чужой прайс-лист",
        elsewhere.name,
        closed.name,
        "Чужакова",
        "Чужеврачов",
        "Чужое кресло",
    ]
    return world


def _tooth_record(patient):
    from clinical.icd10 import load_icd10
    from clinical.models import Diagnosis, DiagnosisCategory, ToothRecord

    load_icd10(DiagnosisCategory, Diagnosis)  # emptied by a transactional test's flush
    return ToothRecord.objects.create(
        patient=patient, tooth=36, diagnosis=Diagnosis.objects.get(code="K02.1"), state="caries"
    )


def _clinical_image(patient, branch):
    """An X-ray of the patient taken in ``branch`` (images are shared with the card)."""
    from clinical.tests.factories import clinical_image

    return clinical_image(patient, branch, teeth="36")


def _medical_records(patient, doctor) -> dict:
    """A draft record (edited, signed) and a signed one (corrected) of the patient."""
    from clinical.models import Diagnosis, MedicalRecord

    def record(**kwargs):
        made = MedicalRecord.objects.create(patient=patient, doctor=doctor, **kwargs)
        made.diagnoses.set([Diagnosis.objects.get(code="K02.1")])
        return made

    return {
        "medical_record": record(complaints="Боль"),
        "signed_medical_record": record(complaints="Боль", signed_at=timezone.now()),
        "perio_exam": _perio_exam(patient, doctor),
    }


def _ortho_card(patient):
    """An orthodontic card with one section filled."""
    from clinical.models import OrthodonticCard, OrthodonticSection

    card = OrthodonticCard.objects.create(patient=patient, number=1)
    OrthodonticSection.objects.create(card=card, key="complaints", data={"text": "Скученность"})
    return card


def _perio_exam(patient, doctor):
    from clinical.models import PerioExam

    site = {"pd": [3, 2, 4, 3, 2, 3], "gm": [0, 0, 1, 0, 0, 0]}
    flags = {"bop": [False, False, True, False, False, False], "sup": [False] * 6}
    return PerioExam.objects.create(
        patient=patient,
        doctor=doctor,
        measurements={
            "16": {**site, **flags, "plaque": [False] * 6, "mobility": 0, "furcation": 1}
        },
        missing=[18],
    )


def _plan_service():
    from pricelist.models import Service, ServiceCategory

    category = ServiceCategory.objects.get_or_create(name="Образцовая категория")[0]
    return Service.objects.get_or_create(
        code="SAMPLE-1",
        defaults={"category": category, "name": "Образцовая услуга", "price": "1000.00"},
    )[0]


def _branch_price_list(branch, name: str):
    from pricelist.models import Price, PriceList, PriceListKind

    price_list = PriceList.objects.create(kind=PriceListKind.BRANCH, branch=branch, name=name)
    Price.objects.create(
        price_list=price_list,
        service=_plan_service(),
        amount="900.00",
        effective_from=timezone.localdate(),
    )
    return price_list


def _discount():
    from billing.models import Discount

    return Discount.objects.create(name="Образцовая скидка", kind="percent", value=10)


def _plan_template():
    from clinic.models import Profession
    from clinical.models import Diagnosis, PlanTemplate, PlanTemplateLine

    template = PlanTemplate.objects.create(name="Образцовый шаблон")
    template.diagnoses.set([Diagnosis.objects.get(code="K02.1")])
    profession = Profession.objects.get_or_create(name="Образцовый врач", kind="doctor")[0]
    PlanTemplateLine.objects.create(
        template=template, service=_plan_service(), profession=profession, hours=1
    )
    return template


def _plans(branch, patient, doctor) -> dict:
    """A draft plan of ``branch`` with a line, and an empty second stage."""
    from clinical.models import PlanLine, PlanStage, TreatmentPlan
    from clinical.plans import next_plan_number

    number = next_plan_number(patient)
    plan = TreatmentPlan.objects.create(
        patient=patient, branch=branch, doctor=doctor, number=number
    )
    stage = PlanStage.objects.create(plan=plan, name="Этап 1", position=1)
    empty = PlanStage.objects.create(plan=plan, name="Этап 2", position=2)
    line = PlanLine.objects.create(
        plan=plan, stage=stage, service=_plan_service(), tooth=36, price="1000.00"
    )
    return {"plan": plan, "plan_stage": empty, "plan_line": line}


def _tax_certificate(patient):
    from billing.models import TaxCertificate

    return TaxCertificate.objects.create(
        number=1,
        tax_year=timezone.localdate().year,
        patient=patient,
        taxpayer=patient,
        amount_ordinary="100.00",
        details={"taxpayer": {"name": patient.full_name}, "patient": {}, "organization": {}},
    )


def _draft_invoice(branch, patient, service):
    from decimal import Decimal

    from billing import services

    return services.invoice_create(
        patient=patient,
        branch=branch,
        by=None,
        lines=[services.LineInput(service=service, price=Decimal("500.00"))],
    )


def _billing(branch, patient) -> dict:
    """An issued invoice of ``branch`` with a part paid, a draft, and a prepayment taken
    there."""
    from decimal import Decimal

    from billing import services
    from billing.methods import ensure_payment_methods, method_of_kind

    ensure_payment_methods()  # emptied by a transactional test's flush
    cash = method_of_kind("cash")
    invoice = services.invoice_create(
        patient=patient,
        branch=branch,
        by=None,
        lines=[services.LineInput(service=_plan_service(), price=Decimal("1000.00"))],
    )
    services.invoice_issue(invoice=invoice, by=None)
    [payment] = services.invoice_pay(invoice=invoice, amount=Decimal("100"), method=cash, by=None)
    services.deposit_top_up(
        patient=patient, amount=Decimal("50"), method=cash, branch=branch, by=None
    )
    draft = _draft_invoice(branch, patient, _plan_service())
    return {"invoice": invoice, "payment": payment, "draft_invoice": draft}


def _branch_objects(branch, patient, *, employee: str, doctor: str, chair: str = "") -> dict:
    from calendar_app.models import Appointment, WaitingListEntry, WorkShift

    def new_chair(suffix: str, **kwargs):
        return ChairFactory(
            branch=branch, **({"name": f"{chair} {suffix}"} if chair else {}), **kwargs
        )

    the_doctor = EmployeeFactory(last_name=doctor, branches=[branch])
    shift_chair = new_chair("1")
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(days=2)
    hour = datetime.timedelta(hours=1)
    shift = WorkShift.objects.create(
        doctor=the_doctor, chair=shift_chair, branch=branch, start=start, end=start + 6 * hour
    )
    visit = {"patient": patient, "doctor": the_doctor, "chair": shift_chair, "branch": branch}
    appointment = Appointment.objects.create(
        **visit, start=start, end=start + datetime.timedelta(minutes=30)
    )
    gone = timezone.now()
    return {
        "appointment": appointment,
        "shift": shift,
        "waiting": WaitingListEntry.objects.create(patient=patient, branch=branch),
        "branch": branch,
        "chair": new_chair("2"),
        "doctor": the_doctor,
        "employee": EmployeeFactory(last_name=employee, branches=[branch]),
        # One deleted object of each branch-scoped recycle-bin section, keyed by section.
        "deleted": {
            "appointments": Appointment.objects.create(
                **visit, start=start + hour, end=start + 2 * hour, deleted_at=gone
            ),
            "shifts": WorkShift.objects.create(
                doctor=the_doctor,
                chair=shift_chair,
                branch=branch,
                start=start + 24 * hour,
                end=start + 30 * hour,
                deleted_at=gone,
            ),
            "waitlist": WaitingListEntry.objects.create(
                patient=patient, branch=branch, deleted_at=gone
            ),
            "chairs": new_chair("3", deleted_at=gone),
            "employees": EmployeeFactory(
                last_name=f"{employee}-бывш", branches=[branch], deleted_at=gone
            ),
        },
    }


SAMPLES = {
    # Any signed-in employee may load the logo; every kind against every role is in
    # clinic/tests/test_files.py.
    "clinic:file": lambda w: {"kind": "organization-logo", "pk": 1},
    "clinic:employee-detail": lambda w: {"pk": w["employee"].pk},
    "clinic:employee-update": lambda w: {"pk": w["employee"].pk},
    "clinic:employee-login": lambda w: {"pk": w["employee"].pk},
    "clinic:employee-rights": lambda w: {"pk": w["employee"].pk},
    "clinic:employee-delete": lambda w: {"pk": w["employee"].pk},
    "clinic:rights-group-update": lambda w: {"pk": w["rights_group"].pk},
    "clinic:rights-group-delete": lambda w: {"pk": w["rights_group"].pk},
    "clinic:reference-book": lambda w: {"key": "genders"},
    "clinic:reference-item-create": lambda w: {"key": "genders"},
    "clinic:reference-item-update": lambda w: {"key": "genders", "pk": w["gender"].pk},
    "clinic:reference-item-delete": lambda w: {"key": "genders", "pk": w["gender"].pk},
    "clinic:trash-restore": lambda w: {
        "section": "reference-genders",
        "pk": w["deleted_gender"].pk,
    },
    "clinic:branch-detail": lambda w: {"pk": w["branch"].pk},
    "clinic:branch-update": lambda w: {"pk": w["branch"].pk},
    "clinic:branch-delete": lambda w: {"pk": w["branch"].pk},
    "clinic:chair-create": lambda w: {"branch_pk": w["branch"].pk},
    "clinic:chairs-reorder": lambda w: {"branch_pk": w["branch"].pk},
    "clinic:chair-rename": lambda w: {"pk": w["chair"].pk},
    "clinic:chair-delete": lambda w: {"pk": w["chair"].pk},
    "clinic:failed-event-retry": lambda w: {"pk": w["failed_event"].pk},
    "integrations:webhook": lambda w: {"system": "nobody"},
    "integrations:sync-log-retry": lambda w: {"pk": w["sync_log_entry"].pk},
    # No amoCRM is connected in the walks: a wrong secret is a 404.
    "integrations:amocrm-setup": lambda w: {"step": "pipeline"},
    "integrations:amocrm-hook": lambda w: {"secret": "not-the-secret"},
    "integrations:amocrm-initial-start": lambda w: {"pk": w["amocrm_job"].pk},
    "integrations:amocrm-initial-pause": lambda w: {"pk": w["amocrm_job"].pk},
    "integrations:amocrm-panel": lambda w: {"token": "not-a-panel-token"},
    "integrations:amocrm-panel-edit": lambda w: {"token": "not-a-panel-token"},
    "integrations:amocrm-panel-cancel": lambda w: {"token": "not-a-panel-token"},
    "integrations:amocrm-panel-book": lambda w: {"token": "not-a-panel-token"},
    "integrations:amocrm-panel-slots": lambda w: {"token": "not-a-panel-token"},
    "integrations:amocrm-panel-confirm": lambda w: {"token": "not-a-panel-token"},
    "integrations:amocrm-app-account-update": lambda w: {"pk": w["patient"].pk},
    "integrations:amocrm-app-accounts-job": lambda w: {"pk": w["amocrm_app_accounts_job"].pk},
    **{
        f"patients:{name}": lambda w: {"pk": w["patient"].pk}
        for name in (
            "card",
            "profile-edit",
            "info-edit",
            "delete",
            "family-create",
            "family-join",
            "family-leave",
            "portal-activate",
            "portal-deactivate",
            "representative-edit",
            "representative-remove",
        )
    },
    "patients:section": lambda w: {"pk": w["patient"].pk, "section": "diagnostics"},
    "patients:timeline": lambda w: {"pk": w["patient"].pk},
    **{
        f"documents:template-{name}": lambda w: {"pk": w["document_template"].pk}
        for name in ("detail", "edit", "delete", "sample-pdf")
    },
    "documents:template-version": lambda w: {"pk": w["document_template"].pk, "number": 1},
    "documents:patient-documents": lambda w: {"pk": w["patient"].pk},
    "documents:patient-print": lambda w: {"pk": w["patient"].pk},
    **{
        f"documents:copy-{name}": lambda w: {"pk": w["printed_document"].pk}
        for name in ("detail", "pdf", "status", "scan")
    },
    "patients:import-detail": lambda w: {"pk": w["patient_import"].pk},
    "patients:import-confirm": lambda w: {"pk": w["patient_import"].pk},
    "patients:import-cancel": lambda w: {"pk": w["patient_import"].pk},
    "patients:import-resume": lambda w: {"pk": w["patient_import"].pk},
    "patients:import-give-up": lambda w: {"pk": w["patient_import"].pk},
    **{
        f"calendar:appointment-{name}": lambda w: {"pk": w["appointment"].pk}
        for name in ("detail", "edit", "move", "reschedule", "status", "cancel", "delete")
    },
    "calendar:patient-visits": lambda w: {"pk": w["patient"].pk},
    "calendar:shift-move": lambda w: {"pk": w["shift"].pk},
    "calendar:shift-delete": lambda w: {"pk": w["shift"].pk},
    "calendar:waitlist-remove": lambda w: {"pk": w["waiting"].pk},
    "schedule:status": lambda w: {"pk": w["appointment"].pk},
    "clinical:chart": lambda w: {"pk": w["patient"].pk},
    "clinical:chart-add": lambda w: {"pk": w["patient"].pk},
    "clinical:record-remove": lambda w: {"pk": w["tooth_record"].pk},
    "clinical:history": lambda w: {"pk": w["patient"].pk},
    "clinical:history-new": lambda w: {"pk": w["patient"].pk},
    "clinical:history-edit": lambda w: {"pk": w["medical_record"].pk},
    "clinical:history-sign": lambda w: {"pk": w["medical_record"].pk},
    "clinical:history-correct": lambda w: {"pk": w["signed_medical_record"].pk},
    "clinical:history-versions": lambda w: {"pk": w["signed_medical_record"].pk},
    "clinical:history-print": lambda w: {"pk": w["medical_record"].pk},
    "clinical:ortho": lambda w: {"pk": w["patient"].pk},
    "clinical:ortho-new": lambda w: {"pk": w["patient"].pk},
    "clinical:ortho-card": lambda w: {"pk": w["ortho_card"].pk},
    "clinical:ortho-section": lambda w: {"pk": w["ortho_card"].pk, "key": "complaints"},
    "clinical:ortho-section-reset": lambda w: {"pk": w["ortho_card"].pk, "key": "complaints"},
    "clinical:ortho-reset": lambda w: {"pk": w["ortho_card"].pk},
    "clinical:ortho-status": lambda w: {"pk": w["ortho_card"].pk},
    "clinical:ortho-print": lambda w: {"pk": w["ortho_card"].pk},
    "clinical:images": lambda w: {"pk": w["patient"].pk},
    "clinical:image-upload": lambda w: {"pk": w["patient"].pk},
    "clinical:image-detail": lambda w: {"pk": w["clinical_image"].pk},
    "clinical:image-remove": lambda w: {"pk": w["clinical_image"].pk},
    "clinical:perio": lambda w: {"pk": w["patient"].pk},
    "clinical:perio-new": lambda w: {"pk": w["patient"].pk},
    "clinical:perio-compare": lambda w: {"pk": w["patient"].pk},
    "clinical:perio-exam": lambda w: {"pk": w["perio_exam"].pk},
    "clinical:perio-edit": lambda w: {"pk": w["perio_exam"].pk},
    "clinical:perio-print": lambda w: {"pk": w["perio_exam"].pk},
    "clinical:perio-delete": lambda w: {"pk": w["perio_exam"].pk},
    "clinical:ortho-delete": lambda w: {"pk": w["ortho_card"].pk},
    "clinical:plans": lambda w: {"pk": w["patient"].pk},
    "clinical:plan-new": lambda w: {"pk": w["patient"].pk},
    **{
        f"clinical:{name}": (lambda w: {"pk": w["plan"].pk})
        for name in (
            "plan",
            "plan-edit",
            "plan-lines-add",
            "plan-stage-add",
            "plan-status",
            "plan-suggest",
            "plan-apply",
            "plan-print",
            "plan-book",
        )
    },
    "clinical:plan-stage-remove": lambda w: {"pk": w["plan_stage"].pk},
    "clinical:plan-stage-rename": lambda w: {"pk": w["plan_stage"].pk},
    "clinical:plan-stage-move": lambda w: {"pk": w["plan_stage"].pk},
    "clinical:plan-line": lambda w: {"pk": w["plan_line"].pk},
    "clinical:plan-line-remove": lambda w: {"pk": w["plan_line"].pk},
    "clinical:plan-template": lambda w: {"pk": w["plan_template"].pk},
    **{
        f"pricelist:{name}": lambda w: {"pk": w["service_category"].pk}
        for name in ("category-rename", "category-delete")
    },
    "pricelist:category-move": lambda w: {"pk": w["service_category"].pk, "direction": "up"},
    **{
        f"pricelist:{name}": lambda w: {"pk": w["service"].pk}
        for name in (
            "service",
            "service-update",
            "service-price-add",
            "service-consumables",
            "service-diagnoses",
            "service-delete",
        )
    },
    "pricelist:list-edit": lambda w: {"pk": w["price_list"].pk},
    "billing:discount-edit": lambda w: {"pk": w["discount"].pk},
    "billing:discount-delete": lambda w: {"pk": w["discount"].pk},
    **{
        f"billing:{name}": (lambda w: {"pk": w["patient"].pk})
        for name in ("payments", "balance", "invoice-new", "deposit-top-up", "deposit-withdraw")
    },
    **{
        f"billing:{name}": (lambda w: {"pk": w["invoice"].pk})
        for name in (
            "invoice-issue",
            "invoice-discard",
            "invoice-pay",
            "invoice-rollback",
            "invoice-print",
            "act-print",
        )
    },
    "billing:invoice-edit": lambda w: {"pk": w["draft_invoice"].pk},
    **{
        f"billing:{name}": (lambda w: {"pk": w["payment"].pk})
        for name in ("payment-rollback", "payment-refund")
    },
    "billing:certificate-new": lambda w: {"pk": w["patient"].pk},
    **{
        f"billing:{name}": (lambda w: {"pk": w["tax_certificate"].pk})
        for name in ("certificate-done", "certificate-pdf", "certificate-correct")
    },
}


# Redirect targets of an outside flow: visited without the flow's own parameters (an
# OAuth state that this session started), they refuse the request with a message (400).
FLOW_RETURN_ROUTES = {"integrations:amocrm-oauth-callback"}

# Pages authenticated by a signed token in their path (amoCRM's deal card panel): a sample's
# made-up token is refused (403) whoever asks.
SIGNED_PATH_ROUTES = {
    f"integrations:amocrm-panel{name}"
    for name in ("", "-edit", "-cancel", "-book", "-slots", "-confirm")
}


# Routes that also read an object's id from the query string: the walks add these.
QUERY_SAMPLES = {
    **{
        f"calendar:{name}": lambda w: {"branch": w["branch"].pk}
        for name in ("calendar", "feed-resources", "feed-events", "shift-create", "waitlist")
    },
    "calendar:waitlist-add": lambda w: {"branch": w["branch"].pk, "patient": w["patient"].pk},
    "calendar:appointment-create": lambda w: {
        "branch": w["branch"].pk,
        "chair": w["chair"].pk,
        "waitlist": w["waiting"].pk,
    },
    "schedule:day": lambda w: {"doctor": w["doctor"].pk},
    # A document printed for a visit: only a visit of the user's branches.
    "documents:patient-print": lambda w: {
        "template": w["document_template"].pk,
        "visit": w["appointment"].pk,
    },
    "calendar:find-time": lambda w: {
        "branch": w["branch"].pk,
        "doctor": w["appointment"].doctor_id,
        "patient": w["patient"].pk,
        "duration": 30,
    },
    "api:slots": lambda w: {
        "doctor": w["doctor"].pk,
        "duration": 30,
        "date_from": timezone.localdate().isoformat(),
        "date_to": (timezone.localdate() + datetime.timedelta(days=6)).isoformat(),
    },
}

# A body that would change something, for POSTs whose empty body is refused before they
# reach their object (so that "nothing changed" means something).
POST_SAMPLES = {
    "schedule:status": {"status": "arrived"},
    "calendar:appointment-status": {"status": "confirmed"},
    "calendar:appointment-cancel": {"reason": "Проверка"},
    "clinic:chair-rename": {"name": "Переименовано"},
    "documents:copy-status": {"status": "signed"},
    "clinical:chart-add": {"teeth": ["11"], "dentition": "permanent", "state": "caries"},
    "clinical:ortho-section": {"text": "Проверка"},
    "clinical:ortho-reset": {"confirm": "all"},
    "clinical:ortho-status": {"status": "closed"},
    "clinical:plan-status": {"action": "cancel"},
    "clinical:plan-line": {"quantity": "2"},
    "clinical:plan-stage-add": {"name": "Этап"},
    "clinical:plan-stage-rename": {"name": "Этап"},
    "clinical:plan-stage-move": {"direction": "up"},
    "pricelist:category-rename": {"name": "Переименовано"},
    "pricelist:list-edit": {"name": "Переименовано"},
    "billing:invoice-pay": {"amount": "10", "method": ""},
    "billing:invoice-rollback": {"reason": "Проверка"},
    "billing:payment-rollback": {"reason": "Проверка"},
    "billing:payment-refund": {"amount": "10", "reason": "Проверка"},
    "billing:deposit-withdraw": {"amount": "10", "confirm": "on", "reason": "Проверка"},
}

# More URLs of one route: the recycle bin restores one deleted object of each section.
EXTRA_SAMPLES = {
    "clinic:trash-restore": [
        (lambda w, section=section: {"section": section, "pk": w["deleted"][section].pk})
        for section in ("appointments", "shifts", "waitlist", "chairs", "employees", "branches")
    ],
}


def urls_for(route: Route, world) -> list[str]:
    """Every URL the walks visit for ``route``: its sample, with the query-string sample
    when it has one, and its extra samples (those whose objects exist in ``world``)."""
    url = url_for(route, world)
    if url is None:
        return []
    urls = [url]
    query = QUERY_SAMPLES.get(route.name)
    if query is not None:
        urls = [f"{url}?{urlencode(query(world))}"]
    for extra in EXTRA_SAMPLES.get(route.name, []):
        try:
            urls.append(_fill(route, extra(world)))
        except KeyError:
            continue
    return urls


def _fill(route: Route, params: dict) -> str:
    url = "/" + route.path
    for key, value in params.items():
        url = re.sub(rf"<(\w+:)?{key}>", str(value), url)
    return url


def url_for(route: Route, world) -> str | None:
    if not route.has_params:
        return "/" + route.path.replace("^", "").replace("$", "").replace("\\Z", "")
    sample = SAMPLES.get(route.name)
    if sample is None:
        return None
    return _fill(route, sample(world))


def _demo_plans(found) -> dict:
    from clinical.models import PlanLine, PlanTemplate, TreatmentPlan

    plan = found(
        TreatmentPlan.objects.filter(status="draft", lines__isnull=False).order_by("pk").first(),
        "draft treatment plan with lines",
    )
    line = PlanLine.objects.filter(plan=plan).order_by("pk").first()
    return {
        "plan": plan,
        "plan_stage": line.stage,
        "plan_line": line,
        "plan_template": found(PlanTemplate.objects.order_by("pk").first(), "plan template"),
    }


def _demo_price_list(found, branch) -> dict:
    from pricelist.models import PriceList, Service
    from pricelist.prices import base_list

    service = found(Service.objects.order_by("pk").first(), "service")
    return {
        "service": service,
        "service_category": service.category,
        "price_list": PriceList.objects.filter(branch=branch).first() or base_list(),
    }


def _demo_billing(found) -> dict:
    from billing.models import Invoice, Payment, TaxCertificate

    return {
        "tax_certificate": found(TaxCertificate.objects.order_by("pk").first(), "tax certificate"),
        "invoice": found(Invoice.objects.issued().order_by("pk").first(), "issued invoice"),
        "payment": found(
            Payment.objects.filter(invoice__isnull=False, rolled_back_at__isnull=True)
            .order_by("pk")
            .first(),
            "invoice payment",
        ),
    }


class DemoWorld(dict):
    """``build_world``'s keys over the demo data; a key only ``build_world`` knows fails by
    name, so a new sample that the quickstart walk cannot fill says where to add it."""

    def __missing__(self, key):
        raise KeyError(
            f"SAMPLES uses world[{key!r}], which clinic.testing_urls.demo_world does not "
            "provide: add the demo's object of that kind there (next to build_world's)"
        )


def demo_world(media_root) -> DemoWorld:
    """The kinds of object ``build_world`` makes, taken from ``seed_demo``'s data (the
    quickstart walk). Only what the demo has none of is added: an import awaiting
    confirmation, a deleted reference item, a logo, a failed event (the caller sets MEDIA_ROOT)."""
    from billing.models import Discount
    from calendar_app.models import Appointment, StatusCode, WaitingListEntry, WorkShift
    from clinic.models import Branch, Employee, RightsGroup, User
    from clinical.models import MedicalRecord, OrthodonticCard, PerioExam, ToothRecord
    from documents.models import Template
    from documents.tests.factories import make_template, print_copies
    from patients.tests.factories import PatientImportFactory
    from pricelist.models import Service

    def found(obj, what: str):
        assert obj is not None, f"The demo data has no {what}: did seed_demo change?"
        return obj

    # The demo has no logo: one uploaded the way Settings does, for the file URL's sample.
    organization = Organization.objects.get_or_create(pk=1)[0]
    organization.logo.save("logo.png", ContentFile(sample_png()))
    Organization.forget_cached()
    branch = found(Branch.objects.order_by("position", "pk").first(), "branch")
    # The demo doctor's own next visit, so that /schedule/ status taps work for them too.
    appointment = found(
        Appointment.objects.filter(
            branch=branch,
            doctor__user__username="doctor",
            start__gt=timezone.now() + datetime.timedelta(days=1),
            status__in=[StatusCode.PLANNED, StatusCode.CONFIRMED],
        )
        .order_by("start")
        .first(),
        "future visit of the demo doctor",
    )
    shift = found(
        WorkShift.objects.filter(
            doctor=appointment.doctor,
            chair=appointment.chair,
            start__lte=appointment.start,
            end__gte=appointment.end,
        ).first(),
        "shift around that visit",
    )
    # The shipped templates when documents/defaults/ has them, else one made here; a copy
    # printed for the visit's patient, the way the card prints it.
    template = Template.objects.order_by("pk").first() or make_template()
    printed = print_copies(
        appointment.patient, [template], by=User.objects.get(username="admin"), branch=branch
    )[0]
    return DemoWorld(
        document_template=template,
        printed_document=printed,
        appointment=appointment,
        shift=shift,
        waiting=found(
            WaitingListEntry.objects.filter(branch=branch).order_by("pk").first(),
            "waiting patient",
        ),
        patient=appointment.patient,
        # A current record on the chart of any demo patient (a third of them have some).
        tooth_record=found(
            ToothRecord.objects.filter(removed_at__isnull=True).order_by("pk").first(),
            "current tooth record",
        ),
        medical_record=found(
            MedicalRecord.objects.current().filter(signed_at__isnull=True).order_by("pk").first(),
            "draft medical record",
        ),
        signed_medical_record=found(
            MedicalRecord.objects.current().filter(signed_at__isnull=False).order_by("pk").first(),
            "signed medical record",
        ),
        ortho_card=found(OrthodonticCard.objects.order_by("pk").first(), "orthodontic card"),
        perio_exam=found(PerioExam.objects.order_by("pk").first(), "periodontal exam"),
        **_demo_plans(found),
        **_demo_price_list(found, branch),
        discount=found(Discount.objects.order_by("pk").first(), "discount"),
        **_demo_billing(found),
        # The demo's invoices are all issued: a draft of the visit's patient.
        draft_invoice=_draft_invoice(
            branch, appointment.patient, found(Service.objects.order_by("pk").first(), "service")
        ),
        patient_import=PatientImportFactory(),
        # The demo has no image files: one X-ray of the visit's patient.
        clinical_image=_clinical_image(appointment.patient, branch),
        branch=branch,
        chair=found(branch.chairs.order_by("-position").first(), "chair"),
        employee=found(
            Employee.objects.filter(user__isnull=True).order_by("pk").first(),
            "employee without a login",
        ),
        gender=found(Gender.objects.order_by("position").first(), "gender"),
        deleted_gender=Gender.objects.create(name="Удалённый", deleted_at=timezone.now()),
        rights_group=found(
            RightsGroup.objects.filter(group__name=demo.ROLE_GROUPS["accountant"][0]).first(),
            "accountant's rights group",
        ),
        # The demo's handlers do not fail: one event that gave up, for the retry screen.
        failed_event=OutboxEvent.objects.create(
            name="probe.failed", attempts=12, failed_at=timezone.now(), last_error="probe"
        ),
        sync_log_entry=_failed_sync_log_entry(),
        amocrm_job=_paused_amocrm_sync(),
        amocrm_app_accounts_job=_done_app_accounts_sync(),
    )
