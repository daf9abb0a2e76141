"""Draining the push queue: patients first (a deal needs its contact), then visits, then
the responsible users (``responsible.py``: written to the contacts and deals made above).

The push task runs right after a change commits and again every minute (a beat entry), so
a change reaches amoCRM in seconds and a change made while amoCRM was down goes out when it
is back. A refused connection (403, a revoked token) stops the run and leaves the queue as
it is; any other error backs the claimed rows off and the rest go on.
"""

import logging
import time

from integrations import queue
from integrations.amocrm import outbound, responsible
from integrations.amocrm.config import SYSTEM
from integrations.amocrm.sync import active_connection, client_for, stop_if_refused
from integrations.http import IntegrationError

logger = logging.getLogger(__name__)

PUSHERS = (
    ("patient", outbound.push_patients),
    ("visit", outbound.push_visits),
    ("responsible", responsible.push_responsible),  # after the contacts and deals exist
)


def push_pending(*, budget_seconds: float = 50.0) -> int:
    """Push what is queued until the queue is empty or the time is up; returns how many."""
    connection = active_connection()
    if connection is None:
        return 0
    client = client_for(connection)
    started = time.monotonic()
    pushed = 0
    try:
        while time.monotonic() - started < budget_seconds:
            moved = 0
            for entity_type, push in PUSHERS:
                claimed = queue.claim(SYSTEM, entity_type, limit=client.batch_size)
                if not claimed:
                    continue
                moved += len(claimed)
                try:
                    result = push(connection, client, [item.object_id for item in claimed])
                except IntegrationError as error:
                    if stop_if_refused(connection, error):
                        queue.release(SYSTEM, claimed)
                        return pushed
                    queue.fail(SYSTEM, claimed, str(error))
                    logger.warning(
                        "amoCRM push of %s %ss failed: %s", len(claimed), entity_type, error
                    )
                    continue
                by_id = {item.object_id: item for item in claimed}
                queue.finish(
                    SYSTEM, [by_id[pk] for pk in result.done + result.waiting if pk in by_id]
                )
                failed = [by_id[pk] for pk in result.failed if pk in by_id]
                if failed:
                    queue.fail(SYSTEM, failed, "; ".join(result.failed.values()))
                pushed += len(result.done)
            if not moved:
                break
    finally:
        client.close()
    return pushed
