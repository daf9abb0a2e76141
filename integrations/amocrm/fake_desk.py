"""The fake amoCRM's "manager's desk" (``/`` of the fake): a bare page to act in the account
as a manager would in amoCRM's UI (add a contact, rename one, move a deal to a stage), so
``make run AMOCRM=fake`` can be tried both ways by hand. Each action goes through the
fake's ``ui_*`` helpers and sends the account's webhooks like the real UI."""

from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from integrations.amocrm import fake_widget
from integrations.fakes import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from integrations.amocrm.fake import FakeAmo


def _page(content: str) -> FakeResponse:
    head = (
        "<!doctype html><html lang='ru'><meta charset='utf-8'><title>amoCRM (fake)</title>"
        "<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px}form{display:inline}</style>"
    )
    return FakeResponse(
        200, f"{head}{content}</html>".encode(), {"Content-Type": "text/html; charset=utf-8"}
    )


def _back() -> FakeResponse:
    return FakeResponse(303, b"", {"Location": "/"})


def handle(fake: "FakeAmo", request: FakeRequest, path: str) -> FakeResponse | None:
    """The desk's answer, or None when ``path`` is not the desk's."""
    if path == "/" and request.method == "GET":
        return _page(_render(fake))
    if path == "/favicon.ico":
        return FakeResponse(204)
    if request.method != "POST" or not path.startswith("/desk/"):
        return None
    form = {
        key: values[-1] for key, values in parse_qs(request.body.decode("utf-8", "replace")).items()
    }
    try:
        if path == "/desk/contact":
            fake.ui_add_contact(form.get("name") or "Без имени", phone=form.get("phone") or None)
        elif path == "/desk/rename":
            fake.ui_update_contact(int(form["id"]), name=form.get("name") or "Без имени")
        elif path == "/desk/move":
            fake.ui_move_lead(int(form["id"]), int(form["status_id"]))
        else:
            return None
    except (KeyError, ValueError) as error:
        return _page(f"<p id='error'>{escape(str(error))}</p><p><a href='/'>Назад</a></p>")
    return _back()


def _value(fake: "FakeAmo", contact: dict, field: str) -> str:
    try:
        return str(fake.contact_field_value(contact, field) or "")
    except KeyError:  # the account has no such field (no MIS ID before the setup)
        return ""


def _render(fake: "FakeAmo") -> str:
    pipeline = fake.state.pipelines[fake.main_pipeline_id]
    stages = [s for s in pipeline["statuses"] if s["type"] == 0 or s["id"] in (142, 143)]
    names = {s["id"]: s["name"] for s in pipeline["statuses"]}
    rows = []
    for contact in sorted(fake.contacts.values(), key=lambda c: -c["id"])[:50]:
        phone = _value(fake, contact, "PHONE")
        mis_id = _value(fake, contact, "MIS_ID")
        rows.append(
            f"<tr data-contact='{contact['id']}'><td>{contact['id']}</td>"
            f"<td>{escape(contact['name'])}</td><td>{escape(phone)}</td>"
            f"<td>{escape(mis_id)}</td><td><form method='post' action='/desk/rename'>"
            f"<input type='hidden' name='id' value='{contact['id']}'>"
            f"<input name='name' value='{escape(contact['name'])}' size='30'>"
            f"<button>Сохранить</button></form></td></tr>"
        )
    deals = []
    for lead in sorted(fake.leads.values(), key=lambda deal: -deal["id"])[:50]:
        options = "".join(
            f"<option value='{s['id']}'{' selected' if s['id'] == lead['status_id'] else ''}>"
            f"{escape(s['name'])}</option>"
            for s in stages
        )
        deals.append(
            f"<tr data-lead='{lead['id']}'>"
            f"<td><a href='/leads/detail/{lead['id']}'>{lead['id']}</a></td>"
            f"<td>{escape(lead['name'])}</td>"
            f"<td>{lead.get('price') or 0}</td>"
            f"<td data-stage>{escape(names.get(lead['status_id'], str(lead['status_id'])))}</td>"
            f"<td><form method='post' action='/desk/move'>"
            f"<input type='hidden' name='id' value='{lead['id']}'><select name='status_id'>"
            f"{options}</select><button>Перевести</button></form></td></tr>"
        )
    return (
        f"<h1>amoCRM (fake) #{fake.account_id}</h1>"
        "<h2>Новый контакт</h2><form method='post' action='/desk/contact'>"
        "<input name='name' placeholder='Фамилия Имя Отчество' size='30'> "
        "<input name='phone' placeholder='+7 9xx xxx-xx-xx'> <button id='add'>Добавить</button>"
        "</form><h2>Контакты</h2><table><tr><th>id</th><th>Имя</th><th>Телефон</th>"
        f"<th>MIS ID</th><th></th></tr>{''.join(rows)}</table>"
        "<h2>Сделки</h2><table><tr><th>id</th><th>Название</th><th>Бюджет</th><th>Этап</th>"
        f"<th></th></tr>{''.join(deals)}</table>{fake_widget.desk_section(fake)}"
    )
