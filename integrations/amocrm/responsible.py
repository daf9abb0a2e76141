"""The patient's responsible (``Patient.coordinator``) kept in step with amoCRM's
``responsible_user_id`` of the patient's contact and deals (issue 14).

Switches (``AmoSettings.responsible_in`` / ``responsible_out``, all off by default):
``in.contact`` / ``in.lead``: a change of that entity's responsible sets the coordinator;
``out.contact`` / ``out.lead``: a change of the coordinator in Odonta is written to the
contact / to every open deal of the patient's visits. Employees and amoCRM users are paired
by the wizard's mapping (``AmoSettings.users``); an unpaired one is reported, never guessed.

State, in ``ExternalLink.synced_values``:

- the patient's contact link: ``responsible`` (the coordinator's amoCRM user both sides
  last agreed on; None: none), ``responsible_at`` (when that value was set, amoCRM's Unix
  seconds: the changed entity's ``updated_at``, or the ``updated_at`` amoCRM answered our
  write with; one clock for every comparison) and ``responsible_from`` ("odonta" /
  "amocrm");
- each linked contact and deal: ``responsible_seen``, the responsible it holds in amoCRM as
  last read or written (a deal made before this falls back to ``responsible_user_id``,
  what the visit push wrote), and ``responsible_reassert`` (see rule 3).

amoCRM -> Odonta (``note_incoming``, called by ``inbound`` for a linked contact or deal it
read, echoes of our own writes excluded by their ``updated_at``), for a change to user R at
amoCRM time T:

1. A change is a responsible different from ``responsible_seen``; the first sight of an
   entity (nothing seen yet) is a change only when a ``responsible_*`` webhook reported it,
   else it is just remembered (turning the sync on does not replay old assignments).
2. Last change wins: T earlier than ``responsible_at`` is older than the value in force
   (another entity's later change, or Odonta's): skipped, logged.
3. Settle window: when the value in force came from Odonta at ``responsible_at`` = t, a
   change to another user with t <= T <= t + ``settle_seconds`` crossed ours on the way (it
   was made before amoCRM showed our value): it is not applied ("settling" in the log), and
   if Odonta writes that kind of entity, the entity gets Odonta's value back once
   (``responsible_reassert``). After the window such a change is a new decision and applies.
4. Odonta's own change not pushed yet (coordinator differs from ``responsible``) made after
   T wins: skipped; the push sends it.
5. R mapped to no employee: the patient is not changed; logged as skipped naming R.
6. Otherwise the coordinator becomes R's employee through ``patients.services`` (audit and
   events) and ``responsible`` = R, ``responsible_at`` = T, ``responsible_from`` = "amocrm".

Odonta -> amoCRM (``push_responsible``, the push queue's "responsible" items, queued by
``handlers.queue_responsible`` when a coordinator changes): the coordinator's amoCRM user U
is written when U differs from ``responsible``, i.e. only for a change made in Odonta by a
person. The sync's own write of an amoCRM change set ``responsible`` = U first, so the event
of that write finds nothing to send: an applied amoCRM change is never sent back, within the
settle window or after it, and never spread to the patient's other entities (each amoCRM
entity keeps its own until Odonta's coordinator changes). A person's change is always sent,
even a second after an applied amoCRM change (it is newer by construction: the row is
locked while either is written). It goes to the contact (``out.contact``) and to the open
deals of the patient's visits (``out.lead``; not the won or lost ones) whose responsible is
not U already, in one request per kind for a batch of patients; ``responsible_at`` becomes
the latest ``updated_at`` amoCRM answered. A coordinator with no amoCRM user writes nothing
and is logged; a coordinator removed writes nothing (amoCRM's entities always have one).
The contact's other open deals (not a visit's) are not read: they are amoCRM's own.
"""

import logging
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from calendar_app.models import Appointment
from clinic.models import Employee
from clinic.models.audit import AuditEntry
from integrations import queue, synclog
from integrations.amocrm import payloads
from integrations.amocrm.client import AmoClient
from integrations.amocrm.config import CONTACT, SYSTEM, AmoSettings, positive_int
from integrations.amocrm.outbound import PushResult, _write_each, link_synced, links_of
from integrations.amocrm.sync import now_seconds
from integrations.http import IntegrationError
from integrations.links import link_for
from integrations.models import Connection, ExternalLink, SyncResult
from patients import services as patient_services
from patients.models import Patient

logger = logging.getLogger(__name__)

ENTITY_NAMES = {"contact": "contact", "lead": "deal"}


def seen(link: ExternalLink) -> int | None:
    values = link.synced_values
    return positive_int(values.get("responsible_seen", values.get("responsible_user_id")))


def source_of(kind: str, entity_id: Any) -> str:
    return f"{ENTITY_NAMES[kind]} {entity_id}"


def _remember(link: ExternalLink, **values: Any) -> None:
    link.synced_values = {**link.synced_values, **values}
    link.save(update_fields=["synced_values", "updated_at"])


def _log(connection, direction: str, patient_id, result: str, **kwargs) -> None:
    synclog.log(
        direction=direction,
        system=SYSTEM,
        connection=connection,
        action="responsible.update",
        entity_type="patient",
        entity_id=patient_id,
        result=result,
        **kwargs,
    )


# --- amoCRM -> Odonta ---------------------------------------------------------------------


def news(settings: AmoSettings, kind: str, link: ExternalLink | None, data: dict, action: str):
    """Whether a webhook's snapshot of a linked entity says its responsible changed in a way
    the sync takes (so the entity is read even if nothing else of it flows in)."""
    if link is None or not settings.responsible_flows_in(kind):
        return False
    if action == "responsible":
        return True
    known = seen(link)
    remote = positive_int(data.get("responsible_user_id"))
    return known is not None and remote is not None and remote != known


def note_incoming(
    connection: Connection,
    settings: AmoSettings,
    *,
    kind: str,
    entity: dict[str, Any],
    link: ExternalLink,
    hinted: bool = False,
    patient_id: int | None = None,
) -> None:
    """A linked contact or deal as read from amoCRM (not an echo): its responsible, if it
    changed, may set the patient's coordinator (rules 1-6 of the module's docstring)."""
    if not settings.responsible_on:
        return
    remote = positive_int(entity.get("responsible_user_id"))
    known = seen(link)
    if remote is None or remote == known:
        return
    _remember(link, responsible_seen=remote, responsible_reassert=False)
    if (known is None and not hinted) or not settings.responsible_flows_in(kind):
        return
    if patient_id is None:
        patient_id = int(link.object_id)
    _take(
        connection,
        settings,
        kind=kind,
        entity=entity,
        link=link,
        user_id=remote,
        patient_id=patient_id,
    )


def _take(
    connection: Connection,
    settings: AmoSettings,
    *,
    kind: str,
    entity: dict[str, Any],
    link: ExternalLink,
    user_id: int,
    patient_id: int,
) -> None:
    source = source_of(kind, entity["id"])
    changed_at = positive_int(entity.get("updated_at")) or now_seconds()
    patient = Patient.objects.select_related("coordinator").filter(pk=patient_id).first()
    if patient is None:
        return
    contact_link = link if kind == "contact" else link_for(system=SYSTEM, obj=patient)
    if contact_link is None:
        return
    state = contact_link.synced_values
    agreed = positive_int(state.get("responsible"))
    last_at = positive_int(state.get("responsible_at")) or 0
    changes = {"responsible_user_id": [agreed, user_id], "source": source}

    def skipped(reason: str) -> None:
        _log(
            connection,
            "in",
            patient.pk,
            SyncResult.SKIPPED,
            changes=changes,
            error=reason,
            request_id=str(entity["id"]),
        )

    employee_id = settings.employee_for(user_id)
    if employee_id is None:
        skipped(
            f"amoCRM user {user_id} ({source}) is mapped to no employee: the patient's "
            "coordinator is unchanged. Map the user in the setup's Users step."
        )
        return
    if changed_at < last_at:
        skipped(
            f"Older than the value in force: {source} changed at {changed_at}, the "
            f"{state.get('responsible_from') or 'last'} change at {last_at} is later."
        )
        return
    if (
        state.get("responsible_from") == "odonta"
        and user_id != agreed
        and changed_at <= last_at + settings.settle_seconds
    ):
        skipped(
            f"Settling: {source} changed {changed_at - last_at} s after Odonta's change "
            f"(within {settings.settle_seconds} s): Odonta's responsible stays."
        )
        if settings.responsible_flows_out(kind):
            _remember(link, responsible_reassert=True)
            queue.queue(SYSTEM, "responsible", [patient.pk])
        return
    desired = settings.amo_user_for(patient.coordinator_id)
    if (
        "responsible" in state
        and patient.coordinator_id
        and desired != agreed
        and patient.updated_at.timestamp() > changed_at
    ):
        skipped(f"Odonta's change of the coordinator is later than {source}'s: it is sent.")
        return
    if patient.coordinator_id != employee_id:
        employee = Employee.objects.filter(pk=employee_id).first()
        if employee is None:
            skipped(f"The employee {employee_id} mapped to amoCRM user {user_id} is gone.")
            return
        before = str(patient.coordinator or "")
        patient_services.patient_update(patient=patient, by=None, data={"coordinator": employee})
        _log(
            connection,
            "in",
            patient.pk,
            SyncResult.OK,
            changes={"coordinator": [before, str(employee)], "source": source},
            request_id=str(entity["id"]),
        )
    _remember(
        contact_link,
        responsible=user_id,
        responsible_at=changed_at,
        responsible_from="amocrm",
    )


# --- Odonta -> amoCRM ---------------------------------------------------------------------


def _changed_by(patient_ids: list[int]) -> dict[int, str]:
    """Who last changed each patient's coordinator in Odonta (the audit's user name)."""
    content_type = ContentType.objects.get_for_model(Patient)
    names: dict[int, str] = {}
    for object_id, name in (
        AuditEntry.objects.filter(
            content_type=content_type,
            object_id__in=[str(pk) for pk in patient_ids],
            changes__has_key="coordinator",
        )
        .order_by("created_at", "pk")
        .values_list("object_id", "actor_name")
    ):
        names[int(object_id)] = name or "—"
    return names


def push_responsible(
    connection: Connection, client: AmoClient, patient_ids: list[int]
) -> PushResult:
    """Write the coordinators of these patients to amoCRM where Odonta changed them (see
    the module's docstring for when that is)."""
    settings = client.settings
    result = PushResult()
    if not any(settings.responsible_out.values()):
        result.done += patient_ids
        return result
    with transaction.atomic():
        patients = list(
            Patient.all_objects.select_for_update(of=("self",))
            .select_related("coordinator")
            .filter(pk__in=patient_ids)
            .order_by("pk")
        )
        result.done += [pk for pk in patient_ids if pk not in {p.pk for p in patients}]
        contact_links = links_of(Patient, [p.pk for p in patients])
        visits = list(
            Appointment.all_objects.filter(patient_id__in=[p.pk for p in patients]).values_list(
                "pk", "patient_id"
            )
        )
        lead_links = links_of(Appointment, [pk for pk, _patient in visits])
        deals: dict[int, list[ExternalLink]] = {}
        for visit_id, patient_id in visits:
            if visit_id in lead_links:
                deals.setdefault(patient_id, []).append(lead_links[visit_id])
        authors = _changed_by([p.pk for p in patients])
        plans: list[tuple[Patient, ExternalLink, int, bool, list[ExternalLink]]] = []
        for patient in patients:
            link = contact_links.get(patient.pk)
            if link is None or patient.deleted_at is not None:
                result.done.append(patient.pk)  # a contact made later is written then
                continue
            plan = _plan(connection, settings, patient, link, deals.get(patient.pk, []), authors)
            if plan is None:
                result.done.append(patient.pk)
            else:
                plans.append(plan)
        _write(connection, client, plans, authors, result)
    return result


def _plan(connection, settings: AmoSettings, patient: Patient, link, deals, authors):
    """(patient, contact link, user, a real change, the links to write) or None."""
    state = link.synced_values
    agreed = positive_int(state.get("responsible"))
    if patient.coordinator_id is None:
        if agreed is not None:
            _remember(
                link, responsible=None, responsible_at=now_seconds(), responsible_from="odonta"
            )
        return None
    desired = settings.amo_user_for(patient.coordinator_id)
    if desired is None:
        _log(
            connection,
            "out",
            patient.pk,
            SyncResult.SKIPPED,
            changes={
                "coordinator": [None, str(patient.coordinator)],
                "source": f"Odonta: {authors.get(patient.pk, '—')}",
            },
            error=(
                f"The coordinator {patient.coordinator} has no amoCRM user: nothing is "
                "written to amoCRM. Map the employee in the setup's Users step."
            ),
        )
        return None
    real = desired != agreed
    targets: list[ExternalLink] = []
    if settings.responsible_flows_out("contact"):
        targets.append(link)
    if settings.responsible_flows_out("lead"):
        targets += [d for d in deals if not payloads.is_closed(d.synced_values.get("status_id"))]
    targets = [
        t
        for t in targets
        if (real or t.synced_values.get("responsible_reassert")) and seen(t) != desired
    ]
    if not real and not targets:
        return None
    return patient, link, desired, real, targets


def _write(connection, client: AmoClient, plans, authors, result: PushResult) -> None:
    contacts = [(plan, t) for plan in plans for t in plan[4] if t.external_type == CONTACT]
    leads = [(plan, t) for plan in plans for t in plan[4] if t.external_type != CONTACT]
    answered: dict[int, list[int]] = {}  # patient id -> amoCRM updated_at of its writes
    written: dict[int, list[str]] = {}
    failed: dict[int, str] = {}
    for items, write in ((contacts, client.update_contacts), (leads, client.update_leads)):
        if not items:
            continue
        bodies = [
            {"id": int(target.external_id), "responsible_user_id": plan[2]}
            for plan, target in items
        ]
        answers = _write_each(write, bodies)
        for (plan, target), answer in zip(items, answers, strict=True):
            patient = plan[0]
            kind = "contact" if target.external_type == CONTACT else "lead"
            if isinstance(answer, IntegrationError):
                failed[patient.pk] = f"{source_of(kind, target.external_id)}: {answer}"
                continue
            values: dict[str, Any] = {"responsible_seen": plan[2], "responsible_reassert": False}
            if kind == "lead":
                values["responsible_user_id"] = plan[2]
            link_synced(target, values, answer.get("updated_at"))
            answered.setdefault(patient.pk, []).append(positive_int(answer.get("updated_at")) or 0)
            written.setdefault(patient.pk, []).append(source_of(kind, target.external_id))
    for patient, link, desired, real, _targets in plans:
        changes = {
            "responsible_user_id": [positive_int(link.synced_values.get("responsible")), desired],
            "coordinator": str(patient.coordinator),
            "source": f"Odonta: {authors.get(patient.pk, '—')}",
            "written": written.get(patient.pk, []),
        }
        if patient.pk in failed:
            result.failed[patient.pk] = failed[patient.pk]
            _log(
                connection,
                "out",
                patient.pk,
                SyncResult.FAILED,
                changes=changes,
                error=failed[patient.pk],
                request_id=link.external_id,
            )
            continue
        result.done.append(patient.pk)
        if real:
            _remember(
                link,
                responsible=desired,
                responsible_at=max(answered.get(patient.pk) or [0]) or now_seconds(),
                responsible_from="odonta",
            )
        _log(
            connection,
            "out",
            patient.pk,
            SyncResult.OK,
            changes=changes,
            request_id=link.external_id,
        )
