"""Settings -> Failed events: the events whose handlers kept failing, their errors, retry."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clinic import events
from clinic.models import AuditEntry, OutboxEvent
from clinic.tests.factories import user_with_rights

pytestmark = pytest.mark.django_db

URL = reverse("clinic:failed-events")
RETRY_ALL = reverse("clinic:failed-events-retry-all")


def failed(name="odontatest.created", *, error="RuntimeError('amoCRM is down')", **fields):
    defaults = {
        "payload": {"id": 7, "patient_id": 7, "changed": ["phone"]},
        "attempts": 12,
        "failed_at": timezone.now(),
        "last_error": f"clinic.handlers.push: {error}",
        "aggregate_type": "patients.patient",
        "aggregate_id": "7",
    }
    return OutboxEvent.objects.create(name=name, **{**defaults, **fields})


def retry_url(event) -> str:
    return reverse("clinic:failed-event-retry", args=[event.pk])


def listed(response) -> list[int]:
    return [event.pk for event in response.context["page"]]


def test_the_screen_lists_only_failed_events_with_their_error_and_payload(admin_client):
    event = failed()
    OutboxEvent.objects.create(name="odontatest.pending", attempts=3, last_error="retrying")
    OutboxEvent.objects.create(name="odontatest.done", dispatched_at=timezone.now())
    response = admin_client.get(URL)
    assert response.status_code == 200
    assert listed(response) == [event.pk]
    html = response.content.decode()
    assert "amoCRM is down" in html
    assert "&quot;patient_id&quot;: 7" in html
    assert f'action="{retry_url(event)}"' in html
    assert "data-retry-all" in html


def test_the_screen_is_a_tab_of_settings(admin_client):
    html = admin_client.get(reverse("clinic:settings")).content.decode()
    assert f'href="{URL}"' in html


def test_the_search_finds_events_by_name_object_number_and_error(admin_client):
    crm = failed("crm.contact_pushed", error="HTTPError(502)", aggregate_id="41")
    sms = failed("sms.sent", error="Timeout()", aggregate_id="42")
    assert listed(admin_client.get(URL, {"q": "crm.contact"})) == [crm.pk]
    assert listed(admin_client.get(URL, {"q": "timeout"})) == [sms.pk]
    assert listed(admin_client.get(URL, {"q": "41"})) == [crm.pk]
    assert listed(admin_client.get(URL, {"q": str(sms.pk)})) == [sms.pk]


def test_the_dates_filter_by_the_day_of_failure(admin_client):
    now = timezone.now()
    old = failed(failed_at=now - datetime.timedelta(days=10))
    new = failed(failed_at=now)
    today = timezone.localdate(now).isoformat()
    assert listed(admin_client.get(URL, {"date_from": today})) == [new.pk]
    before = timezone.localdate(now - datetime.timedelta(days=5)).isoformat()
    assert listed(admin_client.get(URL, {"date_to": before})) == [old.pk]


def test_a_bad_filter_shows_its_error_and_no_events(admin_client):
    failed()
    response = admin_client.get(URL, {"date_from": "not a date"})
    assert response.status_code == 200
    assert listed(response) == []
    assert response.context["filter"].form.errors


def test_the_list_is_paginated_latest_failure_first(admin_client):
    now = timezone.now()
    created = [failed(failed_at=now - datetime.timedelta(minutes=i)) for i in range(30)]
    first = admin_client.get(URL)
    assert listed(first) == [e.pk for e in created[:25]]
    assert listed(admin_client.get(URL, {"page": 2})) == [e.pk for e in created[25:]]


def test_the_list_reads_a_fixed_number_of_queries_whatever_the_events(admin_client, admin_persona):
    failed(actor=admin_persona.user)
    admin_client.get(URL)  # warm the session and rights caches
    with CaptureQueriesContext(connection) as one:
        admin_client.get(URL)
    for _n in range(20):
        failed(actor=admin_persona.user)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(URL)
    assert len(response.context["page"]) == 21
    assert len(many) == len(one)


def test_retry_delivers_the_event_after_commit_and_is_audited(
    admin_client, admin_persona, django_capture_on_commit_callbacks
):
    event = failed()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(retry_url(event))
    assert response.status_code == 302
    assert response.url == URL
    event.refresh_from_db()
    assert event.failed_at is None
    assert event.dispatched_at is not None  # no handler fails any more (none subscribes)
    entry = AuditEntry.objects.latest("id")
    assert (entry.actor, entry.changes) == (
        admin_persona.user,
        {"retried_events": [None, [event.pk]]},
    )
    shown = _("Event %(event)s is queued for delivery again.") % {"event": event}
    assert shown in admin_client.get(URL).content.decode()


def test_retrying_an_event_that_is_not_failed_any_more_says_so(admin_client):
    event = failed()
    events.outbox_retry(event_ids=[event.pk], by=None)
    response = admin_client.post(retry_url(event), follow=True)
    assert (
        _("Event %(event)s is not failed any more.") % {"event": event} in response.content.decode()
    )


def test_retry_from_htmx_answers_with_a_redirect_header(admin_client):
    event = failed()
    response = admin_client.post(retry_url(event), headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"] == URL


def test_retry_all_retries_exactly_the_filtered_events(admin_client):
    crm = [failed("crm.contact_pushed") for _ in range(3)]
    sms = failed("sms.sent")
    response = admin_client.post(f"{RETRY_ALL}?q=contact")
    assert response.status_code == 302
    assert response.url == f"{URL}?q=contact"
    assert set(OutboxEvent.objects.filter(failed_at__isnull=True).values_list("pk", flat=True)) == {
        e.pk for e in crm
    }
    sms.refresh_from_db()
    assert sms.failed_at is not None
    shown = ngettext(
        "%(count)s event is queued for delivery again.",
        "%(count)s events are queued for delivery again.",
        3,
    ) % {"count": 3}
    assert shown in admin_client.get(URL).content.decode()


def test_retry_all_with_a_bad_filter_retries_nothing(admin_client):
    event = failed()
    response = admin_client.post(f"{RETRY_ALL}?date_from=yesterday", follow=True)
    assert _("Correct the filters first: nothing was retried.") in response.content.decode()
    event.refresh_from_db()
    assert event.failed_at is not None


def test_retry_all_works_in_batches(admin_client, monkeypatch):
    from clinic.views import failed_events

    monkeypatch.setattr(failed_events, "RETRY_BATCH", 2)
    for _n in range(3):
        failed()
    response = admin_client.post(RETRY_ALL, follow=True)
    assert OutboxEvent.objects.filter(failed_at__isnull=False).count() == 1
    shown = _("Up to %(limit)s events are retried at a time: press again for the rest.") % {
        "limit": 2
    }
    assert shown in response.content.decode()


@pytest.mark.parametrize("url", [URL, RETRY_ALL])
def test_staff_without_the_settings_right_are_refused(registrar_client, url):
    failed()
    response = registrar_client.get(url) if url == URL else registrar_client.post(url)
    assert response.status_code == 403


def test_viewing_settings_is_not_enough_to_retry(client, branch):
    event = failed()
    client.force_login(user_with_rights("settings_view", branch=branch))
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-retry" not in html
    assert client.post(retry_url(event)).status_code == 403
    assert client.post(RETRY_ALL).status_code == 403
    event.refresh_from_db()
    assert event.failed_at is not None


@pytest.mark.parametrize("url", [RETRY_ALL, "retry"])
def test_retry_needs_post(admin_client, url):
    url = retry_url(failed()) if url == "retry" else url
    assert admin_client.get(url).status_code == 405
