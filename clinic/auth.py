from allauth.account.adapter import DefaultAccountAdapter

from clinic import audit


class ClinicAccountAdapter(DefaultAccountAdapter):
    """Accounts are created by the clinic's administrator in Staff, never by sign-up."""

    def is_open_for_signup(self, request) -> bool:
        return False

    def login(self, request, user) -> None:
        super().login(request, user)
        audit.record(actor=user, action="login", obj=user, ip_address=self.get_client_ip(request))


# allauth's forms with Bootstrap classes on their widgets (see ACCOUNT_FORMS, MFA_FORMS).
from allauth.account import forms as account_forms  # noqa: E402
from allauth.mfa.base import forms as mfa_base_forms  # noqa: E402
from allauth.mfa.recovery_codes import forms as recovery_forms  # noqa: E402
from allauth.mfa.totp import forms as totp_forms  # noqa: E402

from clinic.forms import StyledMixin  # noqa: E402


class LoginForm(StyledMixin, account_forms.LoginForm):
    pass


class ChangePasswordForm(StyledMixin, account_forms.ChangePasswordForm):
    pass


class ReauthenticateForm(StyledMixin, account_forms.ReauthenticateForm):
    pass


class MFAAuthenticateForm(StyledMixin, mfa_base_forms.AuthenticateForm):
    pass


class MFAReauthenticateForm(StyledMixin, mfa_base_forms.ReauthenticateForm):
    pass


class ActivateTOTPForm(StyledMixin, totp_forms.ActivateTOTPForm):
    pass


class DeactivateTOTPForm(StyledMixin, totp_forms.DeactivateTOTPForm):
    pass


class GenerateRecoveryCodesForm(StyledMixin, recovery_forms.GenerateRecoveryCodesForm):
    pass


from allauth.mfa.adapter import DefaultMFAAdapter  # noqa: E402
from cryptography.fernet import InvalidToken  # noqa: E402

from clinic.crypto import decrypt, encrypt  # noqa: E402


class ClinicMFAAdapter(DefaultMFAAdapter):
    """TOTP keys and recovery seeds are stored encrypted with the installation's Fernet keys."""

    def encrypt(self, text: str) -> str:
        return encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        try:
            return decrypt(encrypted_text)
        except InvalidToken:
            # A secret saved before encryption was switched on: still readable, and
            # encrypted the next time allauth writes it.
            return encrypted_text


# --- Cached rights ----------------------------------------------------------------------

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.backends import ModelBackend  # noqa: E402
from django.core.cache import cache  # noqa: E402

from clinic.shapes import Shape  # noqa: E402

RIGHTS_VERSION_KEY = "clinic:rights-version"

# The signed-in user with their employee card in the same query: the header, the audit
# log's actor name and most views ask for it on every request.
USER_WITH_EMPLOYEE = Shape(
    lambda *, pk: (
        get_user_model()._default_manager.select_related("employee").filter(pk=pk).order_by()
    ),
    name="signed-in user",
)


def rights_version() -> int:
    version = cache.get(RIGHTS_VERSION_KEY)
    if version is None:
        cache.add(RIGHTS_VERSION_KEY, 1, None)
        version = cache.get(RIGHTS_VERSION_KEY, 1)
    return int(version)


def forget_rights(**_kwargs) -> None:
    """Any change of groups, their rights or a user's rights: every cached set is stale."""
    try:
        cache.incr(RIGHTS_VERSION_KEY)
    except ValueError:
        cache.set(RIGHTS_VERSION_KEY, 1, None)


class CachedRightsBackend(ModelBackend):
    """Django's model backend with each user's permission set cached between requests.

    Every view checks rights; without the cache that is two queries (the user's own and
    their groups') on every request. A new rights version (bumped by signals on any change)
    makes all cached sets stale at once, so a new right works on the very next request.
    """

    def get_user(self, user_id):
        if not isinstance(user_id, int):  # as the session holds it; Django parses it first
            return super().get_user(user_id)
        user = USER_WITH_EMPLOYEE.first(pk=user_id)
        if user is None:
            return None
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            # The version and the user's set in one round trip; the set is stored with the
            # version it was read under, and a newer version makes it stale.
            key = f"clinic:rights:{user_obj.pk}"
            found = cache.get_many([RIGHTS_VERSION_KEY, key])
            version = found.get(RIGHTS_VERSION_KEY)
            version = rights_version() if version is None else int(version)
            cached = found.get(key)
            if cached is not None and cached[0] == version:
                permissions = cached[1]
            else:
                permissions = super().get_all_permissions(user_obj)
                cache.set(key, (version, permissions), 600)
            user_obj._perm_cache = permissions
        return user_obj._perm_cache
