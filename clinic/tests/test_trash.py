"""The recycle bin: soft delete, the sections, restore and its refusals, Undo."""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext as _

from clinic import services, trash
from clinic.models import (
    AuditAction,
    AuditEntry,
    Branch,
    Chair,
    Employee,
    Gender,
    RightsGroup,
    User,
)
from clinic.tests.factories import (
    BranchFactory,
    ChairFactory,
    EmployeeFactory,
    GenderFactory,
    RightsGroupFactory,
    UserFactory,
    user_with_rights,
)

pytestmark = pytest.mark.django_db

TRASH = reverse("clinic:trash")


def messages_of(response) -> list:
    return list(get_messages(response.wsgi_request))


def restore_url(section: str, pk: int) -> str:
    return reverse("clinic:trash-restore", args=[section, pk])


# --- Soft delete and the sections ---------------------------------------------------------


def test_a_deleted_entry_leaves_the_default_manager_and_is_listed_with_who_and_when(
    admin_client, admin_persona
):
    gender = GenderFactory(name="Неуказанный")
    response = admin_client.post(
        reverse("clinic:reference-item-delete", args=["genders", gender.pk])
    )
    assert response.status_code == 302
    assert not Gender.objects.filter(pk=gender.pk).exists()
    deleted = Gender.all_objects.get(pk=gender.pk)
    assert deleted.is_deleted
    assert deleted.deleted_by == admin_persona.user

    page = admin_client.get(TRASH, {"section": "reference-genders"})
    assert page.status_code == 200
    assert [obj.pk for obj in page.context["page"].object_list] == [gender.pk]
    html = page.content.decode()
    assert f'data-trash-item="{gender.pk}"' in html
    assert "Неуказанный" in html
    assert str(admin_persona.user) in html
    assert deleted.deleted_at.astimezone(Branch().zone).strftime("%d.%m.%Y") in html
    counts = {entry["section"].key: entry["count"] for entry in page.context["sections"]}
    assert counts["reference-genders"] == 1
    assert counts["employees"] == 0


def test_the_trash_search_narrows_a_section(admin_client, admin_persona):
    for name in ("Кресло у окна", "Кресло у двери"):
        services.object_soft_delete(obj=ChairFactory(name=name), by=admin_persona.user)
    page = admin_client.get(TRASH, {"section": "chairs", "q": "окна"})
    assert [str(obj) for obj in page.context["page"].object_list] == ["Кресло у окна"]


def test_the_bin_opens_on_the_first_section_that_holds_something(
    admin_client, admin_persona, django_assert_max_num_queries
):
    chair = ChairFactory(name="Кресло у окна")
    services.object_soft_delete(obj=chair, by=admin_persona.user)
    keys = [entry["section"].key for entry in admin_client.get(TRASH).context["sections"]]
    assert keys[0] != "chairs"  # the first section is empty: the bin skips it
    admin_client.get(TRASH)  # warm the shell's caches
    with django_assert_max_num_queries(len(keys) + 20):
        page = admin_client.get(TRASH)
    assert page.context["current"].key == "chairs"
    assert [obj.pk for obj in page.context["page"].object_list] == [chair.pk]
    assert admin_client.get(TRASH, {"section": keys[0]}).context["current"].key == keys[0]


def test_an_empty_bin_opens_on_its_first_section(admin_client):
    page = admin_client.get(TRASH)
    assert page.context["current"].key == page.context["sections"][0]["section"].key


def test_deleting_twice_is_harmless_and_audited_once(admin_persona):
    chair = ChairFactory()
    services.object_soft_delete(obj=chair, by=admin_persona.user)
    services.object_soft_delete(obj=chair, by=admin_persona.user)
    actions = AuditEntry.objects.filter(object_id=str(chair.pk), action=AuditAction.DELETE)
    assert actions.count() == 1


def test_deleting_publishes_an_event_for_sections_that_have_one(
    admin_persona, django_capture_on_commit_callbacks
):
    from clinic.models import OutboxEvent

    chair = ChairFactory()
    services.object_soft_delete(obj=chair, by=admin_persona.user)
    services.object_restore(obj=chair, by=admin_persona.user)
    names = list(
        OutboxEvent.objects.filter(aggregate_id=str(chair.pk), aggregate_type="clinic.chair")
        .order_by("id")
        .values_list("name", flat=True)
    )
    assert names == ["chair.deleted", "chair.restored"]


# --- Restore -----------------------------------------------------------------------------


def test_restoring_brings_the_object_back_and_is_audited(admin_client, admin_persona):
    chair = ChairFactory(name="Кресло 9")
    services.object_soft_delete(obj=chair, by=admin_persona.user)
    response = admin_client.post(restore_url("chairs", chair.pk))
    assert response.status_code == 302
    assert response.url == f"{TRASH}?section=chairs"
    assert Chair.objects.filter(pk=chair.pk, deleted_by__isnull=True).exists()
    entry = AuditEntry.objects.filter(object_id=str(chair.pk)).order_by("-id").first()
    assert (entry.action, entry.actor) == (AuditAction.RESTORE, admin_persona.user)
    assert [m.level_tag for m in messages_of(response)] == ["success"]


def test_restoring_an_entry_whose_name_was_reused_is_refused(admin_client, admin_persona):
    old = GenderFactory(name="Мужской")
    services.object_soft_delete(obj=old, by=admin_persona.user)
    GenderFactory(name="МУЖСКОЙ")  # case differs: still the same name
    audit_count = AuditEntry.objects.count()

    response = admin_client.post(restore_url("reference-genders", old.pk))
    assert response.status_code == 302
    (message,) = messages_of(response)
    assert message.level_tag == "error"
    assert str(message) == _("An entry with this name already exists.")
    assert Gender.all_objects.get(pk=old.pk).is_deleted
    assert AuditEntry.objects.count() == audit_count


def test_restoring_a_chair_whose_name_is_taken_in_its_branch_is_refused(admin_persona, branch):
    chair = ChairFactory(branch=branch, name="Кресло 1")
    services.object_soft_delete(obj=chair, by=admin_persona.user)
    ChairFactory(branch=branch, name="Кресло 1")
    with pytest.raises(ValidationError):
        services.object_restore(obj=chair, by=admin_persona.user)
    assert Chair.all_objects.get(pk=chair.pk).is_deleted


def test_restore_answers_htmx_with_a_redirect_header(admin_client, admin_persona):
    chair = ChairFactory()
    services.object_soft_delete(obj=chair, by=admin_persona.user)
    response = admin_client.post(
        restore_url("chairs", chair.pk), {"next": "/settings/"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/settings/"


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:x"]
)
def test_restore_ignores_a_next_url_of_another_site(admin_client, admin_persona, next_url):
    chair = ChairFactory()
    services.object_soft_delete(obj=chair, by=admin_persona.user)
    response = admin_client.post(restore_url("chairs", chair.pk), {"next": next_url})
    assert response.url == TRASH


def test_restore_is_post_only(admin_client, admin_persona):
    chair = ChairFactory()
    services.object_soft_delete(obj=chair, by=admin_persona.user)
    assert admin_client.get(restore_url("chairs", chair.pk)).status_code == 405
    assert Chair.all_objects.get(pk=chair.pk).is_deleted


def test_restoring_an_object_that_is_not_in_the_bin_is_not_found(admin_client):
    chair = ChairFactory()
    assert admin_client.post(restore_url("chairs", chair.pk)).status_code == 404
    assert admin_client.post(restore_url("no-such-section", chair.pk)).status_code == 404


# --- Staff and their logins -----------------------------------------------------------


def test_deactivating_an_employee_blocks_their_login_and_restoring_unblocks_it(
    admin_client, branch
):
    client = Client()
    user = UserFactory(username="leaving", password="Secret-pass-42")
    employee = EmployeeFactory(user=user, branches=[branch])
    response = admin_client.post(reverse("clinic:employee-delete", args=[employee.pk]))
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_active
    assert not Employee.objects.filter(pk=employee.pk).exists()
    assert not client.login(username="leaving", password="Secret-pass-42")
    response = client.post(
        reverse("account_login"), {"login": "leaving", "password": "Secret-pass-42"}
    )
    assert response.status_code == 302
    assert response.url == reverse("account_inactive")
    assert "_auth_user_id" not in client.session

    admin_client.post(restore_url("employees", employee.pk))
    user.refresh_from_db()
    assert user.is_active
    assert client.login(username="leaving", password="Secret-pass-42")


def test_a_restored_employee_gets_no_rights_from_a_group_deleted_meanwhile(admin_persona, branch):
    group = RightsGroupFactory(group__name="Старый отдел", rights=["staff_view"])
    keeper = RightsGroupFactory(group__name="Регистратура-2", rights=["home_view"])
    user = UserFactory()
    user.groups.set([group.group, keeper.group])
    employee = EmployeeFactory(user=user, branches=[branch])
    services.object_soft_delete(obj=employee, by=admin_persona.user)
    services.object_soft_delete(obj=group, by=admin_persona.user)  # no active members now

    services.object_restore(obj=employee, by=admin_persona.user)
    user = User.objects.get(pk=user.pk)  # fresh: permissions are cached per instance
    assert user.is_active
    assert not user.has_perm("clinic.staff_view")
    assert user.has_perm("clinic.home_view")
    entry = AuditEntry.objects.filter(object_id=str(employee.pk), action="update").latest("id")
    assert entry.changes == {
        "rights_groups": [["Регистратура-2", "Старый отдел"], ["Регистратура-2"]]
    }


def test_a_deactivated_employees_open_session_stops_working(client, admin_persona, branch):
    user = user_with_rights("home_view", branch=branch)
    client.force_login(user)
    assert client.get("/").status_code == 200
    services.object_soft_delete(obj=user.employee, by=admin_persona.user)
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


# --- Refusals of on_delete -------------------------------------------------------------


def test_a_rights_group_with_active_members_cannot_be_deleted(admin_client):
    group = RightsGroupFactory()
    member = UserFactory()
    member.groups.add(group.group)
    response = admin_client.post(reverse("clinic:rights-group-delete", args=[group.pk]))
    assert response.status_code == 302
    (message,) = messages_of(response)
    assert message.level_tag == "error"
    assert RightsGroup.objects.filter(pk=group.pk).exists()

    member.is_active = False
    member.save()
    admin_client.post(reverse("clinic:rights-group-delete", args=[group.pk]))
    assert not RightsGroup.objects.filter(pk=group.pk).exists()


def test_the_last_branch_cannot_be_deleted(admin_client, branch):
    assert Branch.objects.count() == 1
    response = admin_client.post(
        reverse("clinic:branch-delete", args=[branch.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 409  # the delete dialog comes back with the reason
    assert _("The last branch cannot be deleted.") in response.content.decode()
    assert Branch.objects.filter(pk=branch.pk).exists()


def test_a_branch_that_is_not_the_last_goes_to_the_bin(admin_client, branch):
    other = BranchFactory()
    response = admin_client.post(reverse("clinic:branch-delete", args=[other.pk]))
    assert response.url == reverse("clinic:branch-list")
    assert Branch.all_objects.get(pk=other.pk).is_deleted


# --- Who sees what -----------------------------------------------------------------------


def test_sections_are_listed_only_for_modules_the_user_may_view(client, branch):
    client.force_login(user_with_rights("trash_view", "references_view", branch=branch))
    response = client.get(TRASH)
    keys = {entry["section"].key for entry in response.context["sections"]}
    assert keys == {s.key for s in trash.sections() if s.module == "references"}
    assert "employees" not in keys and "branches" not in keys
    # A section the user may not view cannot be opened by its URL either.
    response = client.get(TRASH, {"section": "employees"})
    assert response.context["current"] is None


def test_restoring_needs_the_change_right_of_the_sections_module(client, branch, admin_persona):
    chair = ChairFactory()
    services.object_soft_delete(obj=chair, by=admin_persona.user)
    client.force_login(
        user_with_rights("trash_view", "trash_change", "settings_view", branch=branch)
    )
    assert client.post(restore_url("chairs", chair.pk)).status_code == 404
    assert Chair.all_objects.get(pk=chair.pk).is_deleted


def test_without_the_trash_right_the_bin_is_forbidden(registrar_client, admin_persona):
    chair = ChairFactory()
    services.object_soft_delete(obj=chair, by=admin_persona.user)
    assert registrar_client.get(TRASH).status_code == 403
    assert registrar_client.post(restore_url("chairs", chair.pk)).status_code == 403


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(TRASH)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


# --- Undo -------------------------------------------------------------------------------


def test_the_undo_link_after_a_delete_restores_the_object(admin_client, branch):
    chair = ChairFactory(branch=branch, name="Кресло для отмены")
    response = admin_client.post(reverse("clinic:chair-delete", args=[chair.pk]), follow=True)
    assert response.status_code == 200
    url = restore_url("chairs", chair.pk)
    assert f'action="{url}"' in response.content.decode()
    assert "data-undo" in response.content.decode()
    assert Chair.all_objects.get(pk=chair.pk).is_deleted

    admin_client.post(url, {"next": reverse("clinic:branch-detail", args=[branch.pk])})
    assert Chair.objects.filter(pk=chair.pk).exists()


@pytest.mark.parametrize(
    ("url_name", "section", "make"),
    [
        ("clinic:employee-delete", "employees", lambda: EmployeeFactory()),
        ("clinic:rights-group-delete", "rights-groups", lambda: RightsGroupFactory()),
        ("clinic:chair-delete", "chairs", lambda: ChairFactory()),
        ("clinic:branch-delete", "branches", lambda: BranchFactory()),
    ],
)
def test_every_delete_offers_undo_with_a_restore_url_of_its_section(
    admin_client, branch, url_name, section, make
):
    obj = make()
    response = admin_client.post(reverse(url_name, args=[obj.pk]))
    (message,) = messages_of(response)
    assert message.extra_tags == f"undo:{restore_url(section, obj.pk)}"
    admin_client.post(restore_url(section, obj.pk))
    assert type(obj).objects.filter(pk=obj.pk).exists()
