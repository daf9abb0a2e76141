"""Recording business events in the append-only, keyed hash chain of the audit log.

Services call ``record_created``/``record_changed``/``record_deleted`` (or ``record``) with
the acting user; opening a patient card is ``record_viewed``. Values are stored as JSON
(``snapshot``), so that the chain can be re-hashed from the database exactly.

Each entry's hash is an HMAC under a key kept outside the database (``settings.AUDIT_KEYS``,
newest first; the entry stores the id of its key), so that whoever can write to the database
cannot recompute a rewritten chain. Removing the newest entries leaves a shorter chain that
is still valid, so ``anchor_head`` (a periodic task) records the head outside the database,
in the log and in ``settings.AUDIT_ANCHOR_PATH``, and ``check_chain`` compares the chain with
the latest anchor.
"""

import contextlib
import datetime
import decimal
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from clinic.crypto import EncryptedTextField
from clinic.db import Insert, Statement, pipelined
from clinic.models import GENESIS_HASH, AuditAction, AuditEntry
from clinic.models.audit import UnknownAuditKeyError, audit_key, current_audit_key_id
from clinic.shapes import Shape

logger = logging.getLogger(__name__)

# Any constant: the advisory lock that serialises appends so the chain never forks.
AUDIT_CHAIN_LOCK = 7_301_001
# The trigger (migration 0007) that refuses TRUNCATE; see ``truncation_allowed``.
TRUNCATE_TRIGGER = "clinic_audit_no_truncate"


def json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple | set | frozenset):
        items = [json_value(item) for item in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if hasattr(value, "name"):  # file fields
        return value.name or ""
    return str(value)


SECRET_SET = "***"  # noqa: S105 (the mark shown instead of a secret)


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The object's concrete field values as JSON values (foreign keys as ids).

    Many-to-many fields may be named explicitly in ``fields``; they are read as id lists.
    """
    opts = obj._meta
    names = (
        list(fields)
        if fields is not None
        else [f.name for f in opts.concrete_fields if f.name not in ("deleted_at", "deleted_by")]
    )
    result: dict[str, Any] = {}
    for name in names:
        field = opts.get_field(name)
        value: Any
        if field.many_to_many:
            value = sorted(getattr(obj, name).values_list("pk", flat=True)) if obj.pk else []
        elif field.is_relation:
            value = getattr(obj, field.attname)  # type: ignore[union-attr]
        elif isinstance(field, EncryptedTextField):
            # A stored secret (tokens, keys) never enters the audit: only whether it is set.
            value = SECRET_SET if getattr(obj, name) else ""
        else:
            value = getattr(obj, name)
        result[name] = json_value(value)
    return result


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose values differ."""
    return {
        name: [before.get(name), after.get(name)]
        for name in after
        if before.get(name) != after.get(name)
    }


# The chain's last hash, read on every append (compiled once: clinic.shapes).
CHAIN_HEAD = Shape(lambda: AuditEntry.objects.order_by("-id").values_list("hash")[:1], name="head")


def lock_chain() -> list[tuple[str, list[Any]]]:
    """The statement that serialises appends until the transaction ends, so that the chain
    never forks; none on SQLite (one writer at a time anyway). bench/audit_lock.py
    measures what it costs."""
    if connection.vendor == "postgresql":
        return [("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])]
    return []


def locked_head(*, along: Sequence[Statement | Insert] = ()) -> str:
    """The chain's last hash, read once its lock is held: both in one round trip
    (``clinic.db.pipelined``), the read a statement of its own after the lock's; ``along``
    goes first in the same round trip."""
    *_along_and_lock, head = pipelined(*along, *lock_chain(), CHAIN_HEAD.sql())
    return head[0][0] if head else GENESIS_HASH


def stored_ip(value: str | None) -> str | None:
    """The address as the database returns it (inet compresses IPv6 and has no scope id);
    ``None`` for an empty or malformed one, which inet could not store."""
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None
    if address.version == 6:
        return clean_ipv6_address(str(ipaddress.IPv6Address(int(address))))
    return str(address)


def record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    patient_id: int | None = None,
    object_repr: str | None = None,
    ip_address: str | None = None,
    along: Sequence[Statement | Insert] = (),
    after: Sequence[Statement | Insert] = (),
) -> AuditEntry:
    """Append an entry to the chain. ``along``: the caller's statements (its other writes),
    sent just before the chain's lock and head; ``after``: statements sent with the entry
    itself. Each is still a statement of its own, in order (``clinic.db.pipelined``)."""
    actor = actor if actor is not None and actor.is_authenticated else None
    entry = AuditEntry(
        created_at=timezone.now(),
        actor=actor,
        actor_name=str(actor)[:150] if actor else "",
        action=action,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False)
        if obj is not None
        else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=(object_repr if object_repr is not None else str(obj or ""))[:300],
        patient_id=patient_id,
        # Round-trip through JSON so that the hash is computed over what the database returns.
        changes=json.loads(json.dumps(json_value(changes or {}), ensure_ascii=False)),
        ip_address=stored_ip(ip_address),
        key_id=current_audit_key_id(),
    )
    # No savepoint of its own (two round trips): a failure here fails the caller's write.
    with transaction.atomic(savepoint=False):
        entry.prev_hash = locked_head(along=along)
        entry.hash = entry.compute_hash()
        pipelined(Insert([entry]), *after)
    return entry


def record_created(
    *,
    actor,
    obj: models.Model,
    patient_id: int | None = None,
    fields: Iterable[str] | None = None,
    along: Sequence[Statement | Insert] = (),
    after: Sequence[Statement | Insert] = (),
) -> AuditEntry:
    values = {
        name: [None, value]
        for name, value in snapshot(obj, fields).items()
        if value not in (None, "", [])
    }
    return record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=obj,
        changes=values,
        patient_id=patient_id,
        along=along,
        after=after,
    )


def record_changed(
    *, actor, obj: models.Model, before: dict[str, Any], patient_id: int | None = None
) -> AuditEntry | None:
    """Record an update if anything in ``before`` changed; ``None`` when nothing did."""
    changes = diff(before, snapshot(obj, before.keys()))
    if not changes:
        return None
    return record(
        actor=actor, action=AuditAction.UPDATE, obj=obj, changes=changes, patient_id=patient_id
    )


def record_viewed(
    *, actor, obj: models.Model, patient_id: int | None = None, ip_address: str | None = None
) -> AuditEntry:
    return record(
        actor=actor, action=AuditAction.VIEW, obj=obj, patient_id=patient_id, ip_address=ip_address
    )


# --- Verifying the chain --------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """The chain's head as it was at ``at``: the newest entry, its hash and the number of
    entries up to it, keyed (``mac``) so that a forged anchor does not verify."""

    entry_id: int
    hash: str
    count: int
    at: str
    key_id: str
    mac: str = ""

    def content(self) -> bytes:
        fields = {**asdict(self), "v": 1}
        del fields["mac"]
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def compute_mac(self) -> str:
        return hmac.new(audit_key(self.key_id), self.content(), hashlib.sha256).hexdigest()

    def authentic(self) -> bool:
        try:
            # Bytes: compare_digest refuses non-ASCII text, which a forged line may hold.
            return hmac.compare_digest(self.compute_mac().encode(), self.mac.encode())
        except UnknownAuditKeyError:
            return False

    def line(self) -> str:
        return json.dumps({**asdict(self), "v": 1}, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_line(cls, line: str) -> "Anchor":
        """Raises ``ValueError`` for a line that is not an anchor."""
        try:
            data = json.loads(line)
            return cls(
                entry_id=int(data["entry_id"]),
                hash=str(data["hash"]),
                count=int(data["count"]),
                at=str(data["at"]),
                key_id=str(data["key_id"]),
                mac=str(data["mac"]),
            )
        except (KeyError, TypeError, json.JSONDecodeError) as error:
            raise ValueError(f"not an audit anchor: {line[:80]!r}") from error


def anchor_path() -> Path:
    return Path(settings.AUDIT_ANCHOR_PATH)


def anchor_head() -> Anchor | None:
    """Record the chain's head outside the database: a line in the log and a line appended
    to ``settings.AUDIT_ANCHOR_PATH``. ``None`` (nothing written) while the log is empty."""
    head = AuditEntry.objects.order_by("-id").values_list("id", "hash").first()
    if head is None:
        return None
    entry_id, entry_hash = head
    # Appends commit in the order of their ids (one lock), so every entry up to the head
    # is visible to this second read.
    count = AuditEntry.objects.filter(id__lte=entry_id).count()
    anchor = Anchor(
        entry_id=entry_id,
        hash=entry_hash,
        count=count,
        at=timezone.now().isoformat(),
        key_id=current_audit_key_id(),
    )
    anchor = replace(anchor, mac=anchor.compute_mac())
    line = anchor.line()
    logger.info("audit anchor %s", line)
    path = anchor_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(line + "\n")
        file.flush()
        os.fsync(file.fileno())
    return anchor


@dataclass(frozen=True)
class AnchorFile:
    latest: Anchor | None  # the authentic anchor furthest along the chain
    bad_lines: list[int]  # line numbers of lines that are not authentic anchors


def read_anchors(path: Path | None = None) -> AnchorFile:
    """The anchor furthest along the chain; lines that do not verify are reported, not
    trusted."""
    path = path or anchor_path()
    latest: Anchor | None = None
    bad_lines: list[int] = []
    try:
        file = path.open(encoding="utf-8")
    except FileNotFoundError:
        return AnchorFile(None, [])
    with file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                anchor = Anchor.from_line(line)
            except ValueError:
                bad_lines.append(number)
                continue
            if not anchor.authentic():
                bad_lines.append(number)
            elif latest is None or anchor.count > latest.count:
                # The furthest along, not the last line: an older line appended again must
                # not lower the bar.
                latest = anchor
    return AnchorFile(latest, bad_lines)


@dataclass(frozen=True)
class ChainCheck:
    checked: int  # entries verified before the first problem
    broken_id: int | None = None  # the first entry that does not verify
    problem: str = ""  # what is wrong, for the operator; empty when intact
    anchor: Anchor | None = None  # the anchor compared with

    @property
    def intact(self) -> bool:
        return not self.problem


def check_chain(*, anchor: Anchor | None = None, chunk_size: int = 5000) -> ChainCheck:
    """Walk the chain in order and compare it with ``anchor`` (the latest one, if given):
    the anchored entry must be there, with the anchored hash and position."""
    anchored_id = anchor.entry_id if anchor is not None else None
    expected_prev = GENESIS_HASH
    checked = 0
    last_id: int | None = None
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=chunk_size):
        if anchor is not None and anchored_id is not None and entry.pk > anchored_id:
            problem = f"entry {anchored_id}, anchored at {anchor.at}, is missing."
            return ChainCheck(checked, entry.pk, problem, anchor)
        try:
            computed = entry.compute_hash()  # first: a missing key explains a broken link too
            valid = (
                hmac.compare_digest(computed.encode(), entry.hash.encode())
                and entry.prev_hash == expected_prev
            )
        except UnknownAuditKeyError:
            problem = (
                f"entry {entry.pk} is keyed with {entry.key_id!r}, not in AUDIT_KEYS."
                if entry.key_id
                else f"entry {entry.pk} has no key: it did not verify when the keys came "
                "(migration 0007), or its key id was removed."
            )
            return ChainCheck(checked, entry.pk, problem, anchor)
        if not valid:
            problem = f"entry {entry.pk} was altered, or an entry just before it removed."
            return ChainCheck(checked, entry.pk, problem, anchor)
        checked += 1
        last_id = entry.pk
        expected_prev = entry.hash
        if anchor is not None and entry.pk == anchored_id:
            anchored_id = None  # found; later entries are simply newer
            if entry.hash != anchor.hash or checked != anchor.count:
                problem = (
                    f"entry {entry.pk} is not the one anchored at {anchor.at} "
                    f"(entry number {checked}, anchored as number {anchor.count})."
                )
                return ChainCheck(checked - 1, entry.pk, problem, anchor)
    if anchor is not None and anchored_id is not None:
        problem = (
            f"the log ends at entry {last_id} after {checked} entries, but the anchor of "
            f"{anchor.at} recorded entry {anchor.entry_id} as number {anchor.count}: "
            "entries were removed from the end."
        )
        return ChainCheck(checked, None, problem, anchor)
    return ChainCheck(checked, None, "", anchor)


def verify_chain(*, chunk_size: int = 5000) -> tuple[int, int | None]:
    """The chain alone (no anchor): (entries checked, id of the first broken entry)."""
    result = check_chain(chunk_size=chunk_size)
    return result.checked, result.broken_id


# --- Development tools that empty the log ---------------------------------------------


@contextlib.contextmanager
def truncation_allowed(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Lift the TRUNCATE guard inside this block's transaction only, for the tools that
    legitimately empty a database (the test suite's flush, ``seed_scale --reset``).

    ALTER TABLE needs the table's owner and is transactional on PostgreSQL: if the block
    fails, the guard is back as it was. Never used in production (see the flush command).
    """
    target = connections[using]
    if target.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using), target.cursor() as cursor:
        cursor.execute(f"ALTER TABLE clinic_auditentry DISABLE TRIGGER {TRUNCATE_TRIGGER}")
        yield
        cursor.execute(f"ALTER TABLE clinic_auditentry ENABLE TRIGGER {TRUNCATE_TRIGGER}")
