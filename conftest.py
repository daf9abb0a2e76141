import uuid

import psycopg
import pytest
from django.core.cache import cache
from django.test import override_settings
from psycopg import sql

from clinic import testing

# Tables that only tests fill (migrations leave them empty, a transactional test's flush too).
ROWS_LEFT_BY_A_KILLED_RUN = ("clinic_user", "django_session", "clinic_auditentry")


def reused_test_database_has_leftovers() -> bool:
    """Whether the test database kept by --reuse-db holds rows a test committed.

    A run killed inside a transactional test (a hang, ^C, a CI timeout) never flushes, and
    the next run would trip over its rows. A missing database or table is no leftover: it is
    built anyway.
    """
    from django.db import connections

    settings = connections["default"].settings_dict
    if settings["ENGINE"] != "django.db.backends.postgresql":
        return False
    name = settings["TEST"].get("NAME") or f"test_{settings['NAME']}"
    exists = sql.SQL("EXISTS (SELECT 1 FROM {})")
    tables = ROWS_LEFT_BY_A_KILLED_RUN
    checks = sql.SQL(" OR ").join(exists.format(sql.Identifier(table)) for table in tables)
    try:
        with psycopg.connect(
            host=settings["HOST"] or None,
            port=settings["PORT"] or None,
            user=settings["USER"] or None,
            password=settings["PASSWORD"] or None,
            dbname=name,
            connect_timeout=5,
        ) as conn:
            row = conn.execute(sql.SQL("SELECT {}").format(checks)).fetchone()
    except psycopg.Error:
        return False
    return bool(row and row[0])


@pytest.fixture(scope="session")
def django_db_createdb(request):
    """--reuse-db, unless the kept database holds what a killed run left: then build it anew."""
    return request.config.getvalue("create_db") or reused_test_database_has_leftovers()


@pytest.fixture(autouse=True)
def _base_price_list(request):
    """The base price list that pricelist's 0002 data migration makes: a transactional
    test's flush empties it, and a database reused after one keeps it empty, so it is made
    again here (as clinical/tests/conftest.py loads the ICD-10 list again), and a page read
    in a test never has to make it."""
    names = request.fixturenames
    if request.node.get_closest_marker("django_db"):
        request.getfixturevalue("_django_db_helper")
    elif "transactional_db" in names or "db" in names:
        request.getfixturevalue("transactional_db" if "transactional_db" in names else "db")
    else:
        return
    from pricelist.prices import base_list

    base_list()


@pytest.fixture(autouse=True)
def _clean_cache():
    """Redis outlives a test; rate-limit counters and cached settings must not."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _audit_anchors_of_this_test(tmp_path_factory):
    """Each test anchors the audit chain in a file of its own, never in a developer's.
    (override_settings, not the settings fixture: that would change the teardown order.)"""
    name = f"audit-anchors-{uuid.uuid4().hex}.jsonl"
    with override_settings(AUDIT_ANCHOR_PATH=tmp_path_factory.getbasetemp() / name):
        yield


@pytest.fixture
def branch(db):
    return testing.main_branch()


@pytest.fixture
def branch_elsewhere(db):
    return testing.other_branch()


@pytest.fixture
def admin_persona(branch):
    return testing.make_admin(branch)


@pytest.fixture
def registrar(branch):
    return testing.make_persona("registrar", branch)


@pytest.fixture
def doctor(branch):
    return testing.make_persona("doctor", branch)


@pytest.fixture
def doctor_elsewhere(branch_elsewhere):
    return testing.make_persona("doctor", branch_elsewhere, username="doctor2")


@pytest.fixture
def coordinator(branch):
    return testing.make_persona("coordinator", branch)


@pytest.fixture
def accountant(branch):
    return testing.make_persona("accountant", branch)


@pytest.fixture
def manager(branch):
    """All the rights of the demo's management role, in one branch (not a superuser)."""
    return testing.make_persona("management", branch)


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager.user)
    return client


@pytest.fixture
def admin_client(client, admin_persona):
    client.force_login(admin_persona.user)
    return client


@pytest.fixture
def registrar_client(client, registrar):
    client.force_login(registrar.user)
    return client


@pytest.fixture
def doctor_client(client, doctor):
    client.force_login(doctor.user)
    return client


# --- Browser tests (Playwright driving Debian's Chromium) --------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "ru-RU", "viewport": {"width": 1400, "height": 900}}


def pytest_collection_modifyitems(config, items):
    """Browser tests share the process badly with asyncio tests: they run last, or alone."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


class AsgiLiveServer:
    def __init__(self, url: str):
        self.url = url


@pytest.fixture
def asgi_live_server(transactional_db):
    """The whole ASGI application (HTTP and websockets) served by uvicorn in a thread.

    pytest-django's live_server speaks WSGI only; live-update tests need the websocket.
    The server's threads use this test's database, so committed test data is visible.
    """
    import socket
    import threading
    import time

    import uvicorn
    from channels.layers import channel_layers

    # A channel layer remembers the event loop receiving on it; each server here has a new
    # loop, so each gets a new layer (in production one process keeps one loop).
    channel_layers.backends.clear()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        "config.asgi:application", host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield AsgiLiveServer(f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)
    channel_layers.backends.clear()
