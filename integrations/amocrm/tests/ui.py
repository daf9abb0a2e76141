"""Shared setup of the amoCRM settings pages' tests (connect, wizard, decisions)."""

from django.contrib.auth.models import Permission
from django.db import connection as db

from clinic import testing
from clinic.modules import permission_codename
from integrations.amocrm import setup
from integrations.amocrm.config import SYSTEM
from integrations.models import Connection
from integrations.services import connection_ensure

INTEGRATION = "/integrations/amocrm/"
CONNECT = "/integrations/amocrm/connect/"
CALLBACK = "/integrations/amocrm/oauth/callback"
DISCONNECT = "/integrations/amocrm/disconnect/"
DECISIONS = "/integrations/amocrm/decisions/"
RESOLVE = "/integrations/amocrm/decisions/resolve/"
REDIRECT_URI = "http://testserver/integrations/amocrm/oauth/callback"


def setup_url(step: str) -> str:
    return f"/integrations/amocrm/setup/{step}/"


def connect_fake(fake, **settings) -> Connection:
    """The clinic's connection to ``fake`` by its long-lived token, as the connect page makes it."""
    connection = connection_ensure(system=SYSTEM)
    account = setup.probe_account(fake.url, fake.long_lived_token)
    credentials = {"kind": "long_lived", "access_token": fake.long_lived_token, "expires_at": None}
    setup.amocrm_connect(
        connection=connection, base_url=fake.url, credentials=credentials, account=account
    )
    connection.settings = {**connection.settings, "rate_limit": 1000, **settings}
    connection.save(update_fields=["settings"])
    connection.refresh_from_db()
    return connection


def stored_credentials(pk: int) -> str:
    """The credentials column as the database holds it."""
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM integrations_connection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def login_with_rights(client, branch, *codenames: tuple[str, str], username: str = "viewer"):
    """A registrar (no settings rights) with the given (module, action) rights added."""
    persona = testing.make_persona("registrar", branch, username=username)
    for module, action in codenames:
        persona.user.user_permissions.add(
            Permission.objects.get(
                codename=permission_codename(module, action), content_type__app_label="clinic"
            )
        )
    client.force_login(persona.user)
    return persona
