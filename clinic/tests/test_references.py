"""Reference books (one framework for the small editable lists) and rights groups."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext as _

from clinic import references
from clinic.models import AuditAction, AuditEntry, Gender, Profession, ProfessionKind, Unit
from clinic.tests.factories import (
    GenderFactory,
    ProfessionFactory,
    RightsGroupFactory,
    UnitFactory,
    user_with_rights,
)

pytestmark = pytest.mark.django_db

INDEX = reverse("clinic:reference-index")


def book_url(key: str) -> str:
    return reverse("clinic:reference-book", args=[key])


def create_url(key: str) -> str:
    return reverse("clinic:reference-item-create", args=[key])


def update_url(key: str, pk: int) -> str:
    return reverse("clinic:reference-item-update", args=[key, pk])


def delete_url(key: str, pk: int) -> str:
    return reverse("clinic:reference-item-delete", args=[key, pk])


def errors_of(response) -> list[str]:
    form = response.context["form"]
    return [str(e) for errors in form.errors.values() for e in errors]


# --- Opening -----------------------------------------------------------------------------


def test_the_index_lists_every_book_with_its_count(doctor_client):
    GenderFactory(name="Женский")
    response = doctor_client.get(INDEX)
    assert response.status_code == 200
    counts = {entry["book"].key: entry["count"] for entry in response.context["books"]}
    assert set(counts) == {book.key for book in references.books()}
    assert counts["genders"] == 1


@pytest.mark.parametrize("key", [book.key for book in references.books()])
def test_every_registered_book_opens(admin_client, key):
    response = admin_client.get(book_url(key), follow=True)
    assert response.status_code == 200
    book = references.get_book(key)
    if book.screen:  # a book with a screen of its own (plan templates) opens that screen
        assert response.redirect_chain[-1][0] == reverse(book.screen)
    else:
        assert response.context["book"].key == key


def test_an_unknown_book_is_not_found(admin_client):
    assert admin_client.get(book_url("no-such-book")).status_code == 404
    assert admin_client.post(create_url("no-such-book"), {"name": "x"}).status_code == 404


def test_books_need_the_references_right(client, branch):
    client.force_login(user_with_rights("home_view", branch=branch))
    assert client.get(INDEX).status_code == 403
    assert client.get(book_url("genders")).status_code == 403


def test_the_book_search_answers_htmx_with_the_items_only(admin_client):
    GenderFactory(name="Женский")
    GenderFactory(name="Мужской")
    response = admin_client.get(book_url("genders"), {"q": "муж"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="items">')
    assert "Мужской" in html and "Женский" not in html
    assert "<html" not in html


# --- Adding ------------------------------------------------------------------------------


def test_adding_an_entry_puts_it_last_and_audits_it(admin_client, admin_persona):
    GenderFactory(name="Женский", position=7)
    response = admin_client.post(create_url("genders"), {"name": "Мужской"})
    assert response.status_code == 302
    assert response.url == book_url("genders")
    gender = Gender.objects.get(name="Мужской")
    assert gender.position == 8
    entry = AuditEntry.objects.get(object_id=str(gender.pk), content_type__model="gender")
    assert (entry.action, entry.actor) == (AuditAction.CREATE, admin_persona.user)


def test_adding_over_htmx_redirects_with_a_header(admin_client):
    response = admin_client.post(create_url("genders"), {"name": "Мужской"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == book_url("genders")


def test_adding_is_post_only_and_needs_the_change_right(doctor_client):
    assert doctor_client.get(book_url("genders")).status_code == 200  # doctors may look
    assert doctor_client.post(create_url("genders"), {"name": "Мужской"}).status_code == 403
    assert not Gender.objects.exists()


def test_adding_is_post_only(admin_client):
    assert admin_client.get(create_url("genders")).status_code == 405


@pytest.mark.parametrize("name", ["Мужской", "МУЖСКОЙ", "мужской"])
def test_a_duplicate_name_is_refused_whatever_its_case(admin_client, name):
    GenderFactory(name="Мужской")
    response = admin_client.post(create_url("genders"), {"name": name})
    assert response.status_code == 422
    assert errors_of(response) == [_("An entry with this name already exists.")]
    assert Gender.objects.count() == 1


def test_the_name_of_a_deactivated_entry_may_be_used_again(admin_client, admin_persona):
    from clinic.services import object_soft_delete

    object_soft_delete(obj=GenderFactory(name="Мужской"), by=admin_persona.user)
    assert admin_client.post(create_url("genders"), {"name": "Мужской"}).status_code == 302
    assert Gender.objects.filter(name="Мужской").count() == 1


def test_an_empty_name_is_refused(admin_client):
    response = admin_client.post(create_url("genders"), {"name": "  "})
    assert response.status_code == 422
    assert not Gender.objects.exists()


# --- Units -------------------------------------------------------------------------------


def unit_data(ratio: str, name: str = "Микрограмм") -> dict:
    return {"name": name, "short_name": "мкг", "measure": "mass", "ratio": ratio}


@pytest.mark.parametrize("ratio", ["0", "-1", "-0.000001"])
def test_a_unit_needs_a_positive_ratio(admin_client, ratio):
    response = admin_client.post(create_url("units"), unit_data(ratio))
    assert response.status_code == 422
    assert response.context["form"].errors["ratio"] == [_("The ratio must be above zero.")]
    assert not Unit.objects.exists()


def test_a_unit_with_a_small_positive_ratio_is_added(admin_client):
    assert admin_client.post(create_url("units"), unit_data("0.000001")).status_code == 302
    assert str(Unit.objects.get().ratio) == "0.000001"


def test_a_units_ratio_cannot_be_edited_to_zero(admin_client):
    unit = UnitFactory(ratio="0.001")
    prefix = f"item-{unit.pk}-"
    data = {prefix + key: value for key, value in unit_data("0", name=unit.name).items()}
    response = admin_client.post(update_url("units", unit.pk), data)
    assert response.status_code == 422
    unit.refresh_from_db()
    assert str(unit.ratio) == "0.001000"


# --- Professions -------------------------------------------------------------------------


def test_professions_are_split_by_kind(admin_client):
    ProfessionFactory(name="Хирург", kind=ProfessionKind.DOCTOR)
    ProfessionFactory(name="Кассир", kind=ProfessionKind.STAFF)
    doctors = admin_client.get(book_url("doctor-professions")).context["page"].object_list
    staff = admin_client.get(book_url("staff-professions")).context["page"].object_list
    assert [p.name for p in doctors] == ["Хирург"]
    assert [p.name for p in staff] == ["Администратор", "Кассир"]  # the admin's and the new one


def test_a_profession_added_to_a_book_gets_the_books_kind(admin_client):
    admin_client.post(create_url("staff-professions"), {"name": "Ассистент", "kind": "doctor"})
    assert Profession.objects.get(name="Ассистент").kind == ProfessionKind.STAFF


def test_the_same_profession_name_may_exist_once_per_kind(admin_client):
    ProfessionFactory(name="Управляющий", kind=ProfessionKind.STAFF)
    assert (
        admin_client.post(create_url("doctor-professions"), {"name": "Управляющий"}).status_code
        == 302
    )
    response = admin_client.post(create_url("staff-professions"), {"name": "управляющий"})
    assert response.status_code == 422
    assert errors_of(response) == [_("An entry with this name already exists.")]
    assert Profession.objects.filter(name__iexact="управляющий").count() == 2


def test_an_entry_of_another_book_cannot_be_edited_through_this_one(admin_client):
    profession = ProfessionFactory(name="Хирург", kind=ProfessionKind.DOCTOR)
    assert admin_client.get(update_url("staff-professions", profession.pk)).status_code == 404
    assert admin_client.post(delete_url("staff-professions", profession.pk)).status_code == 404
    assert admin_client.get(update_url("genders", profession.pk)).status_code == 404


# --- Renaming in the dialog --------------------------------------------------------------


def test_the_rename_dialog_loads_over_htmx(admin_client):
    gender = GenderFactory(name="Мужской")
    response = admin_client.get(update_url("genders", gender.pk), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith("<form")
    assert f'hx-post="{update_url("genders", gender.pk)}"' in html
    assert f'name="item-{gender.pk}-name"' in html
    assert 'value="Мужской"' in html


def test_renaming_in_the_dialog_saves_audits_and_redirects(admin_client, admin_persona):
    gender = GenderFactory(name="Мужской")
    response = admin_client.post(
        update_url("genders", gender.pk),
        {f"item-{gender.pk}-name": "Мужчина"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == book_url("genders")
    gender.refresh_from_db()
    assert gender.name == "Мужчина"
    entry = AuditEntry.objects.get(object_id=str(gender.pk), action=AuditAction.UPDATE)
    assert entry.changes == {"name": ["Мужской", "Мужчина"]}


def test_renaming_to_a_taken_name_is_refused_inside_the_dialog(admin_client):
    GenderFactory(name="Женский")
    gender = GenderFactory(name="Мужской")
    response = admin_client.post(
        update_url("genders", gender.pk),
        {f"item-{gender.pk}-name": "женский"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert response.content.decode().startswith("<form")
    assert errors_of(response) == [_("An entry with this name already exists.")]
    gender.refresh_from_db()
    assert gender.name == "Мужской"


def test_renaming_needs_the_change_right(doctor_client):
    gender = GenderFactory(name="Мужской")
    assert doctor_client.get(update_url("genders", gender.pk)).status_code == 403


# --- Deactivating ------------------------------------------------------------------------


def test_deactivate_then_restore_from_the_recycle_bin(admin_client):
    gender = GenderFactory(name="Мужской")
    response = admin_client.post(delete_url("genders", gender.pk))
    assert response.url == book_url("genders")
    listed = admin_client.get(book_url("genders")).context["page"].object_list
    assert gender not in listed
    trash_page = admin_client.get(reverse("clinic:trash"), {"section": "reference-genders"})
    assert [g.pk for g in trash_page.context["page"].object_list] == [gender.pk]

    admin_client.post(reverse("clinic:trash-restore", args=["reference-genders", gender.pk]))
    listed = admin_client.get(book_url("genders")).context["page"].object_list
    assert [g.pk for g in listed] == [gender.pk]


def test_deactivating_is_post_only_and_needs_the_change_right(admin_client, doctor, branch):
    gender = GenderFactory(name="Мужской")
    assert admin_client.get(delete_url("genders", gender.pk)).status_code == 405
    other = Client()
    other.force_login(doctor.user)
    assert other.post(delete_url("genders", gender.pk)).status_code == 403
    assert Gender.objects.filter(pk=gender.pk).exists()


# --- Rights groups -----------------------------------------------------------------------

GROUPS = reverse("clinic:rights-groups")
GROUP_CREATE = reverse("clinic:rights-group-create")


def group_url(group) -> str:
    return reverse("clinic:rights-group-update", args=[group.pk])


def test_the_rights_groups_list_shows_member_counts(doctor_client, doctor):
    response = doctor_client.get(GROUPS)
    assert response.status_code == 200
    counts = {g.group.name: g.member_count for g in response.context["groups"]}
    assert counts[doctor.user.groups.get().name] == 1


def test_a_rights_group_is_created_with_the_rights_ticked_in_the_matrix(admin_client):
    response = admin_client.post(
        GROUP_CREATE,
        {
            "name": "Ассистенты",
            "description": "Помощь врачу",
            "rights": ["home_view", "patients_view"],
        },
    )
    assert response.status_code == 302
    group = Group.objects.get(name="Ассистенты")
    assert group.rights_group.description == "Помощь врачу"
    assert set(group.permissions.values_list("codename", flat=True)) == {
        "home_view",
        "patients_view",
    }
    entry = AuditEntry.objects.get(object_id=str(group.rights_group.pk), action="create")
    assert entry.changes["rights"] == [None, ["home_view", "patients_view"]]


def test_the_edit_page_ticks_the_groups_rights_in_the_matrix(admin_client):
    group = RightsGroupFactory(rights=["staff_view", "staff_rights"])
    response = admin_client.get(group_url(group))
    assert response.status_code == 200
    checked = {
        cell["codename"]
        for row in response.context["matrix"]
        for cell in row["cells"]
        if cell["checked"]
    }
    assert checked == {"staff_view", "staff_rights"}
    unavailable = {
        cell["codename"]
        for row in response.context["matrix"]
        for cell in row["cells"]
        if not cell["available"]
    }
    assert "home_change" in unavailable  # home has no change action: no checkbox


def test_editing_a_rights_group_changes_its_members_rights(admin_client, registrar):
    group = registrar.user.groups.get().rights_group
    response = admin_client.post(
        group_url(group),
        {"name": "Ресепшн", "description": "", "rights": ["home_view", "staff_view"]},
    )
    assert response.status_code == 302
    group.group.refresh_from_db()
    assert group.group.name == "Ресепшн"
    other = Client()
    other.force_login(registrar.user)
    assert other.get(reverse("clinic:staff-list")).status_code == 200
    assert other.get("/patients/").status_code == 403
    entry = AuditEntry.objects.filter(object_id=str(group.pk), action="update").latest("id")
    assert entry.changes["name"] == ["Регистратура", "Ресепшн"]


def test_a_duplicate_rights_group_name_is_refused(admin_client):
    RightsGroupFactory(group__name="Врачи-стажёры")
    response = admin_client.post(GROUP_CREATE, {"name": "ВРАЧИ-СТАЖЁРЫ", "rights": []})
    assert response.status_code == 422
    assert response.context["form"].errors["name"] == [
        _("A rights group with this name already exists.")
    ]
    assert Group.objects.filter(name__iexact="врачи-стажёры").count() == 1


def test_unknown_rights_are_refused_by_the_group_form(admin_client):
    response = admin_client.post(GROUP_CREATE, {"name": "Хакеры", "rights": ["root_all"]})
    assert response.status_code == 422
    assert not Group.objects.filter(name="Хакеры").exists()


@pytest.mark.parametrize(
    ("rights", "status"),
    [
        (("references_view", "references_change"), 403),
        (("staff_view", "staff_change"), 403),
        (("staff_rights",), 200),
    ],
)
def test_only_the_staff_rights_right_may_edit_rights_groups(client, branch, rights, status):
    group = RightsGroupFactory(group__name="Стажёры")
    client.force_login(user_with_rights(*rights, branch=branch))
    assert client.get(GROUP_CREATE).status_code == status
    assert client.get(group_url(group)).status_code == status
    response = client.post(group_url(group), {"name": "Взлом", "rights": ["staff_rights"]})
    assert response.status_code == (302 if status == 200 else 403)
    if status == 403:
        group.group.refresh_from_db()
        assert group.group.name == "Стажёры"
        assert not group.group.permissions.exists()
