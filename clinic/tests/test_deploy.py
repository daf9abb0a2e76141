"""What CI checks besides the tests: production settings, the deploy check, migrations."""

import importlib.util
import os
import secrets
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

ROOT = settings.BASE_DIR


def production_env(**overrides) -> dict:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(45),  # 60 characters
        "ALLOWED_HOSTS": "clinic.example",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "REDIS_URL": os.environ["REDIS_URL"],
        "ODONTA_FERNET_KEYS": Fernet.generate_key().decode(),
        "ODONTA_AUDIT_KEYS": f"2026a:{secrets.token_urlsafe(32)}",
        "ODONTA_AUDIT_ANCHOR_PATH": "/var/lib/odonta-anchors/audit-anchors.jsonl",
        "LOG_LEVEL": "WARNING",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_deploy_check_passes_with_production_settings():
    env = production_env()
    assert len(env["SECRET_KEY"]) == 60
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = run(["manage.py", "check"], production_env(SECRET_KEY=None))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def load_settings_file(monkeypatch, env: dict):
    """Execute config/settings.py afresh under ``env`` (the running settings stay as they are)."""
    for name in list(os.environ):
        if name not in env:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("settings_probe", ROOT / "config" / "settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("missing", "overrides"),
    [
        ("SECRET_KEY", {"SECRET_KEY": ""}),
        ("ALLOWED_HOSTS", {"ALLOWED_HOSTS": None}),
        ("DATABASE_URL", {"DATABASE_URL": None}),
        ("REDIS_URL", {"REDIS_URL": None}),
        ("ODONTA_FERNET_KEYS", {"ODONTA_FERNET_KEYS": None}),
        ("ODONTA_AUDIT_KEYS", {"ODONTA_AUDIT_KEYS": None}),
        ("ODONTA_AUDIT_ANCHOR_PATH", {"ODONTA_AUDIT_ANCHOR_PATH": None}),
        ("DJANGO_ENV", {"DJANGO_ENV": "staging"}),
    ],
)
def test_production_settings_refuse_to_load_without_each_secret(monkeypatch, missing, overrides):
    with pytest.raises(ImproperlyConfigured, match=missing):
        load_settings_file(monkeypatch, production_env(**overrides))


def test_the_same_settings_load_with_every_secret_given(monkeypatch):
    module = load_settings_file(monkeypatch, production_env())
    assert module.PRODUCTION and not module.DEBUG


def test_audit_keys_are_read_newest_first(monkeypatch):
    new, old = "n" * 32, "o" * 40 + ":with:colons"
    module = load_settings_file(
        monkeypatch, production_env(ODONTA_AUDIT_KEYS=f"k2:{new}, k1:{old}")
    )
    assert list(module.AUDIT_KEYS.items()) == [("k2", new), ("k1", old)]


@pytest.mark.parametrize(
    "keys",
    [
        "no-secret",
        "k1:too-short",
        f"k1:{'a' * 32},k1:{'b' * 32}",  # the same id twice
        f"a key:{'a' * 32}",
        f"{'k' * 17}:{'a' * 32}",
    ],
)
def test_malformed_audit_keys_are_refused(monkeypatch, keys):
    with pytest.raises(ImproperlyConfigured, match="ODONTA_AUDIT_KEYS"):
        load_settings_file(monkeypatch, production_env(ODONTA_AUDIT_KEYS=keys))


def test_the_audit_anchors_may_not_live_where_users_download_files(monkeypatch, tmp_path):
    env = production_env(
        MEDIA_ROOT=str(tmp_path / "media"),
        ODONTA_AUDIT_ANCHOR_PATH=str(tmp_path / "media" / "private" / "anchors.jsonl"),
    )
    with pytest.raises(ImproperlyConfigured, match="outside MEDIA_ROOT"):
        load_settings_file(monkeypatch, env)


def test_development_has_a_fixed_audit_key_and_an_ignored_anchor_file(monkeypatch):
    env = {"DATABASE_URL": os.environ["DATABASE_URL"], "PATH": os.environ.get("PATH", "")}
    module = load_settings_file(monkeypatch, env)
    assert list(module.AUDIT_KEYS) == ["dev"]
    assert module.AUDIT_ANCHOR_PATH == ROOT / "var" / "audit-anchors.jsonl"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(module.AUDIT_ANCHOR_PATH)], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0


def test_production_settings_are_hardened():
    result = run(
        [
            "-c",
            "from config import settings as s; "
            "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
            " s.SECURE_HSTS_SECONDS > 0, s.CELERY_TASK_ALWAYS_EAGER,"
            " s.PASSWORD_HASHERS if hasattr(s, 'PASSWORD_HASHERS') else 'default')",
        ],
        production_env(FAST_PASSWORD_HASHER="true", CELERY_TASK_ALWAYS_EAGER=None),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "True", "True", "False", "default"]


@pytest.mark.django_db
def test_the_models_and_the_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_the_channel_layer_reads_longer_than_it_blocks(settings):
    """A socket timeout at or under the blocking read kills idle websocket consumers."""
    from channels_redis.core import RedisChannelLayer

    host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    assert host["socket_timeout"] > RedisChannelLayer.brpop_timeout


POOL_PROBE = """
import threading
import django
django.setup()
from django.db import connection

pids = []

def request():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pids.append(cursor.fetchone()[0])
    connection.close()  # what request_finished does: back to the pool

for _ in range(6):
    thread = threading.Thread(target=request)
    thread.start()
    thread.join()
print(len(set(pids)))
"""


@pytest.mark.parametrize(("pool", "connections"), [("1", 1), ("0", 6)])
def test_web_processes_reuse_pooled_connections_across_threads(pool, connections):
    """ASGI runs each request in a thread of its own: without the pool, each one connects."""
    any_database = urlsplit(os.environ["DATABASE_URL"])._replace(path="/postgres").geturl()
    env = production_env(
        DATABASE_URL=any_database, DB_POOL=pool, DB_POOL_MIN_SIZE="1", DB_POOL_MAX_SIZE="1"
    )
    result = run(["-c", POOL_PROBE], env)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) == connections
