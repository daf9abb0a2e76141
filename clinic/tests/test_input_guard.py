"""Control characters in any text a request carries are refused with a 400 and a message,
before a view (or PostgreSQL, which cannot store NUL) sees them: the path, query parameters,
form fields, JSON (escaped ``\\u0000`` too) and raw bodies such as a webhook's. Uploaded file
contents are not text and pass untouched."""

import hashlib
import hmac
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from clinic import bounds
from clinic.middleware import InputGuardMiddleware
from clinic.models import AuditEntry, Gender
from integrations import webhooks
from integrations.models import InboundWebhook
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
REFUSED = "The request contains a control character"


def _guarded(request) -> HttpResponse:
    return InputGuardMiddleware(lambda request: HttpResponse("served"))(request)


@pytest.mark.parametrize(
    "text",
    ["\x00", "a\x00b", "\x01", "\x08", "\x0b", "\x0c", "\x1b[31m", "\x7f", "\x85"],
)
def test_control_characters_anywhere_in_a_query_or_form_are_refused(text):
    factory = RequestFactory()
    for request in (
        factory.get("/x/", {"q": text}),
        factory.get("/x/", {text: "1"}),
        factory.post("/x/", {"name": text}),
        factory.post("/x/", {"name": ["ok", text]}),
        factory.post("/x/", {"name": text, "file": SimpleUploadedFile("a.csv", b"1")}),
    ):
        response = _guarded(request)
        assert response.status_code == 400, request
        assert response.content != b"served"


@pytest.mark.parametrize(
    "text", ["Иванов", "O'Brien\tтаб", "строка 1\r\nстрока 2", "😀 emoji", "x" * 100_000]
)
def test_ordinary_text_passes(text):
    factory = RequestFactory()
    for request in (
        factory.get("/x/", {"q": text}),
        factory.post("/x/", {"name": text}),
        factory.post("/x/", json.dumps({"name": text}), content_type="application/json"),
    ):
        assert _guarded(request).content == b"served"


def test_a_path_with_a_control_character_is_refused(admin_client):
    response = admin_client.get("/media/a%00b", **EN)
    assert response.status_code == 400
    assert REFUSED in response.json()["error"]


def test_uploaded_file_contents_are_not_text_and_pass():
    binary = bytes(range(256)) * 4
    request = RequestFactory().post(
        "/x/", {"name": "photo", "file": SimpleUploadedFile("photo.png", binary)}
    )
    assert _guarded(request).content == b"served"
    assert request.FILES["file"].read() == binary


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "a\\u0000b"}',
        '{"a\\u0000": 1}',
        '[[[{"deep": ["\\u001b"]}]]]',
        '{"name": "\\ud800"}',
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["value", "key", "nested", "surrogate", "too-deep"],
)
def test_json_bodies_are_decoded_and_refused(body):
    request = RequestFactory().post("/x/", body, content_type="application/json")
    assert _guarded(request).status_code == 400


def test_a_malformed_json_body_is_left_to_the_view():
    request = RequestFactory().post("/x/", "{not json", content_type="application/json")
    assert _guarded(request).content == b"served"


def test_raw_bodies_and_other_methods_are_checked():
    factory = RequestFactory()
    assert _guarded(factory.post("/x/", b"a\x00b", content_type="text/plain")).status_code == 400
    put = factory.put("/x/", "name=a%00b", content_type="application/x-www-form-urlencoded")
    assert _guarded(put).status_code == 400


def test_the_refusal_speaks_to_each_kind_of_client(admin_client):
    url = reverse("clinic:reference-book", args=["genders"])
    page = admin_client.get(url, {"q": "\x00"}, HTTP_ACCEPT="text/html", **EN)
    assert page.status_code == 400 and page["Content-Type"].startswith("text/plain")
    assert REFUSED in page.content.decode()
    fetch = admin_client.get(url, {"q": "\x00"}, **EN)
    assert fetch.json()["ok"] is False and REFUSED in fetch.json()["error"]
    htmx = admin_client.get(url, {"q": "\x00"}, HTTP_HX_REQUEST="true", **EN)
    assert htmx["HX-Reswap"] == "none"
    [toast] = json.loads(htmx["HX-Trigger"])["toasts"]
    assert toast["level"] == "danger" and REFUSED in toast["text"]
    api = admin_client.get("/api/v1/patients/search", {"q": "\x00"}, **EN)
    assert api.status_code == 400 and REFUSED in api.json()["detail"]


def test_a_nul_in_a_search_box_is_refused_not_a_500(admin_client):
    patient = PatientFactory()
    for url in (
        reverse("patients:family-join", args=[patient.pk]),
        reverse("clinic:reference-book", args=["genders"]),
        reverse("clinic:staff-list"),
        reverse("clinic:audit"),
    ):
        assert admin_client.get(url, {"q": "ab\x00c"}).status_code == 400, url


def test_a_form_with_a_nul_saves_nothing(admin_client):
    count = Gender.objects.count()
    audit = AuditEntry.objects.count()
    response = admin_client.post(
        reverse("clinic:reference-item-create", args=["genders"]), {"name": "Муж\x00ской"}
    )
    assert response.status_code == 400
    assert (Gender.objects.count(), AuditEntry.objects.count()) == (count, audit)


def test_an_input_refused_by_a_view_is_a_400_with_its_message():
    def view(request):
        raise bounds.InputRefused("“date” must be a date.")

    middleware = InputGuardMiddleware(view)
    request = RequestFactory().get("/x/")
    response = middleware.process_exception(request, bounds.InputRefused("“date” must be a date."))
    assert response.status_code == 400
    assert json.loads(response.content) == {"ok": False, "error": "“date” must be a date."}


# --- Webhooks: their bodies are stored as text ---------------------------------------------

SECRET = b"hostile-webhook-secret"


@pytest.fixture
def provider():
    webhooks.register(
        webhooks.WebhookProvider(
            system="hostilepay",
            verify=lambda request, body: hmac.compare_digest(
                request.headers.get("X-Signature", ""),
                hmac.new(SECRET, body, hashlib.sha256).hexdigest(),
            ),
            process=lambda webhook: None,
        )
    )
    yield
    webhooks.unregister("hostilepay")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"event": "paid", "note": "a\x00b"}', "application/json"),
        (b'{"event": "paid", "note": "a\\u0000b"}', "application/json"),
        (b"event=paid&note=a%00b", "application/x-www-form-urlencoded"),
        (b"event paid \x00", "text/plain"),
    ],
    ids=["raw-nul-json", "escaped-nul-json", "form", "text"],
)
def test_a_webhook_body_with_a_nul_is_refused_and_not_stored(client, provider, body, content_type):
    signature = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    response = client.post(
        reverse("integrations:webhook", args=["hostilepay"]),
        body,
        content_type=content_type,
        HTTP_X_SIGNATURE=signature,
    )
    assert response.status_code == 400
    assert not InboundWebhook.objects.exists()


def test_a_clean_webhook_is_still_stored(client, provider):
    body = json.dumps({"event": "paid", "note": "Оплата 😀\r\n"}).encode()
    signature = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    response = client.post(
        reverse("integrations:webhook", args=["hostilepay"]),
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE=signature,
    )
    assert response.status_code == 200
    assert InboundWebhook.objects.count() == 1
