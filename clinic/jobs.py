"""Starting long jobs (imports, exports) in the background.

With a broker, a Celery task. In the embedded quickstart (``make run``, no Redis) Celery
runs tasks eagerly, which would hold the user's request for minutes: there the job runs
in a thread of the server instead, so the page can show its progress.
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)


def enqueue(task, *args) -> None:
    """Start ``task`` once the current transaction commits."""
    transaction.on_commit(lambda: start_now(task, *args))


def start_now(task, *args) -> None:
    """Start ``task`` in the background now (the caller is past its commit): a Celery task,
    or a thread of this process in the quickstart, so a request never runs it inline."""
    if settings.LONG_JOBS_IN_THREADS:
        threading.Thread(target=_run_in_thread, args=(task, args), daemon=True).start()
    else:
        task.delay(*args)


def _run_in_thread(task, args) -> None:
    try:
        task.apply(args=args, throw=True)
    except Exception:
        logger.exception("Background job %s%s failed", task.name, args)
    finally:
        close_old_connections()
