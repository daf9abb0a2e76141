"""Writes of the core: organization, branches, chairs, staff, rights, reference books, trash.

Every function is keyword-only, runs in one transaction, audits, and publishes an event
where another app may care.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import audit, dependents, events, trash
from clinic.models import (
    Branch,
    Chair,
    Employee,
    Organization,
    ReferenceItem,
    RightsGroup,
    User,
    sees_every_branch,
)
from clinic.modules import MODULES, all_permissions, permission_codename
from clinic.references import ReferenceBook
from clinic.softdelete import SoftDeleteModel
from clinic.writes import save_changes, save_new

# --- Organization, branches, chairs ----------------------------------------------------


@transaction.atomic
def organization_update(*, by: User, data: dict[str, Any]) -> Organization:
    organization, _created = Organization.objects.get_or_create(pk=1)
    organization, _changes = save_changes(
        organization, by=by, data=data, event="organization.updated"
    )
    transaction.on_commit(Organization.forget_cached)
    return organization


@transaction.atomic
def branch_create(*, by: User, data: dict[str, Any]) -> Branch:
    position = (Branch.all_objects.aggregate(m=Max("position"))["m"] or 0) + 1
    branch = save_new(Branch(position=position, **data), by=by, event="branch.created")
    _creator_joins(branch, by=by)
    return branch


def _creator_joins(branch: Branch, *, by: User) -> None:
    """Users see only the branches they work in: whoever creates a branch works in it,
    or they could not open it to add its chairs."""
    employee = getattr(by, "employee", None)
    if employee is None or sees_every_branch(by):
        return
    before = sorted(employee.branches.values_list("pk", flat=True))
    employee.branches.add(branch)
    audit.record(
        actor=by,
        action="update",
        obj=employee,
        changes={"branches": [before, sorted([*before, branch.pk])]},
    )


@transaction.atomic
def branch_update(*, branch: Branch, by: User, data: dict[str, Any]) -> Branch:
    branch, _changes = save_changes(branch, by=by, data=data, event="branch.updated")
    return branch


@transaction.atomic
def chair_create(*, branch: Branch, by: User, name: str) -> Chair:
    position = (branch.chairs.aggregate(m=Max("position"))["m"] or 0) + 1
    return save_new(
        Chair(branch=branch, name=name, position=position), by=by, event="chair.created"
    )


@transaction.atomic
def chair_update(*, chair: Chair, by: User, data: dict[str, Any]) -> Chair:
    chair, _changes = save_changes(chair, by=by, data=data, event="chair.updated")
    return chair


@transaction.atomic
def chairs_reorder(*, branch: Branch, chair_ids: list[int], by: User) -> None:
    chairs = {chair.pk: chair for chair in branch.chairs.select_for_update(no_key=True)}
    if set(chair_ids) != set(chairs):
        raise ValidationError(_("The list of chairs has changed; reload the page."))
    before = [chair.pk for chair in sorted(chairs.values(), key=lambda c: (c.position, c.pk))]
    for position, chair_id in enumerate(chair_ids, start=1):
        chairs[chair_id].position = position
    Chair.objects.bulk_update(chairs.values(), ["position"])
    if before != chair_ids:
        audit.record(
            actor=by, action="update", obj=branch, changes={"chair_order": [before, chair_ids]}
        )
        events.publish(
            "chair.reordered", branch, {"branch_id": branch.pk, "chair_ids": chair_ids}, actor=by
        )


# --- Reference books -------------------------------------------------------------------


@transaction.atomic
def reference_item_create(*, book: ReferenceBook, by: User, data: dict[str, Any]) -> ReferenceItem:
    item = book.new_instance()
    for name, value in data.items():
        setattr(item, name, value)
    item.position = (book.items().aggregate(m=Max("position"))["m"] or 0) + 1
    return save_new(item, by=by)


@transaction.atomic
def reference_item_update(*, item: ReferenceItem, by: User, data: dict[str, Any]) -> ReferenceItem:
    item, _changes = save_changes(item, by=by, data=data)
    return item


# --- Staff and rights ------------------------------------------------------------------


def _codenames(permissions: Iterable[Permission]) -> list[str]:
    return sorted(p.codename for p in permissions)


def held_rights(user: User) -> set[str]:
    """The module rights (codenames) a user holds; a superuser holds every one."""
    if user.is_superuser:
        return {codename for codename, _name in all_permissions()}
    return {
        name.removeprefix("clinic.")
        for name in user.get_all_permissions()
        if name.startswith("clinic.")
    }


def ensure_may_grant(*, by: User, codenames: Iterable[str]) -> None:
    """Nobody grants a right they do not hold themselves (directly or through a group)."""
    missing = sorted(set(codenames) - held_rights(by))
    if missing:
        raise ValidationError(
            {
                "rights": _("You cannot grant rights you do not hold yourself: %(rights)s.")
                % {"rights": ", ".join(_right_labels(missing))}
            }
        )


def ensure_may_change_employee(*, by: User, employee: Employee) -> None:
    """Only a superuser changes a superuser (their card, login, password, rights)."""
    user = employee.user
    if user is not None and user.is_superuser and not by.is_superuser:
        raise PermissionDenied(_("Only a superuser may change a superuser."))


def _right_labels(codenames: Iterable[str]) -> list[str]:
    from clinic.modules import ACTION_LABELS

    labels = {
        permission_codename(m.key, a): f"{m.label}: {ACTION_LABELS[a]}"
        for m in MODULES
        for a in m.actions
    }
    return [str(labels.get(codename, codename)) for codename in codenames]


def module_permissions(codenames: Iterable[str]) -> list[Permission]:
    known = {permission_codename(m.key, a) for m in MODULES for a in m.actions}
    wanted = set(codenames)
    unknown = wanted - known
    if unknown:
        raise ValidationError(
            _("Unknown rights: %(rights)s") % {"rights": ", ".join(sorted(unknown))}
        )
    return list(Permission.objects.filter(content_type__app_label="clinic", codename__in=wanted))


@transaction.atomic
def employee_create(
    *,
    by: User,
    data: dict[str, Any],
    username: str = "",
    password: str = "",
    rights_groups: Iterable[RightsGroup] = (),
) -> Employee:
    plain = {k: v for k, v in data.items() if k not in ("professions", "branches")}
    employee = Employee(**plain)
    m2m: dict[str, Any] = {k: data[k] for k in ("professions", "branches") if k in data}
    if username:
        employee.user = _create_login(username=username, password=password, employee=employee)
    save_new(employee, by=by, m2m=m2m, event="employee.created")
    if employee.user:
        _set_groups(employee=employee, by=by, rights_groups=rights_groups)
    return employee


def _create_login(*, username: str, password: str, employee: Employee) -> User:
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This login is already taken.")})
    if not password:
        raise ValidationError({"password": _("Set a password for the new login.")})
    user = User(
        username=username,
        first_name=employee.first_name,
        last_name=employee.last_name,
        email=employee.email,
    )
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def employee_update(*, employee: Employee, by: User, data: dict[str, Any]) -> Employee:
    ensure_may_change_employee(by=by, employee=employee)
    employee, _changes = save_changes(employee, by=by, data=data, event="employee.updated")
    if employee.user_id and any(k in data for k in ("first_name", "last_name", "email")):
        User.objects.filter(pk=employee.user_id).update(
            first_name=employee.first_name, last_name=employee.last_name, email=employee.email
        )
    return employee


@transaction.atomic
def employee_set_login(
    *,
    employee: Employee,
    by: User,
    username: str,
    password: str = "",
    rights_groups: Iterable[RightsGroup] = (),
) -> Employee:
    """Create, rename or re-password the employee's login and set its rights groups."""
    employee = Employee.all_objects.select_for_update(no_key=True).get(pk=employee.pk or 0)
    ensure_may_change_employee(by=by, employee=employee)
    if employee.user is None:
        employee.user = _create_login(username=username, password=password, employee=employee)
        employee.save(update_fields=["user"])
        audit.record(actor=by, action="update", obj=employee, changes={"login": [None, username]})
    else:
        user = employee.user
        changes: dict[str, list] = {}
        if user.username != username:
            if User.objects.filter(username__iexact=username).exclude(pk=user.pk).exists():
                raise ValidationError({"username": _("This login is already taken.")})
            changes["login"] = [user.username, username]
            user.username = username
        if password:
            user.set_password(password)
            changes["password"] = ["***", "***"]
        user.save()
        if changes:
            audit.record(actor=by, action="update", obj=employee, changes=changes)
    _set_groups(employee=employee, by=by, rights_groups=rights_groups)
    return employee


def _set_groups(*, employee: Employee, by: User, rights_groups: Iterable[RightsGroup]) -> None:
    user = employee.user
    assert user is not None
    wanted = {rg.group for rg in rights_groups}
    added = [group for group in wanted if not user.groups.filter(pk=group.pk).exists()]
    granted = Permission.objects.filter(group__in=added).values_list("codename", flat=True)
    try:
        ensure_may_grant(by=by, codenames=granted)
    except ValidationError as error:
        raise ValidationError({"rights_groups": error.message_dict["rights"]}) from error
    before = sorted(user.groups.values_list("name", flat=True))
    user.groups.set(wanted)
    after = sorted(user.groups.values_list("name", flat=True))
    if before != after:
        audit.record(
            actor=by, action="update", obj=employee, changes={"rights_groups": [before, after]}
        )


@transaction.atomic
def employee_set_rights(*, employee: Employee, by: User, codenames: Iterable[str]) -> None:
    """Individual rights, granted on top of the employee's rights groups."""
    user = employee.user
    if user is None:
        raise ValidationError(_("The employee has no login account; create one first."))
    ensure_may_change_employee(by=by, employee=employee)
    permissions = module_permissions(codenames)
    before = _codenames(user.user_permissions.all())
    ensure_may_grant(by=by, codenames=set(codenames) - set(before))
    user.user_permissions.set(permissions)
    after = _codenames(permissions)
    if before != after:
        audit.record(actor=by, action="update", obj=employee, changes={"rights": [before, after]})


@transaction.atomic
def rights_group_create(
    *, by: User, name: str, description: str, codenames: Iterable[str]
) -> RightsGroup:
    if Group.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": _("A rights group with this name already exists.")})
    permissions = module_permissions(codenames)
    ensure_may_grant(by=by, codenames=codenames)
    group = Group.objects.create(name=name)
    group.permissions.set(permissions)
    rights_group = RightsGroup.objects.create(group=group, description=description)
    audit.record(
        actor=by,
        action="create",
        obj=rights_group,
        changes={"name": [None, name], "rights": [None, sorted(codenames)]},
    )
    return rights_group


@transaction.atomic
def rights_group_update(
    *, rights_group: RightsGroup, by: User, name: str, description: str, codenames: Iterable[str]
) -> RightsGroup:
    group = rights_group.group
    if Group.objects.filter(name__iexact=name).exclude(pk=group.pk).exists():
        raise ValidationError({"name": _("A rights group with this name already exists.")})
    changes: dict[str, list] = {}
    if group.name != name:
        changes["name"] = [group.name, name]
        group.name = name
        group.save(update_fields=["name"])
    if rights_group.description != description:
        changes["description"] = [rights_group.description, description]
        rights_group.description = description
        rights_group.save(update_fields=["description"])
    before = _codenames(group.permissions.all())
    permissions = module_permissions(codenames)
    ensure_may_grant(by=by, codenames=set(codenames) - set(before))
    group.permissions.set(permissions)
    if before != _codenames(permissions):
        changes["rights"] = [before, _codenames(permissions)]
    if changes:
        audit.record(actor=by, action="update", obj=rights_group, changes=changes)
    return rights_group


# --- Recycle bin -----------------------------------------------------------------------


def employee_deleted(employee: Employee) -> None:
    if employee.user_id:
        User.objects.filter(pk=employee.user_id).update(is_active=False)


def employee_restored(employee: Employee) -> None:
    if not employee.user_id:
        return
    User.objects.filter(pk=employee.user_id).update(is_active=True)
    # A rights group deleted while the employee was away must not grant its rights again.
    user = User.objects.get(pk=employee.user_id)
    stale = list(user.groups.filter(rights_group__deleted_at__isnull=False))
    if stale:
        before = sorted(user.groups.values_list("name", flat=True))
        user.groups.remove(*stale)
        after = sorted(user.groups.values_list("name", flat=True))
        audit.record(
            actor=None, action="update", obj=employee, changes={"rights_groups": [before, after]}
        )


def rights_group_deleting(rights_group: RightsGroup) -> None:
    if rights_group.group.user_set.filter(is_active=True).exists():
        raise ValidationError(
            _("Employees still belong to this rights group; move them to another group first.")
        )


def branch_deleting(branch: Branch) -> None:
    if Branch.objects.exclude(pk=branch.pk).count() == 0:
        raise ValidationError(_("The last branch cannot be deleted."))


@transaction.atomic
def object_soft_delete(
    *,
    obj: SoftDeleteModel,
    by: User,
    patient_id: int | None = None,
    confirm: str | None = None,
) -> None:
    """Send an object to the recycle bin (its section's ``on_delete`` may refuse).

    What is booked on it (``clinic.dependents``: a patient's, a chair's, a doctor's upcoming
    visits and shifts) is cancelled with it, once ``confirm`` names exactly that; else
    ``dependents.ConfirmationNeeded`` carries the list to show."""
    section = trash.section_for(obj)
    dependents.lock(obj)  # before the object: the order moves and status changes lock in
    obj = type(obj).all_objects.select_for_update(no_key=True).get(pk=obj.pk)
    if obj.deleted_at is not None:
        return
    if patient_id is None and section and section.patient_of:
        patient_id = section.patient_of(obj)
    if section and section.on_delete:
        section.on_delete(obj)
    dependents.release(obj, by=by, confirm=confirm)
    obj.deleted_at = timezone.now()
    obj.deleted_by = by
    obj.save(update_fields=["deleted_at", "deleted_by"])
    audit.record(actor=by, action="delete", obj=obj, patient_id=patient_id)
    if section and section.event_prefix:
        events.publish(
            f"{section.event_prefix}.deleted", obj, _trash_payload(obj, patient_id), actor=by
        )


@transaction.atomic
def object_restore(*, obj: SoftDeleteModel, by: User, patient_id: int | None = None) -> None:
    """Bring an object back from the recycle bin; refuses if a live twin took its name."""
    section = trash.section_for(obj)
    obj = type(obj).all_objects.select_for_update(no_key=True).get(pk=obj.pk)
    if obj.deleted_at is None:
        return
    if patient_id is None and section and section.patient_of:
        patient_id = section.patient_of(obj)
    if section and section.before_restore:
        section.before_restore(obj)
    obj.deleted_at = None
    obj.deleted_by = None
    obj.validate_constraints()
    try:
        with transaction.atomic():
            obj.save(update_fields=["deleted_at", "deleted_by"])
    except IntegrityError as exc:
        raise ValidationError(_("It cannot be restored: a live entry conflicts with it.")) from exc
    if section and section.on_restore:
        section.on_restore(obj)
    audit.record(actor=by, action="restore", obj=obj, patient_id=patient_id)
    if section and section.event_prefix:
        events.publish(
            f"{section.event_prefix}.restored", obj, _trash_payload(obj, patient_id), actor=by
        )


def _trash_payload(obj: SoftDeleteModel, patient_id: int | None) -> dict[str, Any]:
    return {"id": obj.pk, **({"patient_id": patient_id} if patient_id else {})}
