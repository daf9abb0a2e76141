"""Odonta -> amoCRM, one way: the patient's app account (``patients.PortalAccount``: its
login and activation date) written to the contact field chosen in the wizard's "fields"
step (``contact_fields["app_account"]``; none chosen: the feature is off).

The value is one text in the clinic's language, "<login> (активирован 26.11.2026)" (the date
in the clinic's zone). A deactivated account clears the field if a value was written; a
patient who never had one writes nothing. What was written is remembered in the contact
link's ``synced_values["app_account"]``: a second run writes nothing new, and the regular
patient push (which compares only the patient's own fields) leaves it alone.

Three ways in, one function (``sync_patients``) under them:

- daily (``daily_run`` from the beat task, once a day after the time set in the wizard):
  the accounts changed since the last run, and the active ones not written yet (patients
  skipped before may be bookable or linked by now); the run is recorded in
  ``settings["app_accounts_daily"]``;
- a list ("Sync app accounts" on the patients list): a ``SyncJob`` of kind ``app_accounts``
  over the accounts activated in a range of days, in chunks, its summary in ``preview``;
- one patient (the card's "Update app account in CRM"), at once.

Skipped, with the reason: no app account; never booked (no visit at all, deleted ones not
counting: in the spec a patient gets a card number at the first booking, in Odonta every
card has one from the start); no amoCRM contact yet (the patient sync links contacts; this
one never creates them).
"""

import datetime
import logging
import uuid
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from calendar_app.models import Appointment
from clinic import jobs
from clinic.models import Organization
from integrations import synclog
from integrations.amocrm import outbound
from integrations.amocrm.client import AmoClient
from integrations.amocrm.config import SYSTEM, AmoSettings
from integrations.amocrm.setup import failure_message
from integrations.amocrm.sync import (
    client_for,
    remote_time,
    resume_stalled_jobs,
    settings_update,
    stop_if_refused,
)
from integrations.http import IntegrationError
from integrations.models import Connection, ExternalLink, SyncJob, SyncJobStatus, SyncResult
from patients.models import Patient, PortalAccount

logger = logging.getLogger(__name__)

KIND = "app_accounts"  # SyncJob.kind of a list run
FIELD = "app_account"  # the contact_fields key and the synced_values key
DAILY_KEY = "app_accounts_daily"  # Connection.settings: the last daily run
ACTION = "contact.app_account"

NO_ACCOUNT, NEVER_BOOKED, NO_CONTACT = "no_account", "never_booked", "no_contact"
SKIP_REASONS = {
    NO_ACCOUNT: gettext_lazy("no app account"),
    NEVER_BOOKED: gettext_lazy("no visit booked yet"),
    NO_CONTACT: gettext_lazy("no amoCRM contact yet"),
}
# A list run keeps the names of this many skipped patients per reason and failed ones.
# A list run's chunk, in write batches: its reads, locks and progress once for this many
# (a chunk of one batch cost 33 ms of SQL a chunk with nothing to write), the patients'
# rows held while at most this many requests go out (~0.6 s at 7 a second).
LIST_CHUNK_BATCHES = 4
NAMES_KEPT = 100
LOCK_SECONDS = 180


def field_id(connection: Connection | None) -> int | None:
    """The contact field the accounts go to; None when the feature is off."""
    if connection is None:
        return None
    return AmoSettings.of(connection).contact_fields.get(FIELD)


def clinic_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(Organization.load().time_zone)


def account_value(account: PortalAccount | None, zone: zoneinfo.ZoneInfo | None = None) -> str:
    """What the contact field holds for this account ("" for none or a deactivated one);
    ``zone``: the clinic's, when the caller has it (a batch reads it once, not per patient)."""
    if account is None or not account.is_active:
        return ""
    day = account.activated_at.astimezone(zone or clinic_zone()).date()
    with translation.override(django_settings.LANGUAGE_CODE):  # amoCRM's users read the clinic's
        return _("%(login)s (activated %(date)s)") % {
            "login": account.login,
            "date": formats.date_format(day, "d.m.Y"),
        }


@dataclass
class Result:
    written: list[int] = field(default_factory=list)
    up_to_date: list[int] = field(default_factory=list)
    skipped: dict[str, list[int]] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)  # of the skipped and failed
    # The last patient id this batch dealt with (``whole_batches`` may stop before the end).
    last_id: int | None = None

    def skip(self, patient: Patient, reason: str) -> None:
        self.skipped.setdefault(reason, []).append(patient.pk)
        self.names[patient.pk] = patient.full_name

    def add(self, other: "Result") -> None:
        self.written += other.written
        self.up_to_date += other.up_to_date
        for reason, ids in other.skipped.items():
            self.skipped.setdefault(reason, []).extend(ids)
        self.failed.update(other.failed)
        self.names.update(other.names)

    def counts(self) -> dict[str, Any]:
        return {
            "written": len(self.written),
            "up_to_date": len(self.up_to_date),
            "skipped": {reason: len(ids) for reason, ids in self.skipped.items()},
            "failed": len(self.failed),
        }


def _line(connection: Connection, patient_id: int, result: str, **kwargs) -> Any:
    return synclog.entry(
        direction="out",
        system=SYSTEM,
        connection=connection,
        action=ACTION,
        entity_type="patient",
        entity_id=patient_id,
        result=result,
        **kwargs,
    )


def sync_patients(
    connection: Connection,
    client: AmoClient,
    patient_ids: list[int],
    *,
    whole_batches: bool = False,
) -> Result:
    """Write these patients' app accounts to their contacts (one batch write for all that
    differ), holding the patients' rows as the patient push does, so neither overwrites the
    other's remembered values. The queries do not grow with the number of patients.

    ``whole_batches``: with at least one write batch's worth to write, stop after the last
    whole batch (``Result.last_id``); the patients after it are the next chunk's, so a run's
    requests follow its writes, not the accounts it reads (the skipped fill no batch)."""
    result = Result()
    contact_field = client.settings.contact_fields.get(FIELD)
    if not contact_field or not patient_ids:
        return result
    with transaction.atomic():
        patients = list(
            Patient.objects.select_for_update(of=("self",))
            .select_related("portal_account")
            .filter(pk__in=patient_ids)
            .order_by("pk")
        )
        ids = [patient.pk for patient in patients]
        booked = set(
            Appointment.objects.filter(patient_id__in=ids)
            .values_list("patient_id", flat=True)
            .distinct()
        )
        links = outbound.links_of(Patient, ids)
        updates: list[tuple[Patient, ExternalLink, str]] = []
        lines = []
        zone = clinic_zone()
        if whole_batches:
            patients = _up_to_whole_batches(patients, links, booked, zone, client.batch_size)
        result.last_id = patients[-1].pk if patients else None
        for patient in patients:
            link = links.get(patient.pk)
            outcome, value = _decide(patient, link, booked, zone)
            if outcome == UP_TO_DATE:
                result.up_to_date.append(patient.pk)
                continue
            if outcome == WRITE and link is not None:
                updates.append((patient, link, value))
                continue
            reason = value
            result.skip(patient, reason)
            lines.append(_line(connection, patient.pk, SyncResult.SKIPPED, error=reason))
        if updates:
            bodies = [
                {
                    "id": int(link.external_id),
                    "custom_fields_values": [
                        {"field_id": contact_field, "values": [{"value": value}] if value else None}
                    ],
                }
                for _patient, link, value in updates
            ]
            answers = _write_each(client, bodies)
            changed = []
            now = timezone.now()
            for (patient, link, value), answer in zip(updates, answers, strict=True):
                if isinstance(answer, IntegrationError):
                    result.failed[patient.pk] = refusal(answer)
                    result.names[patient.pk] = patient.full_name
                    error = f"{answer} {answer.body}"
                    lines.append(_line(connection, patient.pk, SyncResult.FAILED, error=error))
                    continue
                before = link.synced_values.get(FIELD)
                link.synced_values = {**link.synced_values, FIELD: value}
                link.updated_at = now
                if (moment := remote_time(answer.get("updated_at"))) is not None:
                    link.remote_updated_at = moment
                changed.append(link)
                result.written.append(patient.pk)
                lines.append(
                    _line(
                        connection,
                        patient.pk,
                        SyncResult.OK,
                        changes={FIELD: [before, value]},
                        request_id=link.external_id,
                    )
                )
            ExternalLink.objects.bulk_update(
                changed, ["synced_values", "remote_updated_at", "updated_at"]
            )
        synclog.log_many(lines)
    return result


WRITE, UP_TO_DATE, SKIP = "write", "up_to_date", "skip"


def _decide(patient: Patient, link: ExternalLink | None, booked: set[int], zone) -> tuple:
    """(WRITE, the value) / (UP_TO_DATE, "") / (SKIP, the reason) for one patient."""
    value = account_value(getattr(patient, "portal_account", None), zone)
    written = link.synced_values.get(FIELD, "") if link is not None else ""
    if not value and not written:
        return SKIP, NO_ACCOUNT
    if value and patient.pk not in booked:
        return SKIP, NEVER_BOOKED
    if link is None:
        return SKIP, NO_CONTACT
    if value == written and FIELD in link.synced_values:
        return UP_TO_DATE, ""
    return WRITE, value


def _up_to_whole_batches(
    patients: list[Patient], links, booked: set[int], zone, batch: int
) -> list[Patient]:
    """The patients (in id order) up to the one whose write fills the last whole batch; all
    of them when there is less than a batch to write."""
    to_write = [
        index
        for index, patient in enumerate(patients)
        if _decide(patient, links.get(patient.pk), booked, zone)[0] == WRITE
    ]
    whole = len(to_write) // batch * batch
    return patients[: to_write[whole - 1] + 1] if whole else patients


def _write_each(client: AmoClient, bodies: list[dict[str, Any]]) -> list[Any]:
    """The batch write, each contact refused alone (400 / 422: a contact deleted in amoCRM)
    a failure of its patient, also when it is the only one in its batch: one bad contact
    must not stop a list run or the daily one (which would retry it all day)."""
    try:
        return outbound._write_each(client.update_contacts, bodies)
    except IntegrationError as error:
        if len(bodies) != 1 or error.status not in (400, 422):
            raise
        return [error]


def refusal(error: IntegrationError) -> str:
    """What the summary says about a refused contact (the clinic's language, as the value):
    never the request's address or body; the sync log keeps those."""
    with translation.override(django_settings.LANGUAGE_CODE):
        return str(failure_message(error))


# --- One patient (the card) -------------------------------------------------------------------


def sync_one(connection: Connection, patient: Patient) -> Result:
    """The card's "Update app account in CRM"; an ``IntegrationError`` reaches the caller."""
    client = client_for(connection)
    try:
        return sync_patients(connection, client, [patient.pk])
    except IntegrationError as error:
        stop_if_refused(connection, error)
        synclog.log(
            direction="out",
            system=SYSTEM,
            connection=connection,
            action=ACTION,
            entity_type="patient",
            entity_id=patient.pk,
            result=SyncResult.FAILED,
            error=str(error),
        )
        raise
    finally:
        client.close()


# --- Daily ------------------------------------------------------------------------------------


def last_daily_run(connection: Connection) -> dict[str, Any]:
    value = (connection.settings or {}).get(DAILY_KEY)
    return value if isinstance(value, dict) else {}


def daily_due(connection: Connection, now: datetime.datetime) -> bool:
    """Once a day, at or after the time of day set in the wizard (the clinic's zone)."""
    if not field_id(connection):
        return False
    local = now.astimezone(clinic_zone())
    if local.time() < AmoSettings.of(connection).app_accounts_time:
        return False
    return last_daily_run(connection).get("date") != local.date().isoformat()


def _daily_candidates(since: datetime.datetime | None, size: int):
    """Chunks of patient ids: accounts changed since the last run (a deactivation clears the
    field), and active accounts not written yet (every one, the first time)."""
    wanted = Q(updated_at__gte=since) | Q(is_active=True) if since else Q(is_active=True)
    last = 0
    while True:
        chunk = list(
            _alive_after(last)
            .filter(wanted)
            .order_by("patient_id")
            .values_list("patient_id", "updated_at")[:size]
        )
        if not chunk:
            return
        last = chunk[-1][0]
        links = outbound.links_of(Patient, [pk for pk, _updated in chunk])
        yield [
            pk
            for pk, updated in chunk
            if (since is not None and updated >= since)
            or pk not in links
            or FIELD not in links[pk].synced_values
        ]


def daily_run(connection: Connection, *, now: datetime.datetime | None = None) -> Result | None:
    """The daily sync if it is due (None when it is not, or another worker runs it)."""
    now = now or timezone.now()
    if not daily_due(connection, now):
        return None
    lock_key, token = f"amocrm:app-accounts:daily:{connection.pk}", uuid.uuid4().hex
    if not cache.add(lock_key, token, LOCK_SECONDS):
        return None
    client = client_for(connection)
    result = Result()
    previous = last_daily_run(connection)
    since = _parse_moment(previous.get("started_at"))
    record: dict[str, Any] = {
        "date": now.astimezone(clinic_zone()).date().isoformat(),
        "started_at": now.isoformat(),
    }
    try:
        for ids in _daily_candidates(since, 500):
            cache.touch(lock_key, LOCK_SECONDS)
            if ids:
                result.add(sync_patients(connection, client, ids))
    except IntegrationError as error:
        stop_if_refused(connection, error)
        # Not recorded as done: the next beat tries again today.
        _log_run(connection, "app_accounts.daily", result, error=str(error))
        raise
    finally:
        client.close()
        if cache.get(lock_key) == token:
            cache.delete(lock_key)
    settings_update(connection, **{DAILY_KEY: {**record, **result.counts()}})
    _log_run(connection, "app_accounts.daily", result)
    return result


def _parse_moment(value: Any) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else None


def _log_run(connection: Connection, action: str, result: Result, *, error: str = "") -> None:
    counts = result.counts()
    synclog.log(
        direction="out",
        system=SYSTEM,
        connection=connection,
        action=action,
        entity_type="job",
        result=SyncResult.FAILED if error or result.failed else SyncResult.OK,
        changes={key: [None, value] for key, value in counts.items()},
        error=error,
    )


# --- A list run (the patients list's dialog) --------------------------------------------------


def range_bounds(
    date_from: datetime.date, date_to: datetime.date
) -> tuple[datetime.datetime, datetime.datetime]:
    zone = clinic_zone()
    start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(
        date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
    )
    return start, end


def _alive_after(after: int):
    """Accounts of patients not deleted, past ``after`` in patient id order. The patients'
    side is a subquery bounded by ``after`` too: a join would let PostgreSQL merge from the
    first patient on every chunk (a chunk's cost growing with the chunks before it)."""
    alive = Patient.all_objects.filter(pk__gt=after, deleted_at__isnull=True).values("pk")
    return PortalAccount.objects.filter(patient_id__gt=after, patient_id__in=alive)


def _accounts_in(cursor: dict[str, Any], after: int = 0):
    start, end = range_bounds(
        datetime.date.fromisoformat(cursor["from"]), datetime.date.fromisoformat(cursor["to"])
    )
    return _alive_after(after).filter(activated_at__gte=start, activated_at__lt=end)


def empty_summary() -> dict[str, Any]:
    return {"written": 0, "up_to_date": 0, "skipped": {}, "named": {}, "errors": []}


def job_start(
    connection: Connection, *, by, date_from: datetime.date, date_to: datetime.date
) -> SyncJob:
    cursor = {"from": date_from.isoformat(), "to": date_to.isoformat(), "after": 0}
    now = timezone.now()
    job = SyncJob.objects.create(
        system=SYSTEM,
        connection=connection,
        kind=KIND,
        status=SyncJobStatus.RUNNING,
        cursor=cursor,
        total=_accounts_in(cursor).count(),
        preview=empty_summary(),
        started_by=by,
        started_at=now,
        progress_at=now,
    )
    from integrations.amocrm.tasks import amocrm_app_accounts_run

    jobs.enqueue(amocrm_app_accounts_run, job.pk)
    return job


def running_job() -> SyncJob | None:
    return SyncJob.objects.filter(system=SYSTEM, kind=KIND, status=SyncJobStatus.RUNNING).first()


def job_run(job_id: int) -> None:
    """The task: the chunks of a list run until done (one worker per job: a cache lock)."""
    lock_key, token = f"amocrm:app-accounts:{job_id}", uuid.uuid4().hex
    if not cache.add(lock_key, token, LOCK_SECONDS):
        return
    job = SyncJob.objects.select_related("connection").get(pk=job_id)
    client = client_for(job.connection)
    try:
        if job.status == SyncJobStatus.RUNNING:
            _run(job, client, lock_key)
    except IntegrationError as error:
        stop_if_refused(job.connection, error)
        _finish(job, SyncJobStatus.FAILED, error=str(error)[:2000], shown=refusal(error))
    except Exception as error:
        logger.exception("The amoCRM app accounts sync %s failed", job_id)
        with translation.override(django_settings.LANGUAGE_CODE):
            shown = _("The sync stopped on an unexpected error; see the server log.")
        _finish(job, SyncJobStatus.FAILED, error=repr(error)[:2000], shown=shown)
    finally:
        client.close()
        if cache.get(lock_key) == token:
            cache.delete(lock_key)


def _run(job: SyncJob, client: AmoClient, lock_key: str) -> None:
    summary = {**empty_summary(), **job.preview}
    while True:
        cache.touch(lock_key, LOCK_SECONDS)
        ids = list(
            _accounts_in(job.cursor, job.cursor.get("after", 0))
            .order_by("patient_id")
            .values_list("patient_id", flat=True)[: client.batch_size * LIST_CHUNK_BATCHES]
        )
        if not ids:
            _finish(job, SyncJobStatus.DONE)
            return
        chunk = client.batch_size * LIST_CHUNK_BATCHES
        result = sync_patients(job.connection, client, ids, whole_batches=len(ids) == chunk)
        last = result.last_id or ids[-1]
        _summarize(summary, result)
        job.cursor = {**job.cursor, "after": last}
        job.processed += sum(1 for pk in ids if pk <= last)
        job.failed += len(result.failed)
        job.preview = summary
        updated = SyncJob.objects.filter(pk=job.pk, status=SyncJobStatus.RUNNING).update(
            cursor=job.cursor,
            processed=job.processed,
            failed=job.failed,
            preview=summary,
            progress_at=timezone.now(),
        )
        if not updated:
            return


def _summarize(summary: dict[str, Any], result: Result) -> None:
    summary["written"] += len(result.written)
    summary["up_to_date"] += len(result.up_to_date)
    for reason, ids in result.skipped.items():
        summary["skipped"][reason] = summary["skipped"].get(reason, 0) + len(ids)
        named = summary["named"].setdefault(reason, [])
        room = NAMES_KEPT - len(named)
        named += [[pk, result.names.get(pk, "")] for pk in ids[: max(room, 0)]]
    room = NAMES_KEPT - len(summary["errors"])
    summary["errors"] += [
        [pk, result.names.get(pk, ""), error[:300]]
        for pk, error in list(result.failed.items())[: max(room, 0)]
    ]


def _finish(job: SyncJob, status: str, *, error: str = "", shown: str = "") -> None:
    """``error`` goes to the sync log; the job page shows ``shown`` (no addresses)."""
    now = timezone.now()
    SyncJob.objects.filter(pk=job.pk).update(
        status=status, error=shown or error, finished_at=now, progress_at=now
    )
    job.refresh_from_db()
    summary = {**empty_summary(), **job.preview}
    synclog.log(
        direction="out",
        system=SYSTEM,
        connection=job.connection,
        action="app_accounts.list",
        entity_type="job",
        entity_id=job.pk,
        result=SyncResult.OK if status == SyncJobStatus.DONE else SyncResult.FAILED,
        changes={
            "written": [None, summary["written"]],
            "up_to_date": [None, summary["up_to_date"]],
            "skipped": [None, summary["skipped"]],
            "failed": [None, job.failed],
        },
        error=error,
    )


def resume_stalled() -> int:
    """List runs whose worker stopped (a restart) without finishing: start them again."""
    from integrations.amocrm.tasks import amocrm_app_accounts_run

    return resume_stalled_jobs(KIND, amocrm_app_accounts_run)
