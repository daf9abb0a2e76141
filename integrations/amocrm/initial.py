"""The initial sync: existing patients become (or are linked to) contacts, future visits
become deals. A dry run first says what would happen; the run then works in chunks in the
background, its progress saved after each, so a restart or a pause goes on from there.

Both read amoCRM's contacts (and the pipeline's open deals) once into an index instead of
searching per patient: a clinic of 100,000 patients costs about 100,000 / 50 writes plus
the reads of the index, as near the rate limit's floor as it gets.
"""

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from calendar_app.models import Appointment, StatusCode
from clinic import jobs
from integrations import synclog
from integrations.amocrm import outbound, payloads
from integrations.amocrm.client import AmoClient
from integrations.amocrm.config import CONTACT, LEAD, LOST, SYSTEM, WON
from integrations.amocrm.sync import client_for, resume_stalled_jobs, stop_if_refused
from integrations.http import IntegrationError
from integrations.models import Connection, ExternalLink, SyncJob, SyncJobStatus, SyncResult
from patients.models import Patient

logger = logging.getLogger(__name__)

LOCK_SECONDS = 180


@dataclass
class RemoteIndex:
    """amoCRM's contacts by MIS ID and by phone, and the open deals of each contact."""

    by_mis_id: dict[str, dict] = field(default_factory=dict)
    by_phone: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    open_deals: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    taken: set[str] = field(default_factory=set)  # contacts linked already
    contacts: int = 0

    @classmethod
    def read(cls, client: AmoClient) -> "RemoteIndex":
        index = cls()
        index.taken = set(
            ExternalLink.objects.filter(system=SYSTEM, external_type=CONTACT).values_list(
                "external_id", flat=True
            )
        )
        for contact in client.contacts():
            index.contacts += 1
            mis_id = payloads.contact_mis_id_value(contact, client.settings)
            slim = {
                "id": contact["id"],
                "name": contact.get("name") or "",
                "updated_at": contact.get("updated_at"),
                "custom_fields_values": contact.get("custom_fields_values") or [],
            }
            if mis_id:
                index.by_mis_id[mis_id] = slim
            for phone in payloads.contact_phones(contact):
                index.by_phone[phone].append(slim)
        taken_leads = set(
            ExternalLink.objects.filter(system=SYSTEM, external_type=LEAD).values_list(
                "external_id", flat=True
            )
        )
        for lead in client.leads(pipeline_id=client.settings.pipeline_id):
            if lead.get("status_id") in (WON, LOST) or str(lead["id"]) in taken_leads:
                continue
            for contact in (lead.get("_embedded") or {}).get("contacts") or []:
                index.open_deals[int(contact["id"])].append(lead)
        return index

    def match(self, patient: Patient, sharing: int) -> tuple[str, dict | None]:
        """What ``push_patients`` does with this patient (see ``outbound._match_contact``)."""
        found = self.by_mis_id.get(payloads.contact_mis_id(patient))
        if found is not None and str(found["id"]) not in self.taken:
            return "link", found
        free = [
            contact
            for contact in self.by_phone.get(patient.phone, [])
            if patient.phone
            if str(contact["id"]) not in self.taken
        ]
        if not free:
            return "create", None
        contact = min(free, key=lambda contact: contact["id"])
        return ("decision" if sharing > 1 else "link"), contact

    def claim(self, contact_id: Any) -> None:
        self.taken.add(str(contact_id))

    def open_deal(self, contact_id: int) -> dict | None:
        deals = self.open_deals.get(int(contact_id)) or []
        if not deals:
            return None
        deal = max(deals, key=lambda lead: (lead.get("updated_at") or 0, lead["id"]))
        deals.remove(deal)
        return deal


def _patients() -> Any:
    return Patient.objects.filter(is_active=True)


def _future_visits() -> Any:
    return Appointment.objects.filter(start__gte=timezone.now()).exclude(
        status=StatusCode.CANCELLED
    )


def _sharing(patients: list[Patient]) -> dict[str, int]:
    phones = {patient.phone for patient in patients if patient.phone}
    return dict(
        Patient.objects.filter(phone__in=phones)
        .values("phone")
        .annotate(n=Count("pk"))
        .values_list("phone", "n")
    )


# --- The dry run ----------------------------------------------------------------------------


def preview_start(connection: Connection, *, by) -> SyncJob:
    job = SyncJob.objects.create(
        system=SYSTEM,
        connection=connection,
        kind="initial",
        status=SyncJobStatus.PREVIEW,
        started_by=by,
    )
    from integrations.amocrm.tasks import amocrm_initial_run

    jobs.enqueue(amocrm_initial_run, job.pk)
    return job


def _preview(job: SyncJob, client: AmoClient) -> None:
    """Count what the run would do, without writing anything anywhere."""
    index = RemoteIndex.read(client)
    linked = set(
        ExternalLink.objects.filter(system=SYSTEM, external_type=CONTACT).values_list(
            "object_id", flat=True
        )
    )
    counts = {"patients": 0, "already_linked": 0, "to_link": 0, "to_create": 0, "decisions": 0}
    last = 0
    while True:
        chunk = list(_patients().filter(pk__gt=last).order_by("pk")[:1000])
        if not chunk:
            break
        last = chunk[-1].pk
        sharing = _sharing(chunk)
        for patient in chunk:
            counts["patients"] += 1
            if str(patient.pk) in linked:
                counts["already_linked"] += 1
                continue
            kind, contact = index.match(patient, sharing.get(patient.phone, 0))
            if kind == "link" and contact is not None:
                index.claim(contact["id"])
            counts[{"link": "to_link", "create": "to_create"}.get(kind, "decisions")] += 1
    counts["visits"] = _future_visits().count()
    counts["contacts_in_amocrm"] = index.contacts
    SyncJob.objects.filter(pk=job.pk).update(
        preview={**counts, "ready": True}, progress_at=timezone.now()
    )


# --- The run --------------------------------------------------------------------------------


def job_start(job: SyncJob, *, by) -> SyncJob:
    """Start (after the preview) or resume a paused run."""
    with transaction.atomic():
        current = SyncJob.objects.select_for_update().get(pk=job.pk)
        if current.status not in (SyncJobStatus.PREVIEW, SyncJobStatus.PAUSED):
            return current
        if current.status == SyncJobStatus.PREVIEW:
            current.total = _patients().count() + _future_visits().count()
            current.started_at = timezone.now()
            current.started_by = by
        current.status = SyncJobStatus.RUNNING
        current.progress_at = timezone.now()
        current.save()
        from integrations.amocrm.tasks import amocrm_initial_run

        jobs.enqueue(amocrm_initial_run, current.pk)
    return current


def job_pause(job: SyncJob, *, by) -> SyncJob:
    SyncJob.objects.filter(pk=job.pk, status=SyncJobStatus.RUNNING).update(
        status=SyncJobStatus.PAUSED
    )
    job.refresh_from_db()
    return job


def resume_stalled() -> int:
    """Runs whose worker stopped (a restart) without finishing: start them again."""
    from integrations.amocrm.tasks import amocrm_initial_run

    return resume_stalled_jobs("initial", amocrm_initial_run)


def run(job_id: int) -> None:
    """The task: the preview of a new job, or the chunks of a running one until done or
    paused. One worker per job (a cache lock); a second start returns at once."""
    lock_key, token = f"amocrm:initial:{job_id}", uuid.uuid4().hex
    if not cache.add(lock_key, token, LOCK_SECONDS):
        return
    job = SyncJob.objects.select_related("connection").get(pk=job_id)
    client = client_for(job.connection)
    try:
        if job.status == SyncJobStatus.PREVIEW and not job.preview.get("ready"):
            _preview(job, client)
        elif job.status == SyncJobStatus.RUNNING:
            _run(job, client, lock_key)
    except IntegrationError as error:
        stop_if_refused(job.connection, error)
        SyncJob.objects.filter(pk=job.pk).update(
            status=SyncJobStatus.PAUSED, error=str(error)[:2000], progress_at=timezone.now()
        )
    except Exception as error:
        logger.exception("The amoCRM initial sync %s failed", job_id)
        SyncJob.objects.filter(pk=job.pk).update(
            status=SyncJobStatus.FAILED, error=repr(error)[:2000], finished_at=timezone.now()
        )
    finally:
        client.close()
        if cache.get(lock_key) == token:
            cache.delete(lock_key)


def _still_running(job_id: int) -> bool:
    return SyncJob.objects.filter(pk=job_id, status=SyncJobStatus.RUNNING).exists()


def _run(job: SyncJob, client: AmoClient, lock_key: str) -> None:
    index = RemoteIndex.read(client)
    connection = job.connection
    size = client.batch_size
    while _still_running(job.pk):
        cache.touch(lock_key, LOCK_SECONDS)
        cursor = dict(job.cursor)
        if cursor.get("phase", "patients") == "patients":
            chunk = list(_patients().filter(pk__gt=cursor.get("patient", 0)).order_by("pk")[:size])
            if not chunk:
                cursor = {**cursor, "phase": "visits"}
                SyncJob.objects.filter(pk=job.pk).update(cursor=cursor)
                job.cursor = cursor
                continue
            sharing = _sharing(chunk)

            def matcher(_client, patient, sharing=sharing):
                kind, contact = index.match(patient, sharing.get(patient.phone, 0))
                if kind == "link" and contact is not None:
                    index.claim(contact["id"])
                return kind, contact

            result = outbound.push_patients(
                connection, client, [p.pk for p in chunk], matcher=matcher
            )
            cursor["patient"] = chunk[-1].pk
        else:
            chunk = list(
                _future_visits().filter(pk__gt=cursor.get("visit", 0)).order_by("pk")[:size]
            )
            if not chunk:
                SyncJob.objects.filter(pk=job.pk).update(
                    status=SyncJobStatus.DONE,
                    finished_at=timezone.now(),
                    progress_at=timezone.now(),
                )
                synclog.log(
                    direction="out",
                    system=SYSTEM,
                    connection=connection,
                    action="initial.done",
                    entity_type="job",
                    entity_id=job.pk,
                    result=SyncResult.OK,
                    changes={"processed": [None, job.processed], "failed": [None, job.failed]},
                )
                return
            result = outbound.push_visits(
                connection,
                client,
                [a.pk for a in chunk],
                deal_finder=lambda _client, contact_id: index.open_deal(contact_id),
            )
            cursor["visit"] = chunk[-1].pk
        job.processed += len(chunk)
        job.created += len(result.created)
        job.linked += len(result.linked)
        job.failed += len(result.failed)
        job.decisions += len(result.waiting)
        job.cursor = cursor
        SyncJob.objects.filter(pk=job.pk).update(
            cursor=cursor,
            processed=job.processed,
            created=job.created,
            linked=job.linked,
            failed=job.failed,
            decisions=job.decisions,
            progress_at=timezone.now(),
        )
