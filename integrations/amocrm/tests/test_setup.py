"""The amoCRM setup wizard, step by step, against the fake amoCRM: what each step saves
(the exact keys ``AmoSettings.of`` reads), what it creates in amoCRM, and its failures."""

import pytest

from clinic.models import Gender
from integrations.amocrm import setup
from integrations.amocrm.config import DEFAULT_WEBHOOK_EVENTS, LOST, WON, AmoSettings
from integrations.amocrm.tests.ui import connect_fake, login_with_rights, setup_url
from integrations.models import Connection, ConnectionStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(fake_amo):
    return connect_fake(fake_amo)


@pytest.fixture
def genders(db):
    male = Gender.objects.get_or_create(name="Мужской")[0]
    female = Gender.objects.get_or_create(name="Женский")[0]
    return male, female


def posted_initial(response) -> dict:
    """The form's suggestions as a POST body (what pressing "Save" unchanged sends)."""
    form = response.context["form"]
    return {name: value for name, value in form.initial.items() if value not in (None, "")}


def fresh(connection) -> dict:
    return Connection.objects.get(pk=connection.pk).settings


# --- a. The pipeline -----------------------------------------------------------------------


def test_the_pipeline_step_offers_live_pipelines_and_saves_the_choice(
    manager_client, fake_amo, connection
):
    second = next(p for p in fake_amo.state.pipelines.values() if not p["is_main"])
    archived = fake_amo.state.pipelines.setdefault(
        999, {**second, "id": 999, "name": "Архив", "is_archive": True}
    )
    response = manager_client.get(setup_url("pipeline"))
    assert response.status_code == 200
    choices = dict(response.context["form"].fields["pipeline"].choices)
    assert str(fake_amo.main_pipeline_id) in choices and str(archived["id"]) not in choices
    assert response.context["form"].initial["pipeline"] == str(fake_amo.main_pipeline_id)

    response = manager_client.post(setup_url("pipeline"), {"pipeline": str(second["id"])})

    assert response.status_code == 302
    assert response["Location"] == setup_url("fields")
    assert fresh(connection)["pipeline_id"] == second["id"]


@pytest.mark.parametrize("value", ["9" * 30, "-1", "abc", ""])
def test_a_pipeline_not_of_the_account_is_refused(manager_client, connection, value):
    response = manager_client.post(setup_url("pipeline"), {"pipeline": value})
    assert response.status_code == 422
    assert "pipeline_id" not in fresh(connection)


def test_another_pipeline_forgets_the_stage_mapping(manager_client, fake_amo, connection):
    connection.settings.update(
        pipeline_id=fake_amo.main_pipeline_id, status_to_stage={"planned": 1}, stage_to_status={}
    )
    connection.save()
    second = next(p for p in fake_amo.state.pipelines.values() if not p["is_main"])
    manager_client.post(setup_url("pipeline"), {"pipeline": str(second["id"])})
    assert "status_to_stage" not in fresh(connection)


# --- b. The fields -------------------------------------------------------------------------


def fields_post(fake, genders) -> dict:
    male, female = genders
    return {
        "birth_date": str(fake.field_id("contacts", "Дата рождения")),
        "gender": str(fake.field_id("contacts", "Пол")),
        f"gender_{male.pk}": str(fake.enum_id("contacts", "Пол", "Мужской")),
        f"gender_{female.pk}": str(fake.enum_id("contacts", "Пол", "Женский")),
        "lead_date": str(fake.field_id("leads", "Дата приёма")),
        "lead_doctor": str(fake.field_id("leads", "Врач")),
    }


def mis_id_fields(fake, entity: str) -> list[dict]:
    return [f for f in fake.state.fields[entity].values() if f.get("code") == "MIS_ID"]


def test_the_fields_step_creates_mis_id_and_saves_the_mapping(
    manager_client, fake_amo, connection, genders
):
    male, female = genders
    page = manager_client.get(setup_url("fields"))
    assert page.status_code == 200
    assert b"created when you save" in page.content

    response = manager_client.post(setup_url("fields"), fields_post(fake_amo, genders))

    assert response.status_code == 302
    assert response["Location"] == setup_url("statuses")
    (contact_mis,) = mis_id_fields(fake_amo, "contacts")
    (lead_mis,) = mis_id_fields(fake_amo, "leads")
    assert contact_mis["type"] == "text" and contact_mis["is_api_only"] is True
    saved = fresh(connection)
    assert saved["contact_fields"] == {
        "mis_id": contact_mis["id"],
        "birth_date": fake_amo.field_id("contacts", "Дата рождения"),
        "gender": fake_amo.field_id("contacts", "Пол"),
    }
    assert saved["gender_enums"] == {
        str(male.pk): fake_amo.enum_id("contacts", "Пол", "Мужской"),
        str(female.pk): fake_amo.enum_id("contacts", "Пол", "Женский"),
    }
    assert saved["lead_fields"] == {
        "mis_id": lead_mis["id"],
        "date": fake_amo.field_id("leads", "Дата приёма"),
        "doctor": fake_amo.field_id("leads", "Врач"),
    }
    amo = AmoSettings.of(Connection.objects.get(pk=connection.pk))
    assert amo.contact_fields == saved["contact_fields"]
    assert amo.lead_fields == saved["lead_fields"]


def test_creating_mis_id_again_creates_nothing(manager_client, fake_amo, connection, genders):
    manager_client.post(setup_url("fields"), fields_post(fake_amo, genders))
    creates = len([r for r in fake_amo.journal if r.method == "POST" and "custom_fields" in r.path])
    response = manager_client.post(setup_url("fields"), fields_post(fake_amo, genders))
    assert response.status_code == 302
    assert len(mis_id_fields(fake_amo, "contacts")) == 1
    assert len(mis_id_fields(fake_amo, "leads")) == 1
    again = len([r for r in fake_amo.journal if r.method == "POST" and "custom_fields" in r.path])
    assert again == creates == 2


def test_an_existing_mis_id_field_is_found_by_its_code(fake_amo, connection):
    existing = fake_amo.state.add_field("contacts", name="Номер карты", type="text", code="MIS_ID")
    with setup.AmoClient(connection) as client:
        found = setup.ensure_mis_id_field(client, "contacts", client.custom_fields("contacts"))
    assert found == existing["id"]


def test_the_fields_step_guesses_by_name_before_anything_is_saved(
    manager_client, fake_amo, connection, genders
):
    male, _female = genders
    initial = manager_client.get(setup_url("fields")).context["form"].initial
    assert initial["birth_date"] == fake_amo.field_id("contacts", "Дата рождения")
    assert initial["gender"] == fake_amo.field_id("contacts", "Пол")
    assert initial[f"gender_{male.pk}"] == fake_amo.enum_id("contacts", "Пол", "Мужской")
    assert initial["lead_date"] == fake_amo.field_id("leads", "Дата приёма")
    assert initial["lead_doctor"] == fake_amo.field_id("leads", "Врач")
    assert initial["lead_branch"] is None


def test_a_gender_option_of_another_field_is_refused(manager_client, fake_amo, connection, genders):
    male, _female = genders
    other = fake_amo.state.add_field("contacts", name="Пол 2", type="radiobutton", enums=("М", "Ж"))
    data = fields_post(fake_amo, genders)
    data[f"gender_{male.pk}"] = str(other["enums"][0]["id"])
    response = manager_client.post(setup_url("fields"), data)
    assert response.status_code == 422
    assert "contact_fields" not in fresh(connection)
    assert mis_id_fields(fake_amo, "contacts") == []  # nothing created for a refused form


def test_a_text_field_cannot_be_the_date_of_birth(manager_client, fake_amo, connection, genders):
    data = fields_post(fake_amo, genders)
    data["birth_date"] = str(fake_amo.field_id("contacts", "Должность"))
    assert manager_client.post(setup_url("fields"), data).status_code == 422


# --- c. The stages -------------------------------------------------------------------------


def test_the_stages_step_suggests_by_names_and_saves_both_ways(
    manager_client, fake_amo, connection
):
    connection.settings["pipeline_id"] = fake_amo.main_pipeline_id
    connection.save()
    stage = fake_amo.status_id
    page = manager_client.get(setup_url("statuses"))
    assert page.status_code == 200
    data = posted_initial(page)
    assert data["to_planned"] == stage("Записан")
    assert data["to_confirmed"] == stage("Подтверждён")
    assert data["to_arrived"] == stage("Пришёл")
    assert data["to_no_show"] == stage("Не пришёл")
    assert data["to_cancelled"] == stage("Отменён")
    assert data["to_completed"] == WON
    assert data[f"stage_{LOST}"] == "cancelled"
    data["to_cancelled"] = LOST
    reason = next(iter(fake_amo.state.loss_reasons))
    data["loss_reason"] = reason

    response = manager_client.post(setup_url("statuses"), data)

    assert response.status_code == 302
    assert response["Location"] == setup_url("users")
    saved = fresh(connection)
    assert saved["status_to_stage"]["planned"] == stage("Записан")
    assert saved["status_to_stage"]["cancelled"] == LOST
    assert saved["stage_to_status"][str(stage("Не пришёл"))] == "no_show"
    assert saved["stage_to_status"][str(WON)] == "completed"
    assert saved["loss_reason_id"] == reason
    amo = AmoSettings.of(Connection.objects.get(pk=connection.pk))
    assert amo.status_to_stage == saved["status_to_stage"]
    assert amo.stage_to_status == saved["stage_to_status"]


def test_several_stages_may_set_one_status(manager_client, fake_amo, connection):
    connection.settings["pipeline_id"] = fake_amo.main_pipeline_id
    connection.save()
    stage = fake_amo.status_id
    data = {
        f"stage_{stage('Отменён')}": "cancelled",
        f"stage_{LOST}": "cancelled",
        "to_completed": str(WON),
    }
    assert manager_client.post(setup_url("statuses"), data).status_code == 302
    assert fresh(connection)["stage_to_status"] == {
        str(stage("Отменён")): "cancelled",
        str(LOST): "cancelled",
    }


def test_closing_lost_needs_a_loss_reason(manager_client, fake_amo, connection):
    connection.settings["pipeline_id"] = fake_amo.main_pipeline_id
    connection.save()
    response = manager_client.post(setup_url("statuses"), {"to_no_show": str(LOST)})
    assert response.status_code == 422
    assert "status_to_stage" not in fresh(connection)


@pytest.mark.parametrize(
    "field,value", [("to_planned", "142142"), ("stage_1", "planned"), ("to_planned", "x" * 300)]
)
def test_a_stage_not_of_the_pipeline_is_refused(manager_client, fake_amo, connection, field, value):
    connection.settings["pipeline_id"] = fake_amo.main_pipeline_id
    connection.save()
    response = manager_client.post(setup_url("statuses"), {field: value})
    if field == "stage_1":  # not a field of this pipeline: ignored, nothing saved for it
        assert response.status_code == 302
        assert "1" not in fresh(connection)["stage_to_status"]
    else:
        assert response.status_code == 422


def test_the_stages_step_needs_the_pipeline_first(manager_client, connection):
    response = manager_client.get(setup_url("statuses"))
    assert response.status_code == 302
    assert response["Location"] == setup_url("pipeline")


def test_default_status_maps_by_stage_names():
    stages = [
        {"id": 10, "name": "Неразобранное", "type": 1},
        {"id": 11, "name": "Запись на приём", "type": 0},
        {"id": 12, "name": "Запись подтверждена", "type": 0},
        {"id": 13, "name": "Пациент на приёме", "type": 0},
        {"id": 14, "name": "Не пришёл", "type": 0},
        {"id": WON, "name": "Успешно реализовано"},
        {"id": LOST, "name": "Закрыто и не реализовано"},
    ]
    to_stage, from_stage = setup.default_status_maps(stages)
    assert to_stage == {
        "planned": 11,
        "confirmed": 12,
        "in_chair": 13,
        "completed": WON,
        "no_show": 14,
        "cancelled": LOST,
    }
    assert from_stage == {
        "11": "planned",
        "12": "confirmed",
        "13": "in_chair",
        "14": "no_show",
        str(WON): "completed",
        str(LOST): "cancelled",
    }


# --- d. The users --------------------------------------------------------------------------


def test_the_users_step_maps_employees_to_amocrm_users(
    manager_client, manager, fake_amo, connection, branch_elsewhere
):
    from clinic.tests.factories import EmployeeFactory

    elsewhere = EmployeeFactory(last_name="Чужакова")
    elsewhere.branches.set([branch_elsewhere])
    connection.settings["users"] = {str(elsewhere.pk): 42}
    connection.save()
    page = manager_client.get(setup_url("users"))
    assert page.status_code == 200
    assert f"employee_{manager.employee.pk}" in page.context["form"].fields
    assert f"employee_{elsewhere.pk}" not in page.context["form"].fields  # another branch's
    user_id = fake_amo.user_ids[1]

    response = manager_client.post(
        setup_url("users"), {f"employee_{manager.employee.pk}": str(user_id)}
    )

    assert response.status_code == 302
    assert fresh(connection)["users"] == {str(manager.employee.pk): user_id, str(elsewhere.pk): 42}


def test_an_unknown_amocrm_user_is_refused(manager_client, manager, connection):
    response = manager_client.post(setup_url("users"), {f"employee_{manager.employee.pk}": "777"})
    assert response.status_code == 422


# --- e. Who owns the data ------------------------------------------------------------------


def test_the_owners_step_saves_each_patient_field_s_owner(manager_client, connection):
    page = manager_client.get(setup_url("owners"))
    assert page.context["form"].initial["owner_gender"] == "amocrm"
    data = {
        "owner_full_name": "odonta",
        "owner_phone": "both",
        "owner_birth_date": "amocrm",
        "owner_gender": "both",
    }
    response = manager_client.post(setup_url("owners"), data)
    assert response.status_code == 302
    assert fresh(connection)["owners"] == {
        "full_name": "odonta",
        "phone": "both",
        "birth_date": "amocrm",
        "gender": "both",
    }


def test_an_unknown_owner_is_refused(manager_client, connection):
    response = manager_client.post(setup_url("owners"), {"owner_full_name": "everyone"})
    assert response.status_code == 422


# --- f. Finish -----------------------------------------------------------------------------


def ready(connection, fake):
    connection.settings.update(
        pipeline_id=fake.main_pipeline_id,
        contact_fields={"mis_id": 1},
        lead_fields={"mis_id": 2},
    )
    connection.save()


def test_finishing_registers_the_webhook_with_the_secret_path(manager_client, fake_amo, connection):
    ready(connection, fake_amo)
    response = manager_client.post(setup_url("finish"))
    assert response.status_code == 302
    saved = fresh(connection)
    secret = saved["webhook_secret"]
    assert len(secret) >= 40 and saved["setup_done"] is True
    destination = f"http://testserver/integrations/amocrm/hook/{secret}/"
    (hook,) = fake_amo.webhooks
    assert hook["destination"] == destination
    assert sorted(hook["settings"]) == sorted(DEFAULT_WEBHOOK_EVENTS)
    assert secret not in manager_client.get("/integrations/amocrm/").content.decode()


def test_finishing_again_replaces_our_webhook(manager_client, fake_amo, connection, settings):
    ready(connection, fake_amo)
    manager_client.post(setup_url("finish"))
    secret = fresh(connection)["webhook_secret"]
    settings.ODONTA_PUBLIC_URL = "https://mis.clinic.example"
    manager_client.post(setup_url("finish"))
    destinations = [hook["destination"] for hook in fake_amo.webhooks]
    assert destinations == [f"https://mis.clinic.example/integrations/amocrm/hook/{secret}/"]


def test_finishing_keeps_webhooks_of_others(manager_client, fake_amo, connection):
    ready(connection, fake_amo)
    with setup.AmoClient(Connection.objects.get(pk=connection.pk)) as client:
        client.webhook_add("https://other.example/hook", ["add_lead"])
    manager_client.post(setup_url("finish"))
    assert len(fake_amo.webhooks) == 2


def test_finishing_needs_the_earlier_steps(manager_client, fake_amo, connection):
    response = manager_client.post(setup_url("finish"))
    assert response.status_code == 409
    assert fake_amo.webhooks == []
    assert not fresh(connection).get("setup_done")


# --- amoCRM failing, and the wizard's guards -----------------------------------------------


def test_a_blocked_account_is_a_message_and_pauses_the_connection(
    manager_client, fake_amo, connection
):
    fake_amo.block()
    response = manager_client.get(setup_url("pipeline"))
    assert response.status_code == 502
    assert b"data-setup-error" in response.content
    assert Connection.objects.get(pk=connection.pk).status == ConnectionStatus.PAUSED


def test_a_revoked_token_is_a_message_and_asks_to_reconnect(manager_client, fake_amo, connection):
    fake_amo.revoke_all()
    response = manager_client.post(setup_url("fields"), {})
    assert response.status_code == 502
    assert "reconnect" in response.content.decode()
    assert Connection.objects.get(pk=connection.pk).status == ConnectionStatus.NEEDS_RECONNECT
    assert manager_client.get(setup_url("pipeline")).status_code == 302  # reconnect first


def test_amocrm_down_is_a_message_and_changes_nothing(manager_client, fake_amo, connection):
    fake_amo.fail_next(503, times=20)
    response = manager_client.get(setup_url("users"))
    assert response.status_code == 502
    assert "did not answer" in response.content.decode()
    assert Connection.objects.get(pk=connection.pk).status == ConnectionStatus.CONNECTED


def test_the_wizard_needs_a_connection(manager_client):
    response = manager_client.get(setup_url("pipeline"))
    assert response.status_code == 302
    assert response["Location"] == "/integrations/amocrm/"


def test_an_unknown_step_is_not_found(manager_client, connection):
    assert manager_client.get(setup_url("nonsense")).status_code == 404


def test_the_wizard_needs_the_right_to_change_settings(client, branch, connection):
    login_with_rights(client, branch, ("settings", "view"))
    assert client.get(setup_url("pipeline")).status_code == 403
    assert client.post(setup_url("owners"), {"owner_gender": "both"}).status_code == 403
    assert "owners" not in fresh(connection)


def test_nul_bytes_in_a_step_are_refused(manager_client, connection):
    response = manager_client.post(setup_url("owners"), {"owner_full_name": "both\x00"})
    assert response.status_code == 400


def test_each_step_is_audited_without_secrets(manager_client, fake_amo, connection):
    from clinic.models import AuditEntry

    ready(connection, fake_amo)
    manager_client.post(setup_url("finish"))
    secret = fresh(connection)["webhook_secret"]
    changes = AuditEntry.objects.filter(object_id=str(connection.pk)).values_list(
        "changes", flat=True
    )
    assert any("settings.setup_done" in c for c in changes)
    assert all(secret not in str(c) for c in changes)
