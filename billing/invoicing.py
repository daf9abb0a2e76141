"""Invoices: made (as a draft) from a completed visit's services, an approved plan's lines or
single services, changed while a draft, then issued (numbered, on the ledger) or discarded; an
issued invoice with nothing paid on it may be rolled back. Each write is one transaction,
audited, with a domain event carrying ``patient_id`` (the timeline shows it)."""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import discounts as discount_engine
from billing import ledger
from billing.amounts import ZERO, DiscountAsked, line_amount, spread
from billing.line_discounts import decide_line_discount
from billing.models import Discount, EntryKind, Invoice, InvoiceLine, InvoiceStatus
from calendar_app.models import Appointment, AppointmentService, StatusCode
from clinic import audit, events, numbering
from clinic.models import Branch, Employee
from clinic.money import round_money
from clinic.tz import local_now
from clinical.models import PlanLine, TreatmentPlan
from clinical.plans import ensure_invoiceable
from patients.models import Patient
from pricelist.models import Service
from pricelist.prices import prices_for

QUANTITY_MAX = 999
AMOUNT_MAX = Decimal("9999999999.99")


@dataclass
class LineInput:
    service: Service
    tooth: int | None = None
    quantity: int = 1
    price: Decimal | None = None  # None: the price list's, for the branch, today
    discount: DiscountAsked | None = None
    chosen_discount: Any = None  # see billing.line_discounts
    doctor: Employee | None = None
    assistant: Employee | None = None
    appointment_service: AppointmentService | None = None
    plan_line: PlanLine | None = None
    label: str = field(default="")


def number_key(branch: Branch, year: int) -> str:
    return f"invoice:{branch.pk}:{year}"


def _payload(invoice: Invoice, **extra) -> dict:
    return {
        "patient_id": invoice.patient_id,
        "invoice_id": invoice.pk,
        "number": invoice.number,
        "branch_id": invoice.branch_id,
        "appointment_id": invoice.appointment_id,
        "total": invoice.total,
        **extra,
    }


# --- Lines from a visit or a plan ----------------------------------------------------------


def lines_from_visit(appointment: Appointment) -> list[LineInput]:
    """A completed visit's service lines, at the price they were booked at, by its doctor."""
    if appointment.status != StatusCode.COMPLETED:
        raise ValidationError(
            _("An invoice is made from a completed visit; this one is %(status)s.")
            % {"status": appointment.get_status_display().lower()},
            code="visit_not_completed",
        )
    rows = appointment.service_lines.select_related("service").order_by("pk")
    return [
        LineInput(
            service=row.service,
            tooth=row.tooth,
            quantity=row.quantity,
            price=row.price,
            doctor=appointment.doctor,
            appointment_service=row,
        )
        for row in rows
    ]


def lines_from_plan(plan: TreatmentPlan, line_ids: Sequence[int] | None = None) -> list[LineInput]:
    """An approved plan's lines (all, or those chosen) at the plan's prices."""
    ensure_invoiceable(plan)
    rows = plan.lines.select_related("service").order_by("stage__position", "position", "pk")
    if line_ids is not None:
        rows = rows.filter(pk__in=line_ids)
        if rows.count() != len(set(line_ids)):
            raise ValidationError(_("Some of the chosen lines are not in this plan."))
    return [
        LineInput(
            service=row.service,
            tooth=row.tooth,
            quantity=row.quantity,
            price=row.price,
            doctor=plan.doctor,
            plan_line=row,
        )
        for row in rows
    ]


def lines_from_invoice(invoice: Invoice) -> dict[int, LineInput]:
    """A draft's lines as they stand (by invoice line id, in order), to be changed and given
    to ``invoice_update``: at the prices they were made at (an edit does not reprice), with
    their links to the visit's service lines and plan lines, and the discount typed on each.
    A discount the engine gave (``discount_ref``) is not kept: the engine decides it again,
    as at creation (see ``engine_discount_of``)."""
    rows = invoice.lines.select_related(
        "service",
        "doctor",
        "assistant",
        "appointment_service__appointment",
        "plan_line__plan",
    ).order_by("position", "pk")
    return {
        row.pk: LineInput(
            service=row.service,
            tooth=row.tooth,
            quantity=row.quantity,
            price=row.price,
            discount=_typed_discount(row),
            doctor=row.doctor,
            assistant=row.assistant,
            appointment_service=row.appointment_service,
            plan_line=row.plan_line,
            label=row.label,
        )
        for row in rows
    }


def engine_discount_of(invoice: Invoice) -> int | None:
    """The id of the Discounts module's discount the invoice's lines got, when it is one."""
    refs = set(
        invoice.lines.filter(discount_ref__isnull=False).values_list("discount_ref", flat=True)
    )
    return refs.pop() if len(refs) == 1 else None


def _typed_discount(row: InvoiceLine) -> DiscountAsked | None:
    """The discount the cashier typed on a line: a percent keeps its label ("10%"), an
    amount its value; an engine's discount (with ``discount_ref``) is none."""
    if row.discount_ref is not None:
        return None
    if row.discount_label.endswith("%"):
        try:
            return DiscountAsked(percent=Decimal(row.discount_label[:-1]))
        except (ArithmeticError, ValidationError):
            pass
    return DiscountAsked(amount=row.discount) if row.discount else None


def invoice_discount(invoice: Invoice) -> DiscountAsked | None:
    """The whole-invoice discount as it was asked."""
    if invoice.discount_percent:
        return DiscountAsked(percent=invoice.discount_percent)
    if invoice.discount_amount:
        return DiscountAsked(amount=invoice.discount_amount)
    return None


def _lock_ids(rows) -> None:
    list(rows.order_by("pk").select_for_update().values_list("pk", flat=True))


def _already_billed(lines: list[LineInput], invoice: Invoice | None = None) -> None:
    """A visit's service line or a plan line is billed once (a rolled-back invoice frees it);
    ``invoice``'s own lines, being replaced, do not count. The lines being billed are locked
    first (in the caller's transaction), so that two cashiers billing the same line at once
    are taken one after the other and the second sees the first's invoice."""
    live = InvoiceLine.objects.exclude(invoice__status=InvoiceStatus.ROLLED_BACK)
    if invoice is not None:
        live = live.exclude(invoice=invoice)
    service_ids = [line.appointment_service.pk for line in lines if line.appointment_service]
    plan_ids = [line.plan_line.pk for line in lines if line.plan_line]
    if service_ids:
        _lock_ids(AppointmentService.objects.filter(pk__in=service_ids))
    if plan_ids:
        _lock_ids(PlanLine.objects.filter(pk__in=plan_ids))
    billed = []
    if service_ids:
        billed += list(
            live.filter(appointment_service__in=service_ids).values_list("label", flat=True)
        )
    if plan_ids:
        billed += list(live.filter(plan_line__in=plan_ids).values_list("label", flat=True))
    if billed:
        raise ValidationError(
            _("Already on another invoice: %(lines)s.") % {"lines": "; ".join(billed[:5])},
            code="already_billed",
        )


# --- Amounts -------------------------------------------------------------------------------


def _priced(lines: list[LineInput], branch: Branch, on: datetime.date) -> list[Decimal]:
    missing = [line.service for line in lines if line.price is None]
    listed = prices_for(missing, branch=branch, on=on) if missing else {}
    prices = []
    for line in lines:
        price = listed[line.service.pk] if line.price is None else line.price
        if price < 0 or price > AMOUNT_MAX:
            raise ValidationError(_("A price cannot be negative."))
        prices.append(round_money(price))
    return prices


def _validate_line(line: LineInput, patient: Patient) -> None:
    if not (1 <= line.quantity <= QUANTITY_MAX):
        raise ValidationError(
            _("A quantity is from 1 to %(max)s.") % {"max": QUANTITY_MAX}, code="quantity"
        )
    if line.tooth is not None:
        from clinic.teeth import validate_teeth

        validate_teeth([line.tooth])
    if line.appointment_service and line.appointment_service.appointment.patient_id != patient.pk:
        raise ValidationError(_("The visit is another patient's."))
    if line.plan_line and line.plan_line.plan.patient_id != patient.pk:
        raise ValidationError(_("The plan is another patient's."))


def _engine_discounts(
    invoice: Invoice, lines: list[LineInput], prices: list[Decimal], chosen: Discount | None
) -> dict[int, Any]:
    """The discounts engine's share for each line without a discount of its own (by the
    line's index): the discount the cashier chose, or, with the setting "auto-select the best
    discount", the one that saves the patient most; nothing otherwise."""
    free = [
        index
        for index, line in enumerate(lines)
        if (line.discount is None or line.discount.is_empty) and line.chosen_discount is None
    ]
    if not free or (chosen is None and not discount_engine.auto_select_enabled()):
        return {}
    today = local_now(invoice.branch.time_zone).date()
    order = [
        discount_engine.OrderLine.of(
            service_id=lines[i].service.pk,
            category_id=lines[i].service.category_id,
            quantity=lines[i].quantity,
            unit_price=prices[i],
        )
        for i in free
    ]
    if chosen is not None:
        rule = next(
            (
                rule
                for rule in discount_engine.applicable_discounts(invoice.patient, today)
                if rule.discount_id == chosen.pk
            ),
            None,
        )
        if rule is None:
            raise ValidationError(
                _("The discount “%(name)s” does not apply to this patient today.")
                % {"name": chosen.name},
                code="discount_not_applicable",
            )
        result: discount_engine.DiscountResult | None = discount_engine.apply(rule, order)
    else:
        result = discount_engine.best_discount(invoice.patient, today, order)
    if result is None:
        return {}
    return {index: applied for index, applied in zip(free, result.lines, strict=True)}


def _build_lines(
    invoice: Invoice,
    lines: list[LineInput],
    discount: DiscountAsked | None,
    chosen_discount: Discount | None = None,
) -> list[InvoiceLine]:
    prices = _priced(lines, invoice.branch, local_now(invoice.branch.time_zone).date())
    engine = _engine_discounts(invoice, lines, prices, chosen_discount)
    rows = []
    for position, (line, price) in enumerate(zip(lines, prices, strict=True), start=1):
        amount = line_amount(price, line.quantity)
        if amount > AMOUNT_MAX:
            raise ValidationError(_("The amount is too large."))
        decided = decide_line_discount(
            amount=amount,
            asked=line.discount,
            chosen=line.chosen_discount or engine.get(position - 1),
            patient=invoice.patient,
        )
        rows.append(
            InvoiceLine(
                invoice=invoice,
                position=position,
                service=line.service,
                label=(line.label or str(line.service))[:400],
                tooth=line.tooth,
                quantity=line.quantity,
                price=price,
                amount=amount,
                discount=decided.amount,
                discount_label=decided.label,
                discount_ref=decided.ref,
                invoice_discount=ZERO,
                total=amount - decided.amount,
                doctor=line.doctor,
                assistant=line.assistant,
                appointment_service=line.appointment_service,
                plan_line=line.plan_line,
            )
        )
    nets = [row.total for row in rows]
    whole = discount.off(sum(nets, ZERO)) if discount is not None else ZERO
    for row, share in zip(rows, spread(whole, nets), strict=True):
        row.invoice_discount = share
        row.total = row.amount - row.discount - share
    if sum((row.total for row in rows), ZERO) > AMOUNT_MAX:
        raise ValidationError(_("The amount is too large."))
    return rows


def _set_amounts(invoice: Invoice, rows: list[InvoiceLine], discount: DiscountAsked | None) -> None:
    """The invoice's whole-invoice discount as asked, and its totals from its lines."""
    invoice.discount_percent = discount.percent if discount else None
    invoice.discount_amount = discount.amount if discount else None
    invoice.discount_label = discount.label() if discount else ""
    invoice.subtotal = sum((row.amount for row in rows), ZERO)
    invoice.total = sum((row.total for row in rows), ZERO)
    invoice.discount_total = invoice.subtotal - invoice.total


# --- Services ------------------------------------------------------------------------------


def invoice_create(
    *,
    patient: Patient,
    branch: Branch,
    lines: list[LineInput],
    by,
    appointment: Appointment | None = None,
    plan: TreatmentPlan | None = None,
    discount: DiscountAsked | None = None,
    note: str = "",
    chosen_discount: Discount | None = None,
) -> Invoice:
    """A draft invoice of ``lines`` for the patient in the branch (not numbered yet).
    ``chosen_discount``: a discount of the Discounts module for the lines that have none of
    their own (with the auto-select setting on, the best one is taken when none is chosen)."""
    if not lines:
        raise ValidationError(_("An invoice needs at least one service."), code="empty")
    if appointment is not None and appointment.patient_id != patient.pk:
        raise ValidationError(_("The visit is another patient's."))
    if appointment is not None and appointment.branch_id != branch.pk:
        raise ValidationError(_("The visit was in another branch."))
    if plan is not None:
        if plan.patient_id != patient.pk:
            raise ValidationError(_("The plan is another patient's."))
        ensure_invoiceable(plan)
    for line in lines:
        _validate_line(line, patient)
    with transaction.atomic():
        _already_billed(lines)
        invoice = Invoice(
            patient=patient,
            branch=branch,
            appointment=appointment,
            plan=plan,
            note=note,
            created_by=by,
        )
        rows = _build_lines(invoice, lines, discount, chosen_discount)
        _set_amounts(invoice, rows, discount)
        invoice.save()
        for row in rows:
            row.invoice = invoice
        InvoiceLine.objects.bulk_create(rows)
        audit.record_created(
            actor=by,
            obj=invoice,
            patient_id=patient.pk,
            fields=("appointment", "plan", "subtotal", "discount_total", "total"),
        )
        events.publish("invoice.created", invoice, _payload(invoice), actor=by)
    return invoice


def invoice_create_from_visit(
    *,
    appointment: Appointment,
    by,
    discounts: dict[int, DiscountAsked] | None = None,
    discount: DiscountAsked | None = None,
    note: str = "",
    chosen_discount: Discount | None = None,
) -> Invoice:
    """``discounts``: a line's discount by the visit's service line id."""
    lines = lines_from_visit(appointment)
    for line in lines:
        assert line.appointment_service is not None
        line.discount = (discounts or {}).get(line.appointment_service.pk)
    return invoice_create(
        patient=appointment.patient,
        branch=appointment.branch,
        lines=lines,
        by=by,
        appointment=appointment,
        discount=discount,
        note=note,
        chosen_discount=chosen_discount,
    )


def invoice_create_from_plan(
    *,
    plan: TreatmentPlan,
    by,
    line_ids: Sequence[int] | None = None,
    discounts: dict[int, DiscountAsked] | None = None,
    discount: DiscountAsked | None = None,
    branch: Branch | None = None,
    note: str = "",
    chosen_discount: Discount | None = None,
) -> Invoice:
    """The whole approved plan, or the lines ``line_ids``; ``discounts`` by plan line id."""
    lines = lines_from_plan(plan, line_ids)
    for line in lines:
        assert line.plan_line is not None
        line.discount = (discounts or {}).get(line.plan_line.pk)
    return invoice_create(
        patient=plan.patient,
        branch=branch or plan.branch,
        lines=lines,
        by=by,
        plan=plan,
        discount=discount,
        note=note,
        chosen_discount=chosen_discount,
    )


def _locked(invoice: Invoice) -> Invoice:
    ledger.lock([ledger.account_for(invoice.patient)], [invoice])
    invoice.refresh_from_db()
    return invoice


def invoice_update(
    *,
    invoice: Invoice,
    lines: list[LineInput],
    by,
    discount: DiscountAsked | None = None,
    note: str = "",
    chosen_discount: Discount | None = None,
) -> Invoice:
    """Change a draft: its lines (``lines_from_invoice`` gives the current ones; they are
    built again as ``invoice_create`` builds them, discounts included, and replace the old
    ones), the whole-invoice discount and the note. An issued or rolled-back invoice is
    refused."""
    if not lines:
        raise ValidationError(_("An invoice needs at least one service."), code="empty")
    with transaction.atomic():
        invoice = _locked(invoice)
        if not invoice.is_draft:
            raise ValidationError(_("Only a draft invoice is changed."), code="not_draft")
        for line in lines:
            _validate_line(line, invoice.patient)
        _already_billed(lines, invoice)
        before_total, before_note = invoice.total, invoice.note
        before_discount = invoice.discount_label
        before_lines = invoice.lines.count()
        rows = _build_lines(invoice, lines, discount, chosen_discount)
        invoice.lines.all().delete()
        InvoiceLine.objects.bulk_create(rows)
        invoice.note = note
        _set_amounts(invoice, rows, discount)
        invoice.save(
            update_fields=[
                "note",
                "discount_percent",
                "discount_amount",
                "discount_label",
                "subtotal",
                "discount_total",
                "total",
            ]
        )
        changes: dict[str, list] = {
            "total": [before_total, invoice.total],
            "lines": [before_lines, len(rows)],
        }
        if invoice.note != before_note:
            changes["note"] = [before_note, invoice.note]
        if invoice.discount_label != before_discount:
            changes["discount"] = [before_discount, invoice.discount_label]
        audit.record(
            actor=by, action="update", obj=invoice, patient_id=invoice.patient_id, changes=changes
        )
        events.publish(
            "invoice.changed",
            invoice,
            _payload(invoice, previous_total=before_total),
            actor=by,
        )
    return invoice


def invoice_issue(*, invoice: Invoice, by) -> Invoice:
    """Number the draft (per branch and year, without gaps) and put it on the ledger."""
    with transaction.atomic():
        invoice = _locked(invoice)
        if not invoice.is_draft:
            raise ValidationError(_("Only a draft invoice is issued."), code="not_draft")
        now = timezone.now()
        year = local_now(invoice.branch.time_zone).year
        invoice.number = numbering.next_number(number_key(invoice.branch, year))
        invoice.year = year
        invoice.status = InvoiceStatus.ISSUED
        invoice.issued_at = now
        invoice.issued_by = by
        invoice.save(update_fields=["number", "year", "status", "issued_at", "issued_by"])
        if invoice.total:
            ledger.post(
                account=ledger.account_for(invoice.patient),
                patient=invoice.patient,
                kind=EntryKind.INVOICE,
                amount=-invoice.total,
                invoice=invoice,
                branch=invoice.branch,
                created_by=by,
            )
        audit.record(
            actor=by,
            action="update",
            obj=invoice,
            patient_id=invoice.patient_id,
            changes={"status": ["draft", "issued"], "number": [None, invoice.number]},
        )
        events.publish("invoice.issued", invoice, _payload(invoice), actor=by)
    return invoice


def invoice_discard(*, invoice: Invoice, by) -> None:
    """A draft that will not be issued is deleted (it never reached the ledger)."""
    with transaction.atomic():
        invoice = _locked(invoice)
        if not invoice.is_draft:
            raise ValidationError(
                _("An issued invoice is rolled back, not deleted."), code="not_draft"
            )
        audit.record(
            actor=by,
            action="delete",
            obj=invoice,
            patient_id=invoice.patient_id,
            changes={"total": [invoice.total, None]},
        )
        invoice.delete()


def invoice_rollback(*, invoice: Invoice, by, reason: str) -> Invoice:
    """Cancel an issued invoice that has nothing paid on it (its payments are rolled back or
    refunded first); the ledger gets the opposite entry, the reason stays in the history."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the invoice is rolled back."), code="reason")
    with transaction.atomic():
        invoice = _locked(invoice)
        if not invoice.is_issued:
            raise ValidationError(_("Only an issued invoice is rolled back."), code="not_issued")
        paid = ledger.paid_on(invoice)
        if paid > 0:
            raise ValidationError(
                _(
                    "%(paid)s is paid on this invoice: roll back or refund its payments first, "
                    "then the invoice."
                )
                % {"paid": paid},
                code="paid",
            )
        invoice.status = InvoiceStatus.ROLLED_BACK
        invoice.rolled_back_at = timezone.now()
        invoice.rolled_back_by = by
        invoice.rollback_reason = reason[:300]
        invoice.save(
            update_fields=["status", "rolled_back_at", "rolled_back_by", "rollback_reason"]
        )
        if invoice.total:
            ledger.post(
                account=ledger.account_for(invoice.patient),
                patient=invoice.patient,
                kind=EntryKind.ROLLBACK,
                amount=invoice.total,
                invoice=invoice,
                branch=invoice.branch,
                reason=reason[:300],
                created_by=by,
            )
        audit.record(
            actor=by,
            action="update",
            obj=invoice,
            patient_id=invoice.patient_id,
            changes={"status": ["issued", "rolled_back"], "reason": [None, reason]},
        )
        events.publish("invoice.rolled_back", invoice, _payload(invoice, reason=reason), actor=by)
    return invoice
