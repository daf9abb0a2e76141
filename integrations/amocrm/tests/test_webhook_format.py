"""Odonta's parser of amoCRM's webhook bodies, on bodies written by hand from the spec."""

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.amocrm.fake import FakeAmo
from integrations.amocrm.webhook_format import (
    AmoEvent,
    custom_fields,
    parse_brackets,
    parse_webhook,
)

ACCOUNT = (
    "account%5Bsubdomain%5D=clinic&account%5Bid%5D=17769199"
    "&account%5B_links%5D%5Bself%5D=https%3A%2F%2Fclinic.amocrm.ru"
)


def body(*pairs: str) -> str:
    """Pairs written with plain brackets (valid in a form body too), then the account."""
    return "&".join(pairs) + "&" + ACCOUNT


# As amoCRM sends it: brackets and Cyrillic percent-encoded.
STATUS_CHANGE = (
    "leads%5Bstatus%5D%5B0%5D%5Bid%5D=25399013"
    "&leads%5Bstatus%5D%5B0%5D%5Bname%5D=%D0%A7%D0%B8%D1%81%D1%82%D0%BA%D0%B0"
    "&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142"
    "&leads%5Bstatus%5D%5B0%5D%5Bold_status_id%5D=7039101"
    "&leads%5Bstatus%5D%5B0%5D%5Bprice%5D=22500"
    "&leads%5Bstatus%5D%5B0%5D%5Bresponsible_user_id%5D=8000002"
    "&leads%5Bstatus%5D%5B0%5D%5Blast_modified%5D=1751892369"
    "&leads%5Bstatus%5D%5B0%5D%5Bmodified_user_id%5D=8000002"
    "&leads%5Bstatus%5D%5B0%5D%5Bcreated_user_id%5D=8000001"
    "&leads%5Bstatus%5D%5B0%5D%5Bdate_create%5D=1751800000"
    "&leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=9217056"
    "&leads%5Bstatus%5D%5B0%5D%5Baccount_id%5D=17769199"
    "&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bid%5D=66339"
    "&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bname%5D="
    "%D0%98%D1%81%D1%82%D0%BE%D1%87%D0%BD%D0%B8%D0%BA"
    "&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bvalues%5D%5B0%5D%5Bvalue%5D="
    "%D0%A1%D0%B0%D0%B9%D1%82"
    "&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bvalues%5D%5B0%5D%5Benum%5D=139517"
    "&leads%5Bstatus%5D%5B0%5D%5Bcreated_at%5D=1751800000"
    "&leads%5Bstatus%5D%5B0%5D%5Bupdated_at%5D=1751892369"
    "&" + ACCOUNT
)


def test_a_status_change_with_a_custom_field():
    hook = parse_webhook(STATUS_CHANGE)

    assert (hook.account_id, hook.subdomain) == (17769199, "clinic")
    (event,) = hook.events
    assert (event.entity, event.action, event.id) == ("lead", "status", 25399013)
    data = event.data
    assert (data["status_id"], data["old_status_id"], data["pipeline_id"]) == (
        142,
        7039101,
        9217056,
    )
    assert (data["price"], data["modified_user_id"], data["updated_at"]) == (
        22500,
        8000002,
        1751892369,
    )
    assert data["last_modified"] == 1751892369
    assert data["name"] == "Чистка"
    assert data["custom_fields"] == [
        {"id": 66339, "name": "Источник", "code": "", "values": [{"value": "Сайт", "enum": 139517}]}
    ]


def test_two_contacts_and_a_lead_in_one_body():
    hook = parse_webhook(
        body(
            "contacts[add][0][id]=40401635",
            "contacts[add][0][name]=Иван Петров",
            "contacts[add][0][type]=contact",
            "contacts[add][1][id]=40401636",
            "contacts[add][1][name]=Анна",
            "contacts[add][1][type]=contact",
            "leads[add][0][id]=25399013",
            "leads[add][0][status_id]=32392157",
            "leads[add][0][pipeline_id]=3177727",
        )
    )
    assert [(e.entity, e.action, e.id) for e in hook.events] == [
        ("contact", "add", 40401635),
        ("contact", "add", 40401636),
        ("lead", "add", 25399013),
    ]
    assert hook.events[0].data["name"] == "Иван Петров"


def test_a_date_field_with_a_bare_value_and_a_phone_with_several():
    hook = parse_webhook(
        body(
            "contacts[update][0][id]=40401635",
            "contacts[update][0][custom_fields][0][id]=957681",
            "contacts[update][0][custom_fields][0][name]=Телефон",
            "contacts[update][0][custom_fields][0][code]=PHONE",
            "contacts[update][0][custom_fields][0][values][0][value]=%2B79991112233",
            "contacts[update][0][custom_fields][0][values][0][enum]=1230737",
            "contacts[update][0][custom_fields][0][values][1][value]=89994445566",
            "contacts[update][0][custom_fields][0][values][1][enum]=1230739",
            "contacts[update][0][custom_fields][1][id]=957684",
            "contacts[update][0][custom_fields][1][name]=Дата рождения",
            "contacts[update][0][custom_fields][1][values][0]=1729717200",
        )
    )
    (event,) = hook.events
    phone, birthday = event.data["custom_fields"]
    assert phone["code"] == "PHONE"
    assert phone["values"] == [
        {"value": "+79991112233", "enum": 1230737},
        {"value": "89994445566", "enum": 1230739},
    ]
    assert birthday == {
        "id": 957684,
        "name": "Дата рождения",
        "code": "",
        "values": [{"value": "1729717200", "enum": None}],
    }


def test_modified_user_id_0_is_kept_as_0():
    hook = parse_webhook(body("leads[update][0][id]=7", "leads[update][0][modified_user_id]=0"))
    assert hook.events[0].data["modified_user_id"] == 0


def test_deletes_carry_only_ids():
    hook = parse_webhook(
        body(
            "leads[delete][0][id]=25399013",
            "leads[delete][0][status_id]=142",
            "leads[delete][0][pipeline_id]=3177727",
            "contacts[delete][0][id]=40401635",
            "contacts[delete][0][type]=contact",
        )
    )
    assert hook.events == [
        AmoEvent(
            "lead", "delete", 25399013, {"id": 25399013, "status_id": 142, "pipeline_id": 3177727}
        ),
        AmoEvent("contact", "delete", 40401635, {"id": 40401635, "type": "contact"}),
    ]


def test_a_company_arrives_under_contacts():
    hook = parse_webhook(
        body(
            "contacts[add][0][id]=5001",
            "contacts[add][0][name]=ООО Улыбка",
            "contacts[add][0][type]=company",
        )
    )
    assert [(e.entity, e.action, e.id) for e in hook.events] == [("company", "add", 5001)]


def test_a_radiobutton_object_and_fields_keyed_by_id():
    hook = parse_webhook(
        body(
            "leads[update][0][id]=9",
            "leads[update][0][custom_fields][957700][id]=957700",
            "leads[update][0][custom_fields][957700][name]=Тип визита",
            "leads[update][0][custom_fields][957700][values][value]=Первичный",
            "leads[update][0][custom_fields][957700][values][enum]=1230750",
        )
    )
    assert hook.events[0].data["custom_fields"] == [
        {
            "id": 957700,
            "name": "Тип визита",
            "code": "",
            "values": [{"value": "Первичный", "enum": 1230750}],
        }
    ]


def test_responsible_notes_tasks_and_unknown_groups():
    hook = parse_webhook(
        body(
            "leads[responsible][0][id]=3",
            "leads[responsible][0][responsible_user_id]=8000003",
            "leads[responsible][0][old_responsible_user_id]=8000002",
            "leads[note][0][note][id]=77",
            "leads[note][0][note][text]=Перезвонить",
            "leads[note][0][note][note_type]=4",
            "leads[note][0][note][element_type]=2",
            "leads[note][0][note][element_id]=3",
            "task[add][0][id]=15",
            "task[add][0][element_id]=3",
            "talk[add][0][talk_id]=abc",
            "widgets[install][0][code]=x",
        )
    )
    events = [(e.entity, e.action, e.id) for e in hook.events]
    assert events == [
        ("lead", "responsible", 3),
        ("lead", "note", 3),
        ("task", "add", 15),
        ("talk", "add", 0),
        ("widgets", "install", 0),
    ]
    assert hook.events[0].data["old_responsible_user_id"] == 8000002
    assert hook.events[1].data["note"]["element_id"] == 3
    assert hook.events[1].data["note"]["text"] == "Перезвонить"


def test_custom_fields_accepts_every_shape():
    assert custom_fields(None) == []
    assert custom_fields("junk") == []
    assert custom_fields([{"id": "x"}, "junk", {"id": "5", "values": "bare"}]) == [
        {"id": 5, "name": "", "code": "", "values": [{"value": "bare", "enum": None}]}
    ]
    assert custom_fields([{"id": "6", "values": {"0": {"value": "a"}, "x": "b"}}])[0]["values"] == [
        {"value": "a", "enum": None},
        {"value": "b", "enum": None},
    ]


# --- parse_brackets and hostile input ---------------------------------------------------------


def test_brackets_make_lists_in_index_order_and_append():
    assert parse_brackets("a[2]=c&a[0]=a&a[1]=b") == {"a": ["a", "b", "c"]}
    assert parse_brackets("a[]=x&a[]=y&a[5]=z&a[]=w") == {"a": ["x", "y", "z", "w"]}
    assert parse_brackets("a[01]=x&a[1]=y") == {"a": {"01": "x", "1": "y"}}
    assert parse_brackets("a[10001]=x") == {"a": {"10001": "x"}}
    assert parse_brackets(b"a[b][c]=1&a[b][d]=2") == {"a": {"b": {"c": "1", "d": "2"}}}
    assert parse_brackets("") == {}
    assert parse_brackets("0=a&1=b") == {"0": "a", "1": "b"}  # the top is never a list


def test_junk_keys_are_skipped_or_cut_as_php_does():
    assert parse_brackets("a[b=1&c=2") == {"a": "1", "c": "2"}
    assert parse_brackets("a[b]junk[c]=1") == {"a": {"b": "1"}}
    assert parse_brackets("[x]=1&=2&b=3") == {"b": "3"}
    assert parse_brackets("a=1&a[b]=2") == {"a": {"b": "2"}}
    assert parse_brackets("a[b]=2&a=1") == {"a": "1"}
    assert parse_brackets("a" + "[x]" * 40 + "=1&b=2") == {"b": "2"}


def test_nul_bytes_bad_escapes_and_huge_indexes_do_not_break_it():
    assert parse_brackets("a%00b=c%00d&e\x00=f") == {"ab": "cd", "e": "f"}
    assert parse_brackets("a=%ff%zz") == {"a": "\ufffd%zz"}
    huge = "9" * 5000
    assert parse_brackets(f"leads[add][{huge}][id]=1") == {"leads": {"add": {huge: {"id": "1"}}}}
    hook = parse_webhook(f"leads[add][{huge}][id]={huge}&leads[add][0][id]=-5")
    assert hook.events == []


def test_bodies_that_are_not_form_encoded_are_refused():
    for text in ('{"leads": {}}', "[1, 2]", "<html><body>hi</body></html>", "just words"):
        with pytest.raises(ValueError, match="not form-encoded"):
            parse_brackets(text)
    with pytest.raises(ValueError):
        parse_webhook('{"leads": []}')


def test_sizes_are_capped():
    many = "&".join(f"leads[add][{n % 5000}][id]={n + 1}" for n in range(1500))
    assert len(parse_webhook(many).events) == 1000
    flood = "a[]=1&" * 60_000
    assert len(parse_brackets(flood)["a"]) == 10_001


KEYISH = st.text(alphabet=st.sampled_from("ab01[]=&%5Bx\x00 ые+{<"), max_size=80)


@settings(max_examples=200, deadline=None)
@given(st.one_of(KEYISH, st.text(max_size=80), st.binary(max_size=80)))
def test_any_text_parses_or_is_refused_with_value_error(text):
    try:
        hook = parse_webhook(text)
    except ValueError:
        return
    assert all(isinstance(event.id, int) for event in hook.events)


# --- Against the fake's bodies ----------------------------------------------------------------


def test_the_fakes_bodies_parse_back():
    with FakeAmo(rps=None) as fake:
        fake.hooks.webhooks[1] = {
            "id": 1,
            "destination": "http://127.0.0.1:9/",
            "disabled": False,
            "settings": ["add_contact", "status_lead", "update_lead"],
        }
        contact = fake.ui_add_contact(
            "Пётр", phone=["+79990000001", "+79990000002"], birthday=datetime.date(2000, 1, 2)
        )
        lead = fake.ui_add_lead("Приём", contact_id=contact["id"])
        fake.ui_move_lead(lead["id"], 142)
        sent: list[bytes] = []
        fake.deliver_webhooks(post=lambda destination, data, headers: sent.append(data) or 200)

    (hook,) = [parse_webhook(data) for data in sent]
    assert hook.account_id == fake.account_id
    kinds = [(e.entity, e.action, e.id) for e in hook.events]
    assert ("contact", "add", contact["id"]) in kinds
    assert ("lead", "status", lead["id"]) in kinds
    added = next(e for e in hook.events if e.entity == "contact")
    phone = next(f for f in added.data["custom_fields"] if f["code"] == "PHONE")
    assert [v["value"] for v in phone["values"]] == ["+79990000001", "+79990000002"]
    assert added.data["modified_user_id"] == fake.user_ids[1]
    status = next(e for e in hook.events if e.action == "status")
    assert status.data["status_id"] == 142 and status.data["old_status_id"] > 0
