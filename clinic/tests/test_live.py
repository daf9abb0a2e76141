"""Live updates over websockets (Channels): who may connect, subscribe and hear a broadcast.

These run on the real ASGI application and the Redis channel layer, each test under its own
layer prefix, so a browser-test process sharing the Redis database never hears them.
"""

import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from clinic import live
from clinic.tests.factories import UserFactory
from config.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture(autouse=True)
def own_channel_layer(settings):
    layer = dict(settings.CHANNEL_LAYERS["default"])
    if "CONFIG" in layer:
        layer["CONFIG"] = {**layer["CONFIG"], "prefix": f"h-live-{uuid.uuid4().hex[:12]}"}
    settings.CHANNEL_LAYERS = {"default": layer}


def session_cookie_for(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def connect(*headers):
    """A socket to the live endpoint. Every test disconnects what it opened, refused sockets
    too: a consumer still running when the test's event loop closes is cancelled together
    with every other task there, and channels_redis's receive can then wait forever for a
    lock that its cancelled cleaner held (an intermittent hang of the whole suite)."""
    communicator = WebsocketCommunicator(application, "/ws/live/", headers=[*headers])
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def test_an_anonymous_socket_is_closed():
    communicator, connected, code = await connect(ORIGIN)
    await communicator.disconnect()
    assert not connected
    assert code == 4401


async def test_a_socket_from_a_foreign_origin_is_refused():
    user = await database_sync_to_async(UserFactory)()
    cookie = await database_sync_to_async(session_cookie_for)(user)
    communicator, connected, _code = await connect((b"origin", b"https://evil.example"), cookie)
    await communicator.disconnect()
    assert not connected


async def test_a_user_hears_broadcasts_to_their_own_topic():
    user = await database_sync_to_async(UserFactory)()
    cookie = await database_sync_to_async(session_cookie_for)(user)
    communicator, connected, _code = await connect(ORIGIN, cookie)
    assert connected
    try:
        topic = f"user.{user.pk}"
        await communicator.send_json_to({"subscribe": topic})
        assert await communicator.receive_json_from(timeout=5) == {"subscribed": topic}

        await database_sync_to_async(live.broadcast)(topic, {"reload": True})
        assert await communicator.receive_json_from(timeout=5) == {
            "topic": topic,
            "data": {"reload": True},
        }
        await database_sync_to_async(live.broadcast)(f"user.{user.pk + 1}", {"reload": True})
        assert await communicator.receive_nothing(timeout=0.3)

        await communicator.send_json_to({"unsubscribe": topic})
        # Requests are handled in order: once this one is answered, the unsubscribe is done.
        await communicator.send_json_to({"subscribe": 42})
        assert await communicator.receive_json_from(timeout=5) == {"error": "bad request"}
        await database_sync_to_async(live.broadcast)(topic, {"reload": True})
        assert await communicator.receive_nothing(timeout=0.3)
    finally:
        await communicator.disconnect()


async def test_subscribing_to_another_users_topic_is_refused():
    user, other = await database_sync_to_async(lambda: (UserFactory(), UserFactory()))()
    cookie = await database_sync_to_async(session_cookie_for)(user)
    communicator, connected, _code = await connect(ORIGIN, cookie)
    assert connected
    try:
        topic = f"user.{other.pk}"
        await communicator.send_json_to({"subscribe": topic})
        assert await communicator.receive_json_from(timeout=5) == {
            "error": "forbidden",
            "topic": topic,
        }
        await database_sync_to_async(live.broadcast)(topic, {"secret": "message"})
        assert await communicator.receive_nothing(timeout=0.3)
    finally:
        await communicator.disconnect()


async def test_malformed_requests_and_unknown_topics_are_answered_with_an_error():
    user = await database_sync_to_async(UserFactory)()
    cookie = await database_sync_to_async(session_cookie_for)(user)
    communicator, connected, _code = await connect(ORIGIN, cookie)
    assert connected
    try:
        for message in ({"subscribe": 42}, {"subscribe": "user." + "9" * 300}, {"hi": "there"}):
            await communicator.send_json_to(message)
            assert await communicator.receive_json_from(timeout=5) == {"error": "bad request"}
        await communicator.send_json_to({"subscribe": "nosuchprefix.1"})
        assert await communicator.receive_json_from(timeout=5) == {
            "error": "forbidden",
            "topic": "nosuchprefix.1",
        }
    finally:
        await communicator.disconnect()


async def test_a_broadcast_sent_by_the_courier_thread_arrives(settings):
    """Production hands broadcasts to the courier's thread and event loop (clinic.courier)."""
    settings.ODONTA_COURIER_THREAD = True
    user = await database_sync_to_async(UserFactory)()
    cookie = await database_sync_to_async(session_cookie_for)(user)
    communicator, connected, _code = await connect(ORIGIN, cookie)
    assert connected
    try:
        topic = f"user.{user.pk}"
        await communicator.send_json_to({"subscribe": topic})
        assert await communicator.receive_json_from(timeout=5) == {"subscribed": topic}
        for number in range(3):
            await database_sync_to_async(live.broadcast)(topic, {"number": number})
        received = [await communicator.receive_json_from(timeout=5) for _ in range(3)]
        assert [message["data"]["number"] for message in received] == [0, 1, 2]
    finally:
        await communicator.disconnect()
