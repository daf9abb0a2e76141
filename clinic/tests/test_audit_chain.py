"""The audit chain cannot be rewritten: keyed hashes, the TRUNCATE guard, anchors kept outside
the database, hashes over the values as the database returns them, key rotation, and the
migration that re-sealed the entries written before the keys."""

import datetime
import functools
import hashlib
import importlib
import io
import json
import logging

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext

from clinic import audit
from clinic.models import GENESIS_HASH, AuditEntry

pytestmark = pytest.mark.django_db

ATTACKER_KEYS = {"k1": "a key the attacker made up, not the clinic's one"}


def make_entries(count: int, branch, **extra) -> list[AuditEntry]:
    return [
        audit.record(actor=None, action="update", obj=branch, changes={"n": [i, i + 1]}, **extra)
        for i in range(count)
    ]


def run_command(name: str) -> str:
    stdout = io.StringIO()
    call_command(name, stdout=stdout)
    return stdout.getvalue()


def lift_row_guard() -> None:
    """What an attacker with the table owner's rights does first; rolled back with the test."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE clinic_auditentry DISABLE TRIGGER clinic_audit_append_only")


def write_raw(entry_id: int, **values) -> None:
    columns = ", ".join(f"{name} = %s" for name in values)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE clinic_auditentry SET {columns} WHERE id = %s", [*values.values(), entry_id]
        )


def plain_sha256(entry: AuditEntry) -> str:
    """The chain's hash before it was keyed: SHA-256 of the entry's content, no secret."""
    content = {
        "created_at": entry.created_at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "content_type_id": entry.content_type_id,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "patient_id": entry.patient_id,
        "changes": entry.changes,
        "ip_address": entry.ip_address,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def with_the_code_and_a_guessed_key(entry: AuditEntry, settings) -> str:
    """The application's own hash function, run by someone who lacks the clinic's key."""
    real = settings.AUDIT_KEYS
    settings.AUDIT_KEYS = ATTACKER_KEYS
    try:
        return entry.compute_hash()
    finally:
        settings.AUDIT_KEYS = real


def rewrite_from(entries: list[AuditEntry], index: int, rehash) -> None:
    """Edit entry ``index`` and recompute every later hash with ``rehash``: the rewrite
    attack on a chain whose hash anyone can compute."""
    lift_row_guard()
    prev_hash = entries[index - 1].hash if index else GENESIS_HASH
    for position, original in enumerate(entries[index:]):
        entry = AuditEntry.objects.get(pk=original.pk)
        if position == 0:
            entry.changes = {"n": [0, 999]}
        entry.prev_hash = prev_hash
        if hasattr(entry, "key_id"):
            entry.key_id = "k1"
        entry.hash = rehash(entry)
        values = {"changes": json.dumps(entry.changes), "prev_hash": prev_hash, "hash": entry.hash}
        if hasattr(entry, "key_id"):
            values["key_id"] = entry.key_id
        write_raw(entry.pk, **values)
        prev_hash = entry.hash


# --- Item 9: the rewrite attack --------------------------------------------------------


@pytest.mark.parametrize("attacker", ["plain sha256", "the code with a guessed key"])
def test_rewriting_an_entry_and_recomputing_the_later_hashes_is_caught(branch, settings, attacker):
    entries = make_entries(5, branch)
    rehash = (
        plain_sha256
        if attacker == "plain sha256"
        else lambda entry: with_the_code_and_a_guessed_key(entry, settings)
    )
    rewrite_from(entries, 2, rehash)
    assert audit.verify_chain() == (2, entries[2].pk)
    with pytest.raises(CommandError, match=f"broken at entry {entries[2].pk}"):
        call_command("audit_verify")


def test_the_hash_is_keyed_so_a_different_key_gives_a_different_hash(branch, settings):
    (entry,) = make_entries(1, branch)
    assert entry.key_id == next(iter(settings.AUDIT_KEYS))
    assert entry.hash != plain_sha256(entry)
    entry.key_id = "k1"
    assert with_the_code_and_a_guessed_key(entry, settings) != entry.hash


# --- TRUNCATE --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "TRUNCATE clinic_auditentry",
        "TRUNCATE clinic_auditentry RESTART IDENTITY CASCADE",
        # Emptying a table the log points at cascades to the log: refused too.
        "TRUNCATE django_content_type CASCADE",
    ],
)
def test_postgresql_refuses_to_truncate_the_log(branch, sql):
    make_entries(2, branch)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql)
    assert AuditEntry.objects.count() == 2
    assert run_command("audit_verify").startswith("The audit chain is intact: 2 entries")


def test_the_development_flush_lifts_the_guard_for_its_own_transaction_only(branch):
    make_entries(2, branch)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the rows' pending checks block ALTER
    with audit.truncation_allowed(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE clinic_auditentry")
    assert AuditEntry.objects.count() == 0
    make_entries(1, branch)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE clinic_auditentry")


def test_a_failed_block_leaves_the_guard_armed(branch):
    make_entries(1, branch)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(RuntimeError), audit.truncation_allowed():
        raise RuntimeError("the flush failed")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE clinic_auditentry")


def test_flush_is_refused_in_production(settings, branch):
    make_entries(1, branch)
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refused in production"):
        call_command("flush", interactive=False, verbosity=0)
    assert AuditEntry.objects.count() == 1


# --- Anchors ---------------------------------------------------------------------------


def anchor_lines(settings) -> list[dict]:
    return [json.loads(line) for line in settings.AUDIT_ANCHOR_PATH.read_text().splitlines()]


def test_the_anchor_records_the_head_outside_the_database_and_in_the_log(branch, settings, caplog):
    entries = make_entries(3, branch)
    with caplog.at_level(logging.INFO, logger="clinic.audit"):
        out = run_command("audit_anchor")
    assert f"Anchored entry {entries[-1].pk} (3 entries)" in out
    (line,) = anchor_lines(settings)
    assert (line["entry_id"], line["hash"], line["count"]) == (entries[-1].pk, entries[-1].hash, 3)
    assert line["key_id"] == next(iter(settings.AUDIT_KEYS))
    assert json.dumps(line, sort_keys=True, separators=(",", ":")) in caplog.text
    assert audit.Anchor.from_line(json.dumps(line)).authentic()
    verified = run_command("audit_verify")
    assert "intact: 3 entries" in verified
    assert f"matches the anchor of {line['at']}" in verified


def test_the_periodic_task_anchors_and_is_scheduled(branch, settings):
    from clinic import tasks

    make_entries(2, branch)
    tasks.audit_anchor.delay()
    assert [line["count"] for line in anchor_lines(settings)] == [2]
    (entry,) = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if "audit_anchor" in e["task"]]
    assert entry["task"] == "clinic.tasks.audit_anchor"
    assert entry["schedule"] <= 600


def test_an_empty_log_writes_no_anchor(settings):
    assert "nothing to anchor" in run_command("audit_anchor")
    assert not settings.AUDIT_ANCHOR_PATH.exists()


def test_anchoring_reads_the_head_in_two_queries(branch):
    make_entries(3, branch)
    with CaptureQueriesContext(connection) as queries:
        audit.anchor_head()
    assert len(queries) == 2


def test_removing_the_last_entries_after_an_anchor_is_caught(branch):
    entries = make_entries(5, branch)
    call_command("audit_anchor", stdout=io.StringIO())
    lift_row_guard()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM clinic_auditentry WHERE id >= %s", [entries[3].pk])
    assert audit.verify_chain() == (3, None)  # the chain alone cannot tell
    with pytest.raises(CommandError, match="removed from the end") as error:
        call_command("audit_verify")
    assert "after 3 entries" in str(error.value)


def test_emptying_the_log_after_an_anchor_is_caught(branch):
    make_entries(2, branch)
    call_command("audit_anchor", stdout=io.StringIO())
    lift_row_guard()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM clinic_auditentry")
    with pytest.raises(CommandError, match="removed from the end"):
        call_command("audit_verify")


def test_entries_written_after_the_anchor_verify(branch):
    make_entries(2, branch)
    call_command("audit_anchor", stdout=io.StringIO())
    make_entries(3, branch)
    assert "intact: 5 entries" in run_command("audit_verify")


def test_a_chain_rewritten_with_the_key_no_longer_matches_its_anchor(branch):
    """Someone holding the key (an insider) rewrites an entry and every later hash: the chain
    verifies on its own, but the head no longer matches what was anchored outside."""
    entries = make_entries(4, branch)
    call_command("audit_anchor", stdout=io.StringIO())
    lift_row_guard()
    prev_hash = entries[0].hash
    for original in entries[1:]:
        entry = AuditEntry.objects.get(pk=original.pk)
        if original is entries[1]:
            entry.changes = {"n": [0, 999]}
        entry.prev_hash = prev_hash
        entry.hash = entry.compute_hash()
        write_raw(entry.pk, changes=json.dumps(entry.changes), prev_hash=prev_hash, hash=entry.hash)
        prev_hash = entry.hash
    assert audit.verify_chain() == (4, None)
    with pytest.raises(CommandError, match=f"entry {entries[-1].pk} is not the one anchored"):
        call_command("audit_verify")


def test_a_removed_anchored_entry_is_caught_even_if_the_chain_is_rewritten(branch):
    entries = make_entries(4, branch)
    call_command("audit_anchor", stdout=io.StringIO())
    make_entries(1, branch)
    lift_row_guard()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM clinic_auditentry WHERE id = %s", [entries[-1].pk])
    with pytest.raises(CommandError, match=f"entry {entries[-1].pk}, anchored at .* is missing"):
        call_command("audit_verify")


def test_a_forged_anchor_line_is_reported(branch, settings):
    make_entries(2, branch)
    call_command("audit_anchor", stdout=io.StringIO())
    (line,) = anchor_lines(settings)
    forged = {**line, "count": 1, "entry_id": line["entry_id"] - 1}
    with settings.AUDIT_ANCHOR_PATH.open("a") as file:
        file.write(json.dumps(forged) + "\n")
        file.write("not an anchor\n")
    with pytest.raises(CommandError, match=r"anchors in .* do not verify \(lines 2, 3\): altered"):
        call_command("audit_verify")
    assert audit.read_anchors().latest == audit.Anchor.from_line(json.dumps(line))


def test_an_older_anchor_appended_again_does_not_lower_the_bar(branch, settings):
    entries = make_entries(2, branch)
    call_command("audit_anchor", stdout=io.StringIO())
    make_entries(2, branch)
    call_command("audit_anchor", stdout=io.StringIO())
    first, second = settings.AUDIT_ANCHOR_PATH.read_text().splitlines()
    with settings.AUDIT_ANCHOR_PATH.open("a") as file:
        file.write(first + "\n")  # replayed, so that removing the two newest looks fine
    assert audit.read_anchors().latest == audit.Anchor.from_line(second)
    lift_row_guard()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM clinic_auditentry WHERE id > %s", [entries[-1].pk])
    with pytest.raises(CommandError, match="removed from the end"):
        call_command("audit_verify")


def test_forged_values_that_are_not_ascii_are_reported_not_crashed_on(branch, settings):
    entries = make_entries(2, branch)
    call_command("audit_anchor", stdout=io.StringIO())
    (line,) = anchor_lines(settings)
    with settings.AUDIT_ANCHOR_PATH.open("a") as file:
        file.write(json.dumps({**line, "mac": "é" * 64}) + "\n")
    with pytest.raises(CommandError, match=r"\(lines 2\)"):
        call_command("audit_verify")
    settings.AUDIT_ANCHOR_PATH.unlink()
    lift_row_guard()
    write_raw(entries[1].pk, hash="ж" * 64)
    with pytest.raises(CommandError, match=f"broken at entry {entries[1].pk}"):
        call_command("audit_verify")


def test_without_an_anchor_verify_says_so(branch):
    make_entries(1, branch)
    assert "no anchor yet" in run_command("audit_verify")


# --- Values as the database returns them -------------------------------------------------


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
        ("fe80::1%eth0", "fe80::1"),
        (" 10.0.0.5 ", "10.0.0.5"),
        ("", None),
        ("not an address", None),
    ],
)
def test_addresses_are_hashed_as_the_database_returns_them(branch, written, stored):
    entry = audit.record_viewed(actor=None, obj=branch, ip_address=written)
    make_entries(1, branch)
    assert AuditEntry.objects.get(pk=entry.pk).ip_address == stored
    assert audit.verify_chain() == (2, None)


def test_every_field_round_trips_through_the_database_and_verifies(branch, admin_persona):
    audit.record(
        actor=admin_persona.user,
        action="update",
        obj=branch,
        patient_id=2**53 + 1,
        object_repr="Ёлка «кавычки» \\ \" ' 😀" + "я" * 400,
        changes={"price": [1.5, 10**30], "when": [datetime.date(2026, 1, 2), None], "": {}},
        ip_address="::1",
    )
    assert audit.verify_chain() == (1, None)


# --- Key rotation ----------------------------------------------------------------------


def test_rotating_the_key_keeps_older_entries_verifiable(branch, settings):
    old_id = next(iter(settings.AUDIT_KEYS))
    make_entries(2, branch)
    settings.AUDIT_KEYS = {"new": "a brand new key, put first, thirty-two+", **settings.AUDIT_KEYS}
    newer = make_entries(2, branch)
    assert [e.key_id for e in AuditEntry.objects.order_by("id")] == [old_id, old_id, "new", "new"]
    call_command("audit_anchor", stdout=io.StringIO())
    assert "intact: 4 entries" in run_command("audit_verify")
    settings.AUDIT_KEYS = {"new": settings.AUDIT_KEYS["new"]}  # the old key dropped: too early
    with pytest.raises(CommandError, match=f"keyed with '{old_id}', not in AUDIT_KEYS"):
        call_command("audit_verify")
    assert audit.read_anchors().latest.entry_id == newer[-1].pk


# --- Appends ---------------------------------------------------------------------------


def test_an_append_costs_the_lock_the_head_and_the_insert(branch):
    make_entries(1, branch)  # the content type is cached from here on
    with CaptureQueriesContext(connection) as queries:
        make_entries(1, branch)
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 3, statements


# --- Entries written before the keys ----------------------------------------------------


def migration():
    return importlib.import_module("clinic.migrations.0010_audit_keyed_chain")


@functools.cache
def migration_apps():
    """The models as the migration sees them (plain managers, no append-only guard)."""
    loader = MigrationLoader(connection, replace_migrations=True)
    return loader.project_state(("clinic", "0010_audit_keyed_chain")).apps


def make_unkeyed_entries(count: int, branch) -> list[AuditEntry]:
    """Entries as the chain wrote them before the keys: plain SHA-256, no key id."""
    entries = make_entries(count, branch)
    lift_row_guard()
    prev_hash = GENESIS_HASH
    for entry in entries:
        entry.prev_hash = prev_hash
        entry.key_id = ""
        entry.hash = plain_sha256(entry)
        write_raw(entry.pk, prev_hash=prev_hash, key_id="", hash=entry.hash)
        prev_hash = entry.hash
    return entries


def reseal() -> None:
    with connection.schema_editor(atomic=False) as schema_editor:
        migration().reseal(migration_apps(), schema_editor)


def test_the_migration_reseals_unkeyed_entries_so_the_chain_verifies(branch):
    entries = make_unkeyed_entries(4, branch)
    assert audit.verify_chain() == (0, entries[0].pk)
    reseal()
    assert audit.verify_chain() == (4, None)
    assert {e.key_id for e in AuditEntry.objects.all()} == {"dev"}
    # and the re-sealed entries are guarded again
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        write_raw(entries[0].pk, object_repr="x")


def test_the_migration_does_not_bless_an_entry_altered_before_it(branch):
    entries = make_unkeyed_entries(4, branch)
    write_raw(entries[2].pk, object_repr="Подделка")
    reseal()
    assert audit.verify_chain() == (2, entries[2].pk)


def test_the_migration_reseals_an_uncompressed_ipv6_entry_the_old_chain_could_not_verify(
    branch,
):
    entries = make_unkeyed_entries(2, branch)
    lift_row_guard()
    written = "2001:0db8:0000:0000:0000:0000:0000:0001"
    entry = AuditEntry.objects.get(pk=entries[1].pk)
    entry.ip_address = written  # what the old code hashed; the database keeps it compressed
    write_raw(entry.pk, ip_address=written, hash=plain_sha256(entry))
    reseal()
    assert audit.verify_chain() == (2, None)


def test_an_entry_left_unsealed_is_reported_as_such(branch):
    entries = make_unkeyed_entries(3, branch)
    write_raw(entries[1].pk, object_repr="Подделка")
    reseal()
    with pytest.raises(CommandError, match=f"broken at entry {entries[1].pk} .*: .* has no key"):
        call_command("audit_verify")


def test_the_reverse_migration_restores_the_unkeyed_chain(branch):
    entries = make_unkeyed_entries(3, branch)
    unkeyed = [e.hash for e in entries]
    reseal()
    with connection.schema_editor(atomic=False) as schema_editor:
        migration().unseal(migration_apps(), schema_editor)
    assert list(AuditEntry.objects.order_by("id").values_list("hash", flat=True)) == unkeyed


def test_scale_reset_may_empty_a_benchmark_log(branch):
    from clinic import scale

    make_entries(1, branch)
    registration = scale.Registration(0, "audit", lambda ctx: None, ("clinic_auditentry",))
    scale.truncate([registration])
    assert AuditEntry.objects.count() == 0
