"""Live updates over websockets: pages subscribe to topics, services broadcast to them.

An app registers a topic prefix with a rule saying who may listen:

    live.register_topic("calendar", lambda user, rest: user_sees_branch_day(user, rest))

and, after its transaction commits, announces a change:

    transaction.on_commit(lambda: live.broadcast("calendar.3.2026-11-23", {"reload": True}))

The browser side is ``static/js/live.js``: ``Live.subscribe(topic, callback)``.
"""

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from channels.layers import get_channel_layer

from clinic.courier import courier

logger = logging.getLogger(__name__)

Authorizer = Callable[[Any, str], bool]
_topics: dict[str, Authorizer] = {}


def register_topic(prefix: str, authorize: Authorizer) -> None:
    _topics[prefix] = authorize


def may_listen(user, topic: str) -> bool:
    prefix, _sep, rest = topic.partition(".")
    authorize = _topics.get(prefix)
    return bool(authorize and user.is_authenticated and user.is_active and authorize(user, rest))


def group_name(topic: str) -> str:
    # Channels group names allow few characters and under 100 of them: hash the topic.
    return "live-" + hashlib.sha256(topic.encode()).hexdigest()[:40]


def broadcast(topic: str, data: dict) -> None:
    broadcast_many([topic], data)


def broadcast_many(topics: Iterable[str], data: dict) -> None:
    """The same message to several topics (a booking tells its calendar day and its doctor's
    schedule), sent by the courier: the request does not wait for Redis."""
    layer = get_channel_layer()
    topics = sorted(set(topics))
    if layer is None or not topics:
        return

    async def send_all() -> None:
        try:
            await asyncio.gather(
                *(
                    layer.group_send(
                        group_name(topic), {"type": "live.message", "topic": topic, "data": data}
                    )
                    for topic in topics
                )
            )
        except Exception:  # a live update is a courtesy; the change itself is committed
            logger.warning("Live broadcast to %s failed", ", ".join(topics), exc_info=True)

    courier.deliver(send_all)


register_topic("user", lambda user, rest: rest == str(user.pk))
