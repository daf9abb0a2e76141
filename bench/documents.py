"""How fast documents print: one template, and the first-visit pack, for a real patient.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/odonta_bench .venv/bin/python bench/documents.py
    .venv/bin/python bench/documents.py --runs 50 --write    # and keep the result in bench/results/

Reads DATABASE_URL (a seeded database: the bench's, or the demo's; any size will do, the
work is per document). Everything it writes (templates, printed copies, audit entries) is
rolled back, and the PDFs go to a temporary MEDIA_ROOT.

It times, after one warm-up (the first document of a process also loads the fonts, and is
reported apart): *render*, a template filled for the patient and turned into a PDF by the
renderer (``documents.services.render_templates``), and *print*, what the card's Print
does (``documents.services.documents_print``: render, store each copy, audit, publish). The
two-page document is a contract built here to fill two A4 pages with the patient's data,
so that runs compare whatever templates the installation has; the pack is the
installation's first-visit pack (``documents/defaults``) when it has one, else three
templates built here (the contract, a consent, the personal-data consent).

Targets (issue 12): a two-page document under 300 ms, the first-visit pack under 1 s.
"""

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import translation  # noqa: E402

from clinic.models import User  # noqa: E402
from documents import services  # noqa: E402
from documents.context import build_context  # noqa: E402
from documents.default_templates import ensure_default_templates, ensure_document_types  # noqa: E402
from documents.models import DocumentType, Pack, Template  # noqa: E402
from patients.models import Patient  # noqa: E402

TARGETS_MS = {"one": 300, "pack": 1000}

CLAUSE = (
    "<p>{n}. Исполнитель оказывает Пациенту ({{{{fio}}}}, {{{{birth_date}}}} г. р.) платные "
    "медицинские услуги в соответствии с лицензией № {{{{license_number}}}} от "
    "{{{{license_date}}}}, а Пациент оплачивает их в порядке и в сроки, установленные "
    "настоящим Договором и прейскурантом Исполнителя, действующим на дату оказания услуги. "
    "Стороны подтверждают, что <strong>ознакомились</strong> с условиями и <em>согласны</em> "
    "с ними.</p>"
)
CONTRACT = (
    "<h1>Договор на оказание платных медицинских услуг № {{card_number}}</h1>"
    '<p style="text-align:right">{{today_long}}</p>'
    "<p>{{company_name}}, в лице {{company_director}}, и {{fio}}, паспорт {{doc_series}} "
    "{{doc_number}}, адрес: {{address}}, заключили настоящий договор.</p>"
    + "".join(CLAUSE.format(n=n) for n in range(1, 13))
    + "<table><tr><th>Исполнитель</th><th>Пациент</th></tr>"
    "<tr><td>{{company_name}}<br>ИНН {{company_inn}}<br>{{company_bank}}</td>"
    "<td>{{fio}}<br>{{phone}}<br>СНИЛС {{snils}}</td></tr></table>"
)
CONSENT = (
    "<h2>Информированное добровольное согласие</h2><p>Я, {{fio}}, {{birth_date}} г. р., "
    "получил(а) полную информацию о предстоящем вмешательстве.</p>"
    + "".join(CLAUSE.format(n=n) for n in range(1, 6))
    + "<p>{{today}} ____________ {{fio_short}}</p>"
)
PD_CONSENT = (
    "<h2>Согласие на обработку персональных данных</h2><p>Я, {{fio}}, паспорт {{doc_series}} "
    "{{doc_number}}, выдан {{doc_issued_by}} {{doc_issued_date}}, даю согласие "
    "{{company_name}} на обработку моих персональных данных.</p>"
    + "".join(CLAUSE.format(n=n) for n in range(1, 4))
    + "<p>{{today}} ____________ {{fio_short}}</p>"
)


def make(name: str, body: str, code: str) -> Template:
    return services.template_create(
        by=None,
        data={
            "name": name,
            "document_type": DocumentType.all_objects.get(code=code),
            "page_size": "A4",
            "packs": [],
        },
        body=body,
    )


def summary(times: list[float]) -> dict:
    ordered = sorted(times)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1),
        "max": round(ordered[-1], 1),
    }


def timed(action, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def measure(runs: int) -> dict:
    patient = (
        Patient.objects.exclude(passport_number="")
        .select_related("attending_doctor", "branch", "gender")
        .order_by("pk")
        .first()
        or Patient.objects.order_by("pk").first()
    )
    if patient is None:
        raise SystemExit("The database has no patients: seed it first (seed_demo or seed_scale).")
    user = User.objects.filter(is_superuser=True).order_by("pk").first()
    ensure_document_types()
    ensure_default_templates()
    contract = make("Договор (бенчмарк)", CONTRACT, "contract")
    pack = [
        t for t in Template.objects.select_related("current_version") if t.in_pack(Pack.FIRST_VISIT)
    ]
    pack_source = "the installation's first-visit pack"
    if not pack:
        pack_source = "three templates built here"
        pack = [
            contract,
            make("ИДС (бенчмарк)", CONSENT, "informed_consent"),
            make("Согласие на обработку ПД (бенчмарк)", PD_CONSENT, "pd_consent"),
        ]

    def context():
        return build_context(patient, user=user, branch=patient.branch)

    started = time.perf_counter()
    [first] = services.render_templates([contract], context())
    cold_ms = (time.perf_counter() - started) * 1000
    pack_pages = sum(r.pages for r in services.render_templates(pack, context()))

    def print_one():
        services.documents_print(patient=patient, templates=[contract], context=context(), by=user)

    def print_pack():
        services.documents_print(patient=patient, templates=pack, context=context(), by=user)

    return {
        "patient_id": patient.pk,
        "first_document_ms": round(cold_ms, 1),
        "one": {
            "pages": first.pages,
            "render_ms": summary(
                timed(lambda: services.render_templates([contract], context()), runs)
            ),
            "print_ms": summary(timed(print_one, runs)),
            "target_ms": TARGETS_MS["one"],
        },
        "pack": {
            "source": pack_source,
            "documents": [t.name for t in pack],
            "pages": pack_pages,
            "render_ms": summary(timed(lambda: services.render_templates(pack, context()), runs)),
            "print_ms": summary(timed(print_pack, runs)),
            "target_ms": TARGETS_MS["pack"],
        },
    }


def report(result: dict, facts: dict) -> str:
    lines = [
        f"# Documents: rendering and printing ({facts['date']})",
        "",
        f"Database `{facts['database']}` ({facts['vendor']}), commit `{facts['git']}`, "
        f"{facts['runs']} runs after a warm-up, on {facts['cpus']} cores "
        f"(load average {facts['load']}). The first document of a process took "
        f"{result['first_document_ms']} ms (fonts loaded once).",
        "",
        "| what | pages | render p50 / p95 ms | print p50 / p95 ms | target ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, title in (("one", "a two-page contract"), ("pack", "the first-visit pack")):
        row = result[key]
        render, printed = row["render_ms"], row["print_ms"]
        mark = "" if printed["p95"] < row["target_ms"] else " **(missed)**"
        lines.append(
            f"| {title} | {row['pages']} | {render['p50']} / {render['p95']} | "
            f"{printed['p50']} / {printed['p95']}{mark} | {row['target_ms']} |"
        )
    pack = result["pack"]
    lines += ["", f"The pack ({pack['source']}): " + ", ".join(pack["documents"]) + "."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--write", action="store_true", help="Also write bench/results/.")
    args = parser.parse_args()
    settings.MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="odonta-bench-documents-"))
    with translation.override("ru"), transaction.atomic():
        result = measure(args.runs)
        transaction.set_rollback(True)
    import subprocess

    facts = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "database": connection.settings_dict["NAME"],
        "vendor": connection.vendor,
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "load": " ".join(f"{value:.1f}" for value in os.getloadavg()),
    }
    text = report(result, facts)
    print(text)
    print(json.dumps({**facts, **result}, ensure_ascii=False, indent=2))
    if args.write:
        day = datetime.datetime.now().astimezone().date()
        stem = ROOT / "bench" / "results" / f"{day:%Y-%m-%d}-documents"
        stem.with_suffix(".md").write_text(text, encoding="utf-8")
        stem.with_suffix(".json").write_text(
            json.dumps({**facts, **result}, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        print(f"Wrote {stem.with_suffix('.md').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
