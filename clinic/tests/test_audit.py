"""The audit log: what services record, the hash chain, and its append-only guards."""

import itertools
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from clinic import audit, services
from clinic.models import GENESIS_HASH, AuditAction, AuditEntry, Branch
from clinic.tests.factories import BranchFactory

pytestmark = pytest.mark.django_db


def entries_for(obj) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_id=str(obj.pk)).order_by("id"))


def test_creating_an_object_records_its_filled_fields(admin_persona):
    branch = services.branch_create(
        by=admin_persona.user,
        data={"name": "Филиал на Ленина", "address": "ул. Ленина, 1", "time_zone": "Asia/Omsk"},
    )
    (entry,) = entries_for(branch)
    assert entry.action == AuditAction.CREATE
    assert entry.actor == admin_persona.user
    assert entry.actor_name == str(admin_persona.user)
    assert entry.content_type.model == "branch"
    assert entry.object_repr == "Филиал на Ленина"
    assert entry.changes["name"] == [None, "Филиал на Ленина"]
    assert entry.changes["time_zone"] == [None, "Asia/Omsk"]
    assert "phone" not in entry.changes  # empty values are not news


def test_an_update_records_only_the_changed_fields_with_old_and_new_values(admin_persona):
    branch = BranchFactory(name="Старое имя", address="ул. Мира, 5")
    services.branch_update(
        branch=branch,
        by=admin_persona.user,
        data={"name": "Новое имя", "address": "ул. Мира, 5", "opens_at": branch.opens_at},
    )
    (entry,) = entries_for(branch)
    assert entry.action == AuditAction.UPDATE
    assert entry.changes == {"name": ["Старое имя", "Новое имя"]}


def test_an_update_that_changes_nothing_records_nothing(admin_persona):
    branch = BranchFactory(name="Без изменений")
    services.branch_update(branch=branch, by=admin_persona.user, data={"name": "Без изменений"})
    assert entries_for(branch) == []


def test_deleting_and_restoring_are_recorded(admin_persona, branch):
    other = BranchFactory()
    services.object_soft_delete(obj=other, by=admin_persona.user)
    services.object_restore(obj=other, by=admin_persona.user)
    assert [e.action for e in entries_for(other)] == [AuditAction.DELETE, AuditAction.RESTORE]


def test_opening_an_object_is_recorded_with_the_patient_and_address(admin_persona, branch):
    entry = audit.record_viewed(
        actor=admin_persona.user, obj=branch, patient_id=17, ip_address="10.0.0.5"
    )
    entry.refresh_from_db()
    assert (entry.action, entry.patient_id, entry.ip_address) == ("view", 17, "10.0.0.5")


def test_an_anonymous_actor_is_recorded_as_nobody(branch):
    from django.contrib.auth.models import AnonymousUser

    entry = audit.record(actor=AnonymousUser(), action="view", obj=branch)
    assert entry.actor is None
    assert entry.actor_name == ""


def test_values_that_json_cannot_hold_are_stored_as_text(branch):
    import datetime
    import decimal

    entry = audit.record(
        actor=None,
        action="update",
        obj=branch,
        changes={
            "price": [decimal.Decimal("10.50"), decimal.Decimal("12.00")],
            "day": [datetime.date(2026, 1, 2), None],
            "tags": [{"b", "a"}, set()],
        },
    )
    entry.refresh_from_db()
    assert entry.changes == {
        "price": ["10.50", "12.00"],
        "day": ["2026-01-02", None],
        "tags": [["a", "b"], []],
    }
    assert audit.verify_chain() == (1, None)


# --- The chain -------------------------------------------------------------------------


def make_entries(count: int, branch) -> list[AuditEntry]:
    return [
        audit.record(actor=None, action="update", obj=branch, changes={"n": [i, i + 1]})
        for i in range(count)
    ]


def test_each_entry_chains_to_the_previous_one_and_the_chain_verifies(branch):
    entries = make_entries(4, branch)
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    assert audit.verify_chain(chunk_size=2) == (4, None)
    out = call_and_capture("audit_verify")
    assert "4" in out


def call_and_capture(command: str) -> str:
    import io

    stdout = io.StringIO()
    call_command(command, stdout=stdout)
    return stdout.getvalue()


def disable_append_only_trigger() -> None:
    # Only a database owner can do this; the test transaction rolls it back afterwards.
    with connection.cursor() as cursor:
        # Deferred foreign-key checks of the rows just written would block the ALTER.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE clinic_auditentry DISABLE TRIGGER clinic_audit_append_only")


def test_editing_an_entry_behind_the_orms_back_breaks_the_chain_at_that_entry(branch):
    entries = make_entries(5, branch)
    disable_append_only_trigger()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE clinic_auditentry SET object_repr = %s WHERE id = %s",
            ["Подделка", entries[2].pk],
        )
    assert audit.verify_chain() == (2, entries[2].pk)
    with pytest.raises(CommandError, match=f"broken at entry {entries[2].pk}") as error:
        call_command("audit_verify")
    assert error.value.returncode != 0


def test_rehashing_an_edited_entry_still_breaks_the_chain_at_the_next_one(branch):
    entries = make_entries(4, branch)
    forged = AuditEntry.objects.get(pk=entries[1].pk)
    forged.changes = {"n": [0, 999]}
    disable_append_only_trigger()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE clinic_auditentry SET changes = %s::jsonb, hash = %s WHERE id = %s",
            ['{"n": [0, 999]}', forged.compute_hash(), forged.pk],
        )
    assert audit.verify_chain() == (2, entries[2].pk)


def test_deleting_a_middle_entry_is_detected(branch):
    entries = make_entries(5, branch)
    disable_append_only_trigger()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM clinic_auditentry WHERE id = %s", [entries[2].pk])
    assert audit.verify_chain() == (2, entries[3].pk)
    with pytest.raises(CommandError):
        call_command("audit_verify")


def test_the_orm_refuses_to_update_or_delete_entries(branch):
    (entry,) = make_entries(1, branch)
    with pytest.raises(TypeError):
        AuditEntry.objects.update(object_repr="x")
    with pytest.raises(TypeError):
        AuditEntry.objects.filter(pk=entry.pk).update(object_repr="x")
    with pytest.raises(TypeError):
        AuditEntry.objects.all().delete()
    with pytest.raises(TypeError):
        entry.delete()
    entry.object_repr = "x"
    with pytest.raises(TypeError):
        entry.save()
    assert AuditEntry.objects.get(pk=entry.pk).object_repr == str(branch)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE clinic_auditentry SET object_repr = 'x' WHERE id = %s",
        "DELETE FROM clinic_auditentry WHERE id = %s",
    ],
)
def test_postgresql_refuses_a_raw_update_or_delete(branch, sql):
    (entry,) = make_entries(1, branch)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.filter(pk=entry.pk, object_repr=str(branch)).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_from_two_threads_do_not_fork_the_chain():
    branch = Branch.objects.create(name="Параллельный")
    per_thread = 15
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def append(label: str) -> None:
        try:
            start.wait(10)
            for i in range(per_thread):
                audit.record(actor=None, action="update", obj=branch, changes={label: [i, i + 1]})
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(label,)) for label in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    prev_hashes = list(AuditEntry.objects.values_list("prev_hash", flat=True))
    assert len(prev_hashes) == 2 * per_thread
    assert len(set(prev_hashes)) == len(prev_hashes), "two entries claim the same predecessor"
    assert audit.verify_chain() == (2 * per_thread, None)
