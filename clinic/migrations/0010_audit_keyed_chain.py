"""Key the audit chain (HMAC, key id per entry) and refuse TRUNCATE on PostgreSQL.

Entries written before this migration were chained with plain SHA-256. They are re-sealed
here under the current key (``settings.AUDIT_KEYS``), walking the chain in order, but only
as far as the old chain verifies: an entry that was already altered (or whose old hash
cannot be reproduced) keeps its old hash and an empty key id, so ``audit_verify`` reports
the break instead of this migration blessing it. The two hash functions are frozen copies:
this migration must keep doing what it did when it was written.
"""

import datetime
import hashlib
import hmac
import ipaddress
import json

from django.conf import settings
from django.db import migrations, models

from clinic.db import RunSQLOnPostgres, is_postgresql

GENESIS_HASH = "0" * 64

NO_TRUNCATE = """
CREATE TRIGGER clinic_audit_no_truncate
    BEFORE TRUNCATE ON clinic_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_audit_append_only();
"""


def canonical(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def content_of(entry) -> dict:
    return {
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "content_type_id": entry.content_type_id,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "patient_id": entry.patient_id,
        "changes": entry.changes,
        "prev_hash": entry.prev_hash,
    }


def unkeyed_hashes(entry) -> set[str]:
    """The plain SHA-256 of the old scheme, for each form the address may have been hashed
    in (it hashed the value as written, which the database may have compressed or nulled)."""
    addresses = {entry.ip_address}
    if entry.ip_address is None:
        addresses.add("")
    else:
        try:
            addresses.add(ipaddress.ip_address(entry.ip_address).exploded)
        except ValueError:
            pass
    return {
        hashlib.sha256(
            canonical(
                {
                    **content_of(entry),
                    "created_at": entry.created_at.isoformat(),
                    "ip_address": address,
                }
            )
        ).hexdigest()
        for address in addresses
    }


def keyed_hash(entry, key: bytes) -> str:
    """``AuditEntry.compute_hash`` as of this migration."""
    address = None
    if entry.ip_address:
        try:
            address = str(ipaddress.ip_address(entry.ip_address))
        except ValueError:
            address = entry.ip_address
    content = {
        **content_of(entry),
        "created_at": entry.created_at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
        "ip_address": address,
        "key_id": entry.key_id,
    }
    return hmac.new(key, canonical(content), hashlib.sha256).hexdigest()


def set_append_only(schema_editor, enabled: bool) -> None:
    if is_postgresql(schema_editor):
        state = "ENABLE" if enabled else "DISABLE"
        schema_editor.execute(f"ALTER TABLE clinic_auditentry {state} TRIGGER clinic_audit_append_only")


def reseal(apps, schema_editor) -> None:
    AuditEntry = apps.get_model("clinic", "AuditEntry")
    key_id, secret = next(iter(settings.AUDIT_KEYS.items()))
    key = secret.encode()
    old_prev, new_prev = GENESIS_HASH, GENESIS_HASH
    resealed = []
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        if entry.prev_hash != old_prev or entry.hash not in unkeyed_hashes(entry):
            break
        old_prev = entry.hash
        entry.prev_hash = new_prev
        entry.key_id = key_id
        entry.hash = keyed_hash(entry, key)
        new_prev = entry.hash
        resealed.append(entry)
    if not resealed:
        return
    set_append_only(schema_editor, False)
    AuditEntry.objects.bulk_update(resealed, ["prev_hash", "key_id", "hash"], batch_size=1000)
    set_append_only(schema_editor, True)


def unseal(apps, schema_editor) -> None:
    """Back to plain SHA-256, as far as the keyed chain verifies."""
    AuditEntry = apps.get_model("clinic", "AuditEntry")
    keys = {key_id: secret.encode() for key_id, secret in settings.AUDIT_KEYS.items()}
    keyed_prev, plain_prev = GENESIS_HASH, GENESIS_HASH
    unsealed = []
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        key = keys.get(entry.key_id)
        if key is None or entry.prev_hash != keyed_prev or keyed_hash(entry, key) != entry.hash:
            break
        keyed_prev = entry.hash
        entry.prev_hash = plain_prev
        content = {**content_of(entry), "created_at": entry.created_at.isoformat()}
        entry.hash = hashlib.sha256(
            canonical({**content, "ip_address": entry.ip_address})
        ).hexdigest()
        plain_prev = entry.hash
        unsealed.append(entry)
    if not unsealed:
        return
    set_append_only(schema_editor, False)
    AuditEntry.objects.bulk_update(unsealed, ["prev_hash", "hash"], batch_size=1000)
    set_append_only(schema_editor, True)


class Migration(migrations.Migration):
    dependencies = [("clinic", "0009_logo_random_names")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="key_id",
            field=models.CharField(default="", max_length=16),
            preserve_default=False,
        ),
        migrations.RunPython(reseal, unseal),
        RunSQLOnPostgres(
            NO_TRUNCATE, "DROP TRIGGER IF EXISTS clinic_audit_no_truncate ON clinic_auditentry;"
        ),
    ]
