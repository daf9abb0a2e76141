"""The clinical record's scenarios (issue 10): the chart tab of a patient with ten years of
history, a diagnosis saved on two teeth, and "Suggest" on a draft plan of that patient
ranking 50 plan templates. A doctor of the measured branch makes the requests (the front
desk has no clinical rights). The templates and the draft plan are made before the timing
(once: they stay in the bench database).

Targets at size L: reads under 80 ms at p95, writes under 150 ms.
"""

import json
from typing import Any

import httpx
import psycopg
from harness import Client
from scenarios import Context, Scenario

# The tab and its buttons ask through htmx, as the card does.
HTMX = {"HX-Request": "true"}

# Two teeth of one jaw, as a doctor selects them on the chart.
TOOTH_PAIRS = [(16, 17), (26, 27), (36, 37), (46, 47), (14, 15), (24, 25), (34, 35), (44, 45)]


def doctor_client(ctx: Context) -> Client:
    """Logged in as a doctor of the branch (cached on the context)."""
    if "doctor_client" not in ctx.cache:
        username = ctx.db.execute(
            "SELECT u.username FROM clinic_user u JOIN clinic_employee e ON e.user_id = u.id "
            "WHERE e.id = ANY(%s) AND u.is_active ORDER BY e.id LIMIT 1",
            [ctx.doctors],
        ).fetchone()[0]
        client = Client(ctx.client.base_url)
        client.login(username)
        ctx.cache["doctor_client"] = client
    return ctx.cache["doctor_client"]


def long_history_patient(ctx: Context) -> int:
    """The patient whose chart goes back furthest (seed_scale gives one ten years)."""
    if "long_history" not in ctx.cache:
        ctx.cache["long_history"] = ctx.db.execute(
            "SELECT patient_id FROM clinical_toothrecord ORDER BY recorded_at, id LIMIT 1"
        ).fetchone()[0]
    return ctx.cache["long_history"]


def floor_chart(db: psycopg.Connection, pk: int) -> Any:
    patient = db.execute(
        "SELECT id, last_name, first_name, middle_name, birth_date, branch_id "
        "FROM patients_patient WHERE id = %s AND deleted_at IS NULL",
        [pk],
        prepare=True,
    ).fetchone()
    records = db.execute(
        "SELECT r.id, r.tooth, r.surfaces, r.state, r.recorded_at, d.code, d.name "
        "FROM clinical_toothrecord r LEFT JOIN clinical_diagnosis d ON d.id = r.diagnosis_id "
        "WHERE r.patient_id = %s AND r.removed_at IS NULL ORDER BY r.tooth, r.recorded_at, r.id",
        [pk],
        prepare=True,
    ).fetchall()
    choices = db.execute(
        "SELECT id, code, name FROM clinical_diagnosis ORDER BY code", prepare=True
    ).fetchall()
    return patient, records, choices


def chart_save_params(ctx: Context, count: int) -> list[tuple[int, tuple[int, int], int]]:
    caries = ctx.db.execute("SELECT id FROM clinical_diagnosis WHERE code = 'K02.1'").fetchone()[0]
    return [
        (ctx.rng.choice(ctx.patients)[0], ctx.rng.choice(TOOTH_PAIRS), caries) for _ in range(count)
    ]


def call_chart_save(ctx: Context):
    def call(_client: Client, param: tuple[int, tuple[int, int], int]) -> httpx.Response:
        patient, teeth, diagnosis = param
        return doctor_client(ctx).post(
            f"/clinical/patients/{patient}/chart/records/",
            headers=dict(HTMX),
            data={
                "teeth": [str(tooth) for tooth in teeth],
                "dentition": "permanent",
                "diagnosis": str(diagnosis),
                "state": "caries",
            },
        )

    return call


def floor_chart_save(ctx: Context):
    def floor(db: psycopg.Connection, param: tuple[int, tuple[int, int], int]) -> Any:
        """The two records and the event, rolled back."""
        patient, teeth, diagnosis = param
        with db.transaction(force_rollback=True):
            for tooth in teeth:
                db.execute(
                    "INSERT INTO clinical_toothrecord (patient_id, tooth, surfaces, diagnosis_id, "
                    "state, recorded_at, recorded_by_id) VALUES (%s, %s, '', %s, 'caries', now(), "
                    "%s)",
                    [patient, tooth, diagnosis, ctx.user_id],
                    prepare=True,
                )
            db.execute(
                "INSERT INTO clinic_outboxevent (name, aggregate_type, aggregate_id, payload, "
                "created_at, delivered_to, attempts, last_error) VALUES "
                "('chart.diagnosis_added', 'patients.patient', %s, %s, now(), '[]', 0, '')",
                [str(patient), json.dumps({"patient_id": patient, "teeth": list(teeth)})],
                prepare=True,
            )
            return floor_chart(db, patient)

    return floor


# Diagnoses the bench's templates cover, a few each (the ten-year patient's chart has them).
TEMPLATE_CODES = ["K02.0", "K02.1", "K04.0", "K04.5", "K05.3", "K08.1", "K03.6", "K07.3"]
TEMPLATES = 50


def ensure_templates(ctx: Context) -> None:
    """Fifty active plan templates named "Bench template N", each with two or three of the
    common diagnoses and three services of the price list."""
    db = ctx.db
    have = db.execute(
        "SELECT count(*) FROM clinical_plantemplate WHERE name LIKE 'Bench template %%'"
    ).fetchone()[0]
    if have >= TEMPLATES:
        return
    diagnoses = [r[0] for r in db.execute(
        "SELECT id FROM clinical_diagnosis WHERE code = ANY(%s) ORDER BY code", [TEMPLATE_CODES]
    )]  # fmt: skip
    services = [r[0] for r in db.execute(
        "SELECT id FROM pricelist_service WHERE deleted_at IS NULL ORDER BY id LIMIT 60"
    )]  # fmt: skip
    profession = db.execute(
        "SELECT id FROM clinic_profession WHERE kind = 'doctor' ORDER BY id LIMIT 1"
    ).fetchone()[0]
    rng = ctx.rng
    with db.transaction():
        for number in range(have + 1, TEMPLATES + 1):
            template = db.execute(
                "INSERT INTO clinical_plantemplate (name, position, created_at, description) "
                "VALUES (%s, %s, now(), '') RETURNING id",
                [f"Bench template {number}", number],
            ).fetchone()[0]
            for diagnosis in rng.sample(diagnoses, rng.choice([2, 3])):
                db.execute(
                    "INSERT INTO clinical_plantemplate_diagnoses (plantemplate_id, diagnosis_id) "
                    "VALUES (%s, %s)",
                    [template, diagnosis],
                )
            for position, service in enumerate(rng.sample(services, 3), start=1):
                db.execute(
                    "INSERT INTO clinical_plantemplateline (template_id, service_id, "
                    "profession_id, hours, quantity, position) VALUES (%s, %s, %s, 1, 1, %s)",
                    [template, service, profession, position],
                )


def suggest_params(ctx: Context, count: int) -> list[tuple[int, list[int]]]:
    """A draft plan of the ten-year patient and their current diagnosed records, ticked."""
    ensure_templates(ctx)
    patient = long_history_patient(ctx)
    doctor = doctor_client(ctx)
    plan = ctx.db.execute(
        "SELECT id FROM clinical_treatmentplan WHERE patient_id = %s AND status = 'draft' "
        "ORDER BY id LIMIT 1",
        [patient],
    ).fetchone()
    if plan is None:
        doctor.post(f"/clinical/patients/{patient}/plans/new/", data={}).raise_for_status()
        plan = ctx.db.execute(
            "SELECT id FROM clinical_treatmentplan WHERE patient_id = %s AND status = 'draft' "
            "ORDER BY id LIMIT 1",
            [patient],
        ).fetchone()
    records = [r[0] for r in ctx.db.execute(
        "SELECT id FROM clinical_toothrecord WHERE patient_id = %s AND removed_at IS NULL "
        "AND diagnosis_id IS NOT NULL ORDER BY id LIMIT 6",
        [patient],
    )]  # fmt: skip
    return [(plan[0], records)] * count


def floor_suggest(db: psycopg.Connection, param: tuple[int, list[int]]) -> Any:
    plan, records = param
    head = db.execute(
        "SELECT p.id, p.patient_id, p.status, p.number FROM clinical_treatmentplan p "
        "WHERE p.id = %s",
        [plan],
        prepare=True,
    ).fetchone()
    ticked = db.execute(
        "SELECT id, tooth, diagnosis_id FROM clinical_toothrecord WHERE id = ANY(%s) "
        "AND patient_id = %s AND removed_at IS NULL AND diagnosis_id IS NOT NULL",
        [records, head[1]],
        prepare=True,
    ).fetchall()
    templates = db.execute(
        "SELECT t.id, t.name, t.description, array_agg(td.diagnosis_id) "
        "FROM clinical_plantemplate t JOIN clinical_plantemplate_diagnoses td "
        "ON td.plantemplate_id = t.id WHERE t.deleted_at IS NULL GROUP BY t.id",
        prepare=True,
    ).fetchall()
    lines = db.execute(
        "SELECT id, stage_id, service_id, tooth, quantity, price FROM clinical_planline "
        "WHERE plan_id = %s ORDER BY position, id",
        [plan],
        prepare=True,
    ).fetchall()
    return head, ticked, templates, lines


def clinical_scenarios(ctx: Context) -> list[Scenario]:
    return [
        Scenario(
            "clinical.chart",
            "Dental chart tab of a patient with ten years of history",
            80,
            lambda c, n: [long_history_patient(c)] * n,
            lambda _client, pk: doctor_client(ctx).get(
                f"/clinical/patients/{pk}/chart/", headers=dict(HTMX)
            ),
            floor_chart,
            note="the patient's current records with diagnoses, and the ICD-10 picker",
        ),
        Scenario(
            "clinical.chart_save",
            "Save a diagnosis on two teeth (POST chart records)",
            150,
            chart_save_params,
            call_chart_save(ctx),
            floor_chart_save(ctx),
            kind="write",
            note="floor: two tooth records and the event, rolled back, and the chart read again",
        ),
        Scenario(
            "clinical.suggest",
            "Suggest a plan: 50 templates ranked for the ticked diagnoses (GET plan suggest)",
            80,
            suggest_params,
            lambda _client, param: doctor_client(ctx).get(
                f"/clinical/plans/{param[0]}/suggest/",
                params=[("records", str(record)) for record in param[1]],
                headers=dict(HTMX),
            ),
            floor_suggest,
            note="as the page asks (htmx): the ranking alone, all 50 ranked and the best ten "
            "shown; floor: the plan, the ticked records, the templates with their diagnoses, "
            "the plan's lines",
        ),
    ]
