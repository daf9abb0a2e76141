from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.i18n import set_language

from clinic.permissions import public_view


@public_view
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's language switch (the cookie, for the login page), and for a signed-in
    user their own choice, kept on the account."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if (
        request.method == "POST"
        and request.user.is_authenticated
        and language in dict(settings.LANGUAGES)
        and request.user.language != language  # type: ignore[union-attr]
    ):
        request.user.language = language  # type: ignore[union-attr]
        request.user.save(update_fields=["language"])
    return response
