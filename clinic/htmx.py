"""Small helpers for htmx responses."""

import json

from django.http import HttpResponse


def trigger(response: HttpResponse, *events: str, **events_with_detail) -> HttpResponse:
    """Add an HX-Trigger header so that other parts of the page refresh themselves."""
    payload: dict = {name: True for name in events}
    payload.update(events_with_detail)
    # Headers are Latin-1: non-ASCII text travels as JSON \u escapes, which htmx decodes.
    response["HX-Trigger"] = json.dumps(payload)
    return response


def close_dialog(*events: str, request=None, **events_with_detail) -> HttpResponse:
    """An empty 204 that closes the open dialog and announces what changed.

    With ``request``, the messages queued for the user travel along as toasts (a 204 has
    no page to show them on).
    """
    if request is not None:
        events_with_detail["toasts"] = pending_toasts(request)
    return trigger(HttpResponse(status=204), "closeDialog", *events, **events_with_detail)


def pending_toasts(request) -> list[dict]:
    from django.contrib import messages

    toasts = []
    for message in messages.get_messages(request):
        undo = next((tag[5:] for tag in message.extra_tags.split() if tag.startswith("undo:")), "")
        level = "danger" if message.level_tag == "error" else message.level_tag
        toasts.append({"text": str(message), "level": level, "undo": undo})
    return toasts


def render_form(request, template: str, context: dict, *, partial: str = "form", status: int = 200):
    """The whole page normally; only its form partial when htmx loads it into a dialog."""
    from django.shortcuts import render

    name = f"{template}#{partial}" if getattr(request, "htmx", False) else template
    return render(request, name, context, status=status)


def local_next_url(request, value: str | None, default: str) -> str:
    """A ``next`` address from the request, if it is a path on this site; else ``default``.

    "//evil.example/" starts with a slash too, and "x" without one would be taken for a URL
    pattern's name by ``redirect``: only this site's own absolute paths are followed."""
    from django.utils.http import url_has_allowed_host_and_scheme

    if not value or not value.startswith("/") or value.startswith("//"):
        return default
    if not url_has_allowed_host_and_scheme(value, {request.get_host()}, request.is_secure()):
        return default
    return value


def done(request, url: str) -> HttpResponse:
    """After a successful form: navigate to ``url`` (htmx gets HX-Redirect, others a 302)."""
    from django.shortcuts import redirect

    if getattr(request, "htmx", False):
        return HttpResponse(status=204, headers={"HX-Redirect": url})
    return redirect(url)
