import logging

from celery import shared_task

from patients import imports, services
from patients.models import PatientImport

logger = logging.getLogger(__name__)


def _guarded(job_id: int, *, dry_run: bool) -> None:
    try:
        imports.run_import(job_id, dry_run=dry_run)
    except Exception as exc:
        logger.exception("Patient import %s failed", job_id)
        job = PatientImport.objects.filter(pk=job_id).first()
        if job is not None:
            services.patient_import_fail(job=job, error=f"{exc.__class__.__name__}: {exc}")


@shared_task(ignore_result=True, time_limit=3600)
def patient_import_validate(job_id: int) -> None:
    _guarded(job_id, dry_run=True)


@shared_task(ignore_result=True, time_limit=3600)
def patient_import_run(job_id: int) -> None:
    _guarded(job_id, dry_run=False)


@shared_task(ignore_result=True)
def patient_imports_sweep() -> int:
    """Hourly (``CELERY_BEAT_SCHEDULE``): no import file outlives its retention."""
    return services.patient_imports_sweep()
