"""Signing in (django-allauth): login, logout, closed sign-up, lockout, TOTP, the audit."""

import datetime

import pytest
import time_machine
from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditAction, AuditEntry, User
from clinic.tests.factories import EmployeeFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")
LOGOUT = reverse("account_logout")
PASSWORD = "Correct-horse-42"


@pytest.fixture
def member(branch):
    user = UserFactory(username="anna", password=PASSWORD)
    EmployeeFactory(user=user, last_name="Смирнова", first_name="Анна", branches=[branch])
    return user


def signed_in_user_id(client) -> str | None:
    return client.session.get("_auth_user_id")


def log_in(client, username: str = "anna", password: str = PASSWORD):
    return client.post(LOGIN, {"login": username, "password": password}, REMOTE_ADDR="10.1.2.3")


def totp_code(secret: str, at: datetime.datetime | None = None) -> str:
    moment = (at or timezone.now()).timestamp()
    return format_hotp_value(hotp_value(secret, int(moment) // 30))


# --- Login and logout --------------------------------------------------------------------


def test_the_login_page_opens_for_anonymous_users(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert 'name="login"' in response.content.decode()


def test_logging_in_leads_home_and_is_audited(client, member):
    response = log_in(client)
    assert response.status_code == 302
    assert response.url == reverse(settings.LOGIN_REDIRECT_URL)
    assert signed_in_user_id(client) == str(member.pk)
    entry = AuditEntry.objects.get(action=AuditAction.LOGIN)
    assert entry.actor == member
    assert entry.actor_name == "Смирнова А. П."
    assert entry.ip_address == "10.1.2.3"
    assert entry.object_id == str(member.pk)


def test_a_wrong_password_is_refused_and_not_audited(client, member):
    response = log_in(client, password="wrong")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert signed_in_user_id(client) is None
    assert not AuditEntry.objects.filter(action=AuditAction.LOGIN).exists()


def test_logging_out_takes_a_post_and_ends_the_session(client, member):
    log_in(client)
    response = client.get(LOGOUT)  # a page asking to confirm, not a logout
    assert response.status_code == 200
    assert signed_in_user_id(client) == str(member.pk)
    response = client.post(LOGOUT)
    assert response.status_code == 302
    assert response.url == LOGIN
    assert signed_in_user_id(client) is None
    assert client.get("/").status_code == 302


def test_signup_is_closed(client):
    response = client.get(reverse("account_signup"))
    assert response.status_code == 200
    assert "account/signup_closed.html" in [t.name for t in response.templates]
    client.post(
        reverse("account_signup"),
        {"username": "intruder", "password1": "Intruder-pass-42", "password2": "Intruder-pass-42"},
    )
    assert not User.objects.filter(username="intruder").exists()


# --- Lockout -----------------------------------------------------------------------------


def test_after_five_failures_even_the_right_password_is_refused_for_a_while(client, member):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _attempt in range(5):
            assert log_in(client, password="guess").status_code == 200
        response = log_in(client)
        assert response.status_code == 200
        assert signed_in_user_id(client) is None
        too_many = str(DefaultAccountAdapter.error_messages["too_many_login_attempts"])
        assert response.context["form"].non_field_errors() == [too_many]
        # The lockout is per account: another login from the same address still works.
        UserFactory(username="boris", password=PASSWORD)
        assert log_in(client, username="boris").status_code == 302
        client.post(LOGOUT)

        traveller.shift(datetime.timedelta(minutes=6))
        assert log_in(client).status_code == 302
    assert signed_in_user_id(client) == str(member.pk)


def test_a_successful_login_does_not_use_up_the_failure_allowance(client, member):
    for _attempt in range(4):
        log_in(client, password="guess")
    assert log_in(client).status_code == 302
    client.post(LOGOUT)
    assert log_in(client).status_code == 302  # still allowed: successes are not counted


# --- Two-factor authentication -----------------------------------------------------------


def activate_totp(client) -> str:
    """Turn on TOTP through allauth's pages; returns the secret."""
    # Security settings ask for the password again, even right after logging in.
    response = client.get(reverse("mfa_activate_totp"))
    assert response.url.startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302, response.context["form"].errors
    return secret


def test_with_totp_a_login_needs_the_code_and_a_recovery_code_works_once(client, member):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        assert log_in(client).status_code == 302
        secret = activate_totp(client)
        assert Authenticator.objects.filter(user=member, type=Authenticator.Type.TOTP).exists()
        client.post(LOGOUT)

        traveller.shift(datetime.timedelta(seconds=60))  # a fresh code: used ones are refused
        response = log_in(client)
        assert response.status_code == 302
        assert response.url == reverse("mfa_authenticate")
        assert signed_in_user_id(client) is None
        assert client.get("/").status_code == 302  # half signed in is not signed in

        response = client.post(reverse("mfa_authenticate"), {"code": "000000"})
        assert response.status_code == 200
        assert signed_in_user_id(client) is None

        response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
        assert response.status_code == 302
        assert signed_in_user_id(client) == str(member.pk)
        client.post(LOGOUT)

        recovery = Authenticator.objects.get(user=member, type=Authenticator.Type.RECOVERY_CODES)
        code = RecoveryCodes(recovery).get_unused_codes()[0]
        log_in(client)
        response = client.post(reverse("mfa_authenticate"), {"code": code})
        assert response.status_code == 302
        assert signed_in_user_id(client) == str(member.pk)
        client.post(LOGOUT)

        traveller.shift(datetime.timedelta(seconds=60))
        log_in(client)
        response = client.post(reverse("mfa_authenticate"), {"code": code})
        assert response.status_code == 200  # a recovery code works once
        assert signed_in_user_id(client) is None

    logins = AuditEntry.objects.filter(action=AuditAction.LOGIN, actor=member).count()
    assert logins == 3  # the password login before TOTP, then one per completed second step


def test_activating_totp_with_a_wrong_code_is_refused(client, member):
    log_in(client)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    response = client.post(reverse("mfa_activate_totp"), {"code": "123456"})
    assert response.status_code == 200
    assert not Authenticator.objects.filter(user=member).exists()


def test_totp_secrets_are_stored_encrypted(db, admin_persona):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    secret = "JBSWY3DPEHPK3PXP"
    TOTP.activate(admin_persona.user, secret)
    stored = Authenticator.objects.get(user=admin_persona.user, type=Authenticator.Type.TOTP)
    assert secret not in str(stored.data)
    assert TOTP(stored).instance.data["secret"] != secret
    from allauth.mfa.adapter import get_adapter

    assert get_adapter().decrypt(stored.data["secret"]) == secret


# --- Cached rights (CachedRightsBackend) ------------------------------------------------


def fresh(user):
    """The user as the next request reads them (no per-object rights cache)."""
    from clinic.models import User

    return User.objects.get(pk=user.pk)


@pytest.mark.django_db
def test_rights_are_cached_between_requests_and_a_change_works_on_the_next_one():
    from django.contrib.auth.models import Permission
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clinic.tests.factories import user_with_rights

    user = user_with_rights("calendar_view")
    assert fresh(user).has_perm("clinic.calendar_view")
    reader = fresh(user)
    with CaptureQueriesContext(connection) as queries:
        assert reader.has_perm("clinic.calendar_view")
        assert not reader.has_perm("clinic.calendar_change")
    assert not queries.captured_queries  # from the cache

    change = Permission.objects.get(content_type__app_label="clinic", codename="calendar_change")
    user.user_permissions.add(change)
    assert fresh(user).has_perm("clinic.calendar_change")
    user.user_permissions.clear()
    assert not fresh(user).has_perm("clinic.calendar_view")
