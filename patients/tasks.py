import logging

from celery import shared_task
from django.utils import timezone

from patients import imports
from patients.models import ImportStatus, PatientImport

logger = logging.getLogger(__name__)


def _guarded(job_id: int, *, dry_run: bool) -> None:
    try:
        imports.run_import(job_id, dry_run=dry_run)
    except Exception as exc:
        logger.exception("Patient import %s failed", job_id)
        PatientImport.objects.filter(pk=job_id).update(
            status=ImportStatus.FAILED,
            error=f"{exc.__class__.__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )


@shared_task(ignore_result=True, time_limit=3600)
def patient_import_validate(job_id: int) -> None:
    _guarded(job_id, dry_run=True)


@shared_task(ignore_result=True, time_limit=3600)
def patient_import_run(job_id: int) -> None:
    _guarded(job_id, dry_run=False)
