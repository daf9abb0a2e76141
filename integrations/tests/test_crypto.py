"""Stored credentials are encrypted with Fernet, and keys can be rotated."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection, models
from django.test.utils import isolate_apps

from clinic import crypto


@pytest.fixture
def keys(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FERNET_KEYS = [old]
    return {"old": old, "new": new}


def test_a_value_round_trips_and_the_token_hides_it(keys):
    token = crypto.encrypt("amo-api-key-Ключ")
    assert "amo-api-key" not in token
    assert crypto.decrypt(token) == "amo-api-key-Ключ"
    assert crypto.encrypt("same") != crypto.encrypt("same")  # a fresh IV every time


def test_after_rotation_old_values_still_decrypt_and_new_ones_use_the_new_key(keys, settings):
    old_token = crypto.encrypt("before rotation")
    settings.FERNET_KEYS = [keys["new"], keys["old"]]
    assert crypto.decrypt(old_token) == "before rotation"
    new_token = crypto.encrypt("after rotation")
    assert Fernet(keys["new"].encode()).decrypt(new_token.encode()) == b"after rotation"
    with pytest.raises(InvalidToken):
        Fernet(keys["old"].encode()).decrypt(new_token.encode())


def test_a_token_from_an_unknown_key_is_refused(keys, settings):
    token = crypto.encrypt("secret")
    settings.FERNET_KEYS = [keys["new"]]
    with pytest.raises(InvalidToken):
        crypto.decrypt(token)


@pytest.mark.django_db
@isolate_apps("integrations")  # a model of this test only; its table dies with the transaction
def test_the_encrypted_field_stores_ciphertext_and_reads_plain_text(keys):
    class StoredSecret(models.Model):
        token = crypto.EncryptedTextField(blank=True)

        class Meta:
            app_label = "integrations"

        def __str__(self) -> str:
            return "secret"

    with connection.schema_editor() as editor:
        editor.create_model(StoredSecret)
    secret = StoredSecret.objects.create(token="oauth-refresh-token-123")
    empty = StoredSecret.objects.create(token="")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT token FROM {StoredSecret._meta.db_table} WHERE id = %s", [secret.pk]
        )
        (raw,) = cursor.fetchone()
    assert "oauth-refresh-token" not in raw
    assert crypto.decrypt(raw) == "oauth-refresh-token-123"
    assert StoredSecret.objects.get(pk=secret.pk).token == "oauth-refresh-token-123"
    assert StoredSecret.objects.get(pk=empty.pk).token == ""
