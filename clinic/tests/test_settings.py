"""Settings: the organization, branches and chairs, module settings."""

import io
import os
import re

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext as _
from PIL import Image

from clinic import preferences
from clinic.models import AuditAction, AuditEntry, Branch, Chair, Organization, PreferenceValue
from clinic.tests.factories import BranchFactory, ChairFactory, user_with_rights

pytestmark = pytest.mark.django_db

SETTINGS = reverse("clinic:settings")
ORGANIZATION_SAVE = reverse("clinic:organization-save")
BRANCHES = reverse("clinic:branch-list")
BRANCH_CREATE = reverse("clinic:branch-create")
MODULES = reverse("clinic:module-settings")
MODULES_SAVE = reverse("clinic:module-settings-save")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def png(width: int = 8, height: int = 8, *, noise: bool = False) -> bytes:
    if noise:  # random pixels do not compress: the file is about width * height * 3 bytes
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (30, 120, 200))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def organization_data(**overrides) -> dict:
    data = {
        "name": "Улыбка",
        "legal_name": "ООО «Улыбка»",
        "inn": "7707083893",
        "kpp": "770701001",
        "ogrn": "1027700132195",
        "medical_license": "Л041-01137-77/00368412",
        "legal_address": "г. Москва, ул. Тверская, д. 1",
        "phone": "8 (495) 123-45-67",
        "email": "info@smile.example",
        "website": "https://smile.example",
        "director": "Орлов В. Г.",
        "bank_name": "ПАО Сбербанк",
        "bank_bik": "044525225",
        "bank_account": "40702810938000012345",
        "bank_corr_account": "30101810400000000225",
        "currency": "RUB",
        "time_zone": "Europe/Moscow",
    }
    data.update(overrides)
    return data


# --- The organization ------------------------------------------------------------------


def test_the_organization_page_opens_with_the_settings_right(admin_client):
    response = admin_client.get(SETTINGS)
    assert response.status_code == 200
    assert response.context["form"].instance.pk == 1


def test_settings_are_refused_without_the_settings_right(registrar_client):
    assert registrar_client.get(SETTINGS).status_code == 403
    assert registrar_client.post(ORGANIZATION_SAVE, organization_data()).status_code == 403
    assert registrar_client.get(BRANCHES).status_code == 403
    assert registrar_client.get(MODULES).status_code == 403


def test_viewing_settings_does_not_allow_saving_them(client, branch):
    client.force_login(user_with_rights("settings_view", branch=branch))
    assert client.get(SETTINGS).status_code == 200
    assert client.post(ORGANIZATION_SAVE, organization_data()).status_code == 403
    assert Organization.load().name != "Улыбка"


def test_saving_the_legal_data_stores_it_audits_it_and_refreshes_the_cache(
    admin_client, django_capture_on_commit_callbacks
):
    Organization.load()  # cached before the change
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(ORGANIZATION_SAVE, organization_data())
    assert response.status_code == 302
    assert response.url == SETTINGS
    organization = Organization.load()
    assert organization.legal_name == "ООО «Улыбка»"
    assert organization.inn == "7707083893"
    assert organization.phone == "+74951234567"
    entry = AuditEntry.objects.filter(content_type__model="organization").latest("id")
    assert entry.action == AuditAction.UPDATE
    assert entry.changes["name"] == ["Odonta", "Улыбка"]


def test_saving_settings_is_post_only(admin_client):
    assert admin_client.get(ORGANIZATION_SAVE).status_code == 405


@pytest.mark.parametrize(
    ("field", "value"),
    [("currency", "XXX"), ("time_zone", "Mars/Olympus"), ("time_zone", ""), ("email", "nope")],
)
def test_an_unknown_currency_or_time_zone_is_refused(admin_client, field, value):
    response = admin_client.post(ORGANIZATION_SAVE, organization_data(**{field: value}))
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert Organization.objects.get(pk=1).name == "Odonta"


def test_another_currency_and_time_zone_are_saved(admin_client):
    data = organization_data(currency="KZT", time_zone="Asia/Almaty")
    assert admin_client.post(ORGANIZATION_SAVE, data).status_code == 302
    organization = Organization.objects.get(pk=1)
    assert (organization.currency, organization.time_zone) == ("KZT", "Asia/Almaty")


def test_a_logo_is_uploaded_and_shown_in_the_sidebar_when_asked(
    admin_client, media_root, django_capture_on_commit_callbacks
):
    logo = SimpleUploadedFile("logo.png", png(), content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            ORGANIZATION_SAVE, organization_data(logo=logo, show_logo_in_sidebar="on")
        )
    assert response.status_code == 302
    organization = Organization.load()
    assert re.fullmatch(r"organization/[0-9a-f]{32}\.png", organization.logo.name)
    assert (media_root / organization.logo.name).read_bytes() == png()

    logo_url = reverse("clinic:file", args=["organization-logo", organization.pk])
    page = admin_client.get("/").content.decode()
    assert f'<img src="{logo_url}?v={int(organization.updated_at.timestamp())}"' in page
    served = admin_client.get(logo_url)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == png()


def test_the_logo_stays_out_of_the_sidebar_unless_asked(
    admin_client, django_capture_on_commit_callbacks
):
    logo = SimpleUploadedFile("logo.png", png(), content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(ORGANIZATION_SAVE, organization_data(logo=logo))
    assert Organization.load().logo
    assert "app-logo" not in admin_client.get("/").content.decode()


def test_a_logo_over_two_megabytes_is_refused(admin_client):
    big = png(900, 900, noise=True)
    assert len(big) > 2 * 1024 * 1024
    logo = SimpleUploadedFile("big.png", big, content_type="image/png")
    response = admin_client.post(ORGANIZATION_SAVE, organization_data(logo=logo))
    assert response.status_code == 422
    assert response.context["form"].errors["logo"] == [_("The logo must be under 2 MB.")]
    assert not Organization.objects.get(pk=1).logo


def test_a_file_that_is_not_an_image_is_refused_as_a_logo(admin_client):
    logo = SimpleUploadedFile("logo.png", b"not an image", content_type="image/png")
    response = admin_client.post(ORGANIZATION_SAVE, organization_data(logo=logo))
    assert response.status_code == 422
    assert "logo" in response.context["form"].errors


# --- Branches ----------------------------------------------------------------------------


def branch_data(**overrides) -> dict:
    data = {
        "name": "Одонта на Ленина",
        "address": "г. Омск, ул. Ленина, 1",
        "phone": "+7 (3812) 12-34-56",
        "time_zone": "Asia/Omsk",
        "opens_at": "08:00",
        "closes_at": "20:00",
    }
    data.update(overrides)
    return data


def test_the_branch_list_counts_live_chairs(admin_client, admin_persona, branch):
    ChairFactory(branch=branch)
    from clinic.services import object_soft_delete

    object_soft_delete(obj=ChairFactory(branch=branch), by=admin_persona.user)
    response = admin_client.get(BRANCHES)
    assert response.status_code == 200
    assert {b.name: b.chair_count for b in response.context["branches"]} == {branch.name: 1}


def test_a_branch_is_created_and_audited(admin_client, admin_persona):
    response = admin_client.post(BRANCH_CREATE, branch_data())
    branch = Branch.objects.get(name="Одонта на Ленина")
    assert response.status_code == 302
    assert response.url == reverse("clinic:branch-detail", args=[branch.pk])
    assert branch.time_zone == "Asia/Omsk"
    assert branch.phone == "+73812123456"
    assert str(branch.opens_at) == "08:00:00"
    entry = AuditEntry.objects.get(object_id=str(branch.pk), content_type__model="branch")
    assert (entry.action, entry.actor) == (AuditAction.CREATE, admin_persona.user)


def test_the_new_branch_form_answers_htmx_with_the_form_only(admin_client):
    response = admin_client.get(BRANCH_CREATE, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith("<form")
    assert "<html" not in html


def test_an_invalid_branch_over_htmx_gets_the_form_back_with_errors(admin_client):
    response = admin_client.post(
        BRANCH_CREATE, branch_data(closes_at="07:00"), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    assert response.content.decode().lstrip().startswith("<form")
    assert response.context["form"].errors["closes_at"] == [
        _("The branch must close after it opens.")
    ]
    assert not Branch.objects.filter(name="Одонта на Ленина").exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"closes_at": "08:00"}, "closes_at"),
        ({"time_zone": "Europe/Atlantis"}, "time_zone"),
        ({"name": ""}, "name"),
        ({"phone": "12"}, "phone"),
    ],
)
def test_an_invalid_branch_is_refused(admin_client, overrides, field):
    response = admin_client.post(BRANCH_CREATE, branch_data(**overrides))
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert not Branch.objects.filter(address="г. Омск, ул. Ленина, 1").exists()


def test_a_second_branch_with_the_same_name_is_refused(admin_client, branch):
    response = admin_client.post(BRANCH_CREATE, branch_data(name=branch.name))
    assert response.status_code == 422
    assert response.context["form"].non_field_errors() == [
        _("A branch with this name already exists.")
    ]
    assert Branch.objects.filter(name=branch.name).count() == 1


def test_editing_a_branch_records_the_changes(admin_client, branch):
    data = branch_data(name=branch.name, time_zone=branch.time_zone, opens_at="10:00")
    data["address"] = branch.address
    data["closes_at"] = "21:00"
    data["phone"] = ""
    response = admin_client.post(reverse("clinic:branch-update", args=[branch.pk]), data)
    assert response.status_code == 302
    branch.refresh_from_db()
    assert str(branch.opens_at) == "10:00:00"
    entry = AuditEntry.objects.get(object_id=str(branch.pk), action=AuditAction.UPDATE)
    assert entry.changes == {"opens_at": ["09:00:00", "10:00:00"]}


def test_an_invalid_branch_edit_changes_nothing(admin_client, branch):
    url = reverse("clinic:branch-update", args=[branch.pk])
    response = admin_client.post(url, branch_data(opens_at="22:00", closes_at="21:00"))
    assert response.status_code == 422
    branch.refresh_from_db()
    assert str(branch.opens_at) == "09:00:00"
    assert admin_client.get(url).status_code == 405


# --- Chairs ------------------------------------------------------------------------------


def chairs_of(branch) -> list[str]:
    return list(
        Chair.objects.filter(branch=branch).order_by("position").values_list("name", flat=True)
    )


def test_a_chair_is_added_and_the_list_comes_back_as_a_partial(admin_client, branch):
    ChairFactory(branch=branch, name="Кресло 1", position=1)
    response = admin_client.post(
        reverse("clinic:chair-create", args=[branch.pk]),
        {"name": "Кресло 2"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="chairs">')
    assert "Кресло 2" in html
    assert chairs_of(branch) == ["Кресло 1", "Кресло 2"]


def test_a_duplicate_chair_name_is_refused_within_a_branch_but_not_across(admin_client, branch):
    ChairFactory(branch=branch, name="Кресло 1")
    url = reverse("clinic:chair-create", args=[branch.pk])
    response = admin_client.post(url, {"name": "Кресло 1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert _("The branch already has a chair with this name.") in response.content.decode()
    assert chairs_of(branch) == ["Кресло 1"]

    other = BranchFactory()
    other_url = reverse("clinic:chair-create", args=[other.pk])
    assert admin_client.post(other_url, {"name": "Кресло 1"}).status_code == 200
    assert chairs_of(other) == ["Кресло 1"]


def test_an_empty_chair_name_is_refused(admin_client, branch):
    response = admin_client.post(reverse("clinic:chair-create", args=[branch.pk]), {"name": ""})
    assert response.status_code == 422
    assert chairs_of(branch) == []


def test_adding_a_chair_is_post_only(admin_client, branch):
    assert admin_client.get(reverse("clinic:chair-create", args=[branch.pk])).status_code == 405


def test_a_chair_is_renamed(admin_client, branch):
    chair = ChairFactory(branch=branch, name="Кресло 1")
    response = admin_client.post(
        reverse("clinic:chair-rename", args=[chair.pk]),
        {"name": "Хирургия"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert chairs_of(branch) == ["Хирургия"]
    entry = AuditEntry.objects.get(object_id=str(chair.pk), action=AuditAction.UPDATE)
    assert entry.changes == {"name": ["Кресло 1", "Хирургия"]}


def test_renaming_a_chair_to_a_taken_name_is_refused(admin_client, branch):
    ChairFactory(branch=branch, name="Кресло 1")
    chair = ChairFactory(branch=branch, name="Кресло 2")
    response = admin_client.post(
        reverse("clinic:chair-rename", args=[chair.pk]),
        {"name": "Кресло 1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    (message,) = get_messages(response.wsgi_request)
    assert str(message) == _("The branch already has a chair with this name.")
    chair.refresh_from_db()
    assert chair.name == "Кресло 2"


def test_chairs_are_reordered_and_the_order_is_audited(admin_client, branch):
    a, b, c = (ChairFactory(branch=branch, name=n, position=i) for i, n in enumerate("ABC", 1))
    url = reverse("clinic:chairs-reorder", args=[branch.pk])
    response = admin_client.post(url, {"chair_ids": f"{c.pk},{a.pk},{b.pk}"})
    assert response.status_code == 204
    assert chairs_of(branch) == ["C", "A", "B"]
    entry = AuditEntry.objects.filter(object_id=str(branch.pk), action="update").latest("id")
    assert entry.changes == {"chair_order": [[a.pk, b.pk, c.pk], [c.pk, a.pk, b.pk]]}


@pytest.mark.parametrize(("ids", "status"), [("x,y", 400), ("", 400), ("first", 400)])
def test_a_malformed_chair_order_is_refused(admin_client, branch, ids, status):
    ChairFactory(branch=branch)
    url = reverse("clinic:chairs-reorder", args=[branch.pk])
    assert admin_client.post(url, {"chair_ids": ids}).status_code == status


def test_a_stale_chair_order_is_refused_as_a_conflict(admin_client, branch):
    a, b = ChairFactory(branch=branch, name="A"), ChairFactory(branch=branch, name="B")
    stranger = ChairFactory(name="Чужое")
    url = reverse("clinic:chairs-reorder", args=[branch.pk])
    assert admin_client.post(url, {"chair_ids": f"{b.pk}"}).status_code == 409
    assert admin_client.post(url, {"chair_ids": f"{b.pk},{a.pk},{stranger.pk}"}).status_code == 409
    assert chairs_of(branch) == ["A", "B"]
    assert admin_client.get(url).status_code == 405


def test_a_deleted_chair_goes_to_the_recycle_bin(admin_client, branch):
    chair = ChairFactory(branch=branch)
    response = admin_client.post(reverse("clinic:chair-delete", args=[chair.pk]))
    assert response.url == reverse("clinic:branch-detail", args=[branch.pk])
    assert Chair.all_objects.get(pk=chair.pk).is_deleted
    assert chairs_of(branch) == []
    # Deleted: its dialog is not found any more.
    assert admin_client.get(reverse("clinic:chair-delete", args=[chair.pk])).status_code == 404


def test_chair_changes_need_the_settings_change_right(client, branch):
    chair = ChairFactory(branch=branch)
    client.force_login(user_with_rights("settings_view", branch=branch))
    assert client.get(reverse("clinic:branch-detail", args=[branch.pk])).status_code == 200
    for url, data in [
        (reverse("clinic:chair-create", args=[branch.pk]), {"name": "X"}),
        (reverse("clinic:chair-rename", args=[chair.pk]), {"name": "X"}),
        (reverse("clinic:chair-delete", args=[chair.pk]), {}),
        (reverse("clinic:chairs-reorder", args=[branch.pk]), {"chair_ids": str(chair.pk)}),
    ]:
        assert client.post(url, data).status_code == 403, url
    assert chairs_of(branch) == [chair.name]


# --- Module settings ---------------------------------------------------------------------


@pytest.fixture
def reminder_preference():
    preference = preferences.register(
        preferences.Preference(
            "odontatest.reminder_hours",
            "home",
            "Remind hours before",
            lambda: forms.IntegerField(min_value=1, max_value=72),
            default=24,
        )
    )
    yield preference
    preferences._preferences.pop(preference.key, None)


def module_values(**overrides) -> dict:
    values = {p.key: preferences.get(p.key) for p in preferences.declared()}
    values.update(overrides)
    return values


def test_the_module_settings_page_shows_declared_settings_by_module(
    admin_client, reminder_preference
):
    response = admin_client.get(MODULES)
    assert response.status_code == 200
    groups = {
        group["module"].key: [f.name for f in group["fields"]]
        for group in response.context["groups"]
    }
    assert groups["home"] == ["odontatest.reminder_hours"]
    assert 'name="odontatest.reminder_hours"' in response.content.decode()
    assert 'value="24"' in response.content.decode()


def test_saving_module_settings_stores_and_audits_the_changed_ones(
    admin_client, admin_persona, reminder_preference, django_capture_on_commit_callbacks
):
    assert preferences.get("odontatest.reminder_hours") == 24
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            MODULES_SAVE, module_values(**{"odontatest.reminder_hours": 3})
        )
    assert response.status_code == 302
    assert preferences.get("odontatest.reminder_hours") == 3
    stored = PreferenceValue.objects.get(key="odontatest.reminder_hours")
    assert (stored.value, stored.updated_by) == (3, admin_persona.user)
    (entry,) = AuditEntry.objects.filter(object_repr="odontatest.reminder_hours")
    assert entry.changes == {"odontatest.reminder_hours": [24, 3]}
    assert admin_client.get(MODULES).context["form"]["odontatest.reminder_hours"].value() == 3


def test_an_invalid_module_setting_is_refused(admin_client, reminder_preference):
    response = admin_client.post(MODULES_SAVE, module_values(**{"odontatest.reminder_hours": 0}))
    assert response.status_code == 422
    assert "odontatest.reminder_hours" in response.context["form"].errors
    assert not PreferenceValue.objects.filter(key="odontatest.reminder_hours").exists()


def test_module_settings_saving_is_post_only_and_needs_the_change_right(
    admin_client, reminder_preference, branch
):
    assert admin_client.get(MODULES_SAVE).status_code == 405
    viewer = Client()
    viewer.force_login(user_with_rights("settings_view", branch=branch))
    assert viewer.get(MODULES).status_code == 200
    response = viewer.post(MODULES_SAVE, module_values(**{"odontatest.reminder_hours": 5}))
    assert response.status_code == 403
    assert preferences.get("odontatest.reminder_hours") == 24
