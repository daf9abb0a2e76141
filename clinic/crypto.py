"""Encryption of stored secrets (integration credentials, TOTP keys) with Fernet.

Keys come from ODONTA_FERNET_KEYS (comma-separated, newest first), so a key can be rotated:
new values are encrypted with the first, old ones still decrypt with the others.
"""

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import models


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.FERNET_KEYS])


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text field stored encrypted; the application sees plain text."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
