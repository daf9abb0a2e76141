"""Odonta settings: one module, read from environment variables.

DJANGO_ENV=development (the default) gives a working local setup: DEBUG on, SQLite when
DATABASE_URL is unset, Celery eager and in-memory caches and channel layers when REDIS_URL
is unset. DJANGO_ENV=production turns DEBUG off and refuses to start without its secrets.
"""

import os
import re
from pathlib import Path
from typing import overload

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> str | None: ...
def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    return int(value) if value is not None else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")


def env_keyring(name: str, default: dict[str, str]) -> dict[str, str]:
    """``id:secret`` pairs, comma-separated, newest first, as ``{id: secret}`` in that order."""
    value = env_str(name)
    if value is None:
        return default
    keys: dict[str, str] = {}
    for pair in value.split(","):
        key_id, _colon, secret = pair.strip().partition(":")
        if not KEY_ID.fullmatch(key_id) or key_id in keys:
            raise ImproperlyConfigured(
                f"{name}: each key is 'id:secret' with a unique id of 1-16 letters, digits, '-' "
                "or '_'."
            )
        if len(secret) < 32:
            raise ImproperlyConfigured(
                f"{name}: the secret of key {key_id!r} is shorter than 32 characters."
            )
        keys[key_id] = secret
    return keys


def env_required(name: str) -> str:
    value = env_str(name)
    if value is None:
        raise ImproperlyConfigured(f"Environment variable {name} is required in production.")
    return value


ENVIRONMENT = env_str("DJANGO_ENV", "development")
if ENVIRONMENT not in ("development", "production"):
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'.")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)

if PRODUCTION:
    SECRET_KEY = env_required("SECRET_KEY")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS is required in production.")
    DATABASE_URL = env_required("DATABASE_URL")
    REDIS_URL: str | None = env_required("REDIS_URL")
    FERNET_KEYS = env_list("ODONTA_FERNET_KEYS", [])
    if not FERNET_KEYS:
        raise ImproperlyConfigured("ODONTA_FERNET_KEYS is required in production.")
    AUDIT_KEYS = env_keyring("ODONTA_AUDIT_KEYS", {})
    if not AUDIT_KEYS:
        raise ImproperlyConfigured("ODONTA_AUDIT_KEYS is required in production.")
    AUDIT_ANCHOR_PATH = Path(env_required("ODONTA_AUDIT_ANCHOR_PATH"))
else:
    SECRET_KEY = env_str("SECRET_KEY", "development-only-insecure-key-do-not-use-in-production")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
    DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    REDIS_URL = env_str("REDIS_URL")
    # A fixed development key, so that credentials saved in the demo stay readable.
    FERNET_KEYS = env_list("ODONTA_FERNET_KEYS", ["b2RvbnRhLWRldmVsb3BtZW50LW9ubHkta2V5LTMyYnk="])
    # A fixed development key, so that a demo's audit chain verifies across restarts.
    AUDIT_KEYS = env_keyring(
        "ODONTA_AUDIT_KEYS", {"dev": "odonta-development-only-audit-key-not-secret"}
    )
    AUDIT_ANCHOR_PATH = Path(
        env_str("ODONTA_AUDIT_ANCHOR_PATH", str(BASE_DIR / "var" / "audit-anchors.jsonl"))
    )

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "template_partials",
    "django_filters",
    "import_export",
    "django_celery_beat",
    "channels",
    "ninja",
    "clinic",
    "patients",
    "documents",
    "pricelist",
    "calendar_app",
    "clinical",
    "billing",
    "integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After the locale (their messages are translated), before anything reads the input.
    "clinic.middleware.ApiErrorsAsJsonMiddleware",
    "clinic.middleware.InputGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "clinic.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "clinic.middleware.CurrentBranchMiddleware",
]
# Benchmarks (bench/run.py): a Server-Timing header with the request's time and SQL query
# count. Off unless asked for, in production too; first, so that it times all the others.
if env_bool("ODONTA_SERVER_TIMING", False):
    MIDDLEWARE.insert(0, "clinic.middleware.ServerTimingMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.shell",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serves one clinic's demo; wait for the writer lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Under ASGI every request runs in a thread of its own, so persistent connections are
    # never reused: each request would open a connection. The web processes turn on
    # psycopg's pool instead (DB_POOL=1); Celery's forked workers keep plain connections.
    if env_bool("DB_POOL", False):
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"] = {
            "pool": {
                "min_size": env_int("DB_POOL_MIN_SIZE", 2),
                "max_size": env_int("DB_POOL_MAX_SIZE", 10),
                "timeout": env_int("DB_POOL_TIMEOUT", 10),
            }
        }
if test_db_name := env_str("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": test_db_name}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "clinic.User"

AUTHENTICATION_BACKENDS = [
    "clinic.auth.CachedRightsBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

if env_bool("FAST_PASSWORD_HASHER", False) and not PRODUCTION:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Caches, Celery, Channels: Redis when configured, in-process otherwise -------------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "clinic.cache.ReusingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "odonta"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 times socket reads out after 5 s by default, exactly as long as
                # channels_redis blocks waiting for a message: every idle websocket would die.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                "prefix": env_str("CHANNELS_PREFIX", "odonta"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# Without a broker (the quickstart), long jobs run in a thread so requests return at once.
LONG_JOBS_IN_THREADS = not REDIS_URL and not PRODUCTION
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "clinic.tasks.outbox_sweep", "schedule": 60.0},
    "webhooks-sweep": {"task": "integrations.tasks.webhooks_sweep", "schedule": 120.0},
    # /healthz reads its age; one that waited in the queue past the next beat is dropped.
    "worker-heartbeat": {
        "task": "clinic.tasks.worker_heartbeat",
        "schedule": 60.0,
        "options": {"expire_seconds": 55},
    },
    # Nightly, 03:30 in Moscow: purge what the retention periods below let go (clinic.retention).
    "retention-purge": {
        "task": "clinic.tasks.retention_purge",
        "schedule": crontab(hour=0, minute=30),
    },
    "patient-imports-sweep": {"task": "patients.tasks.patient_imports_sweep", "schedule": 3600.0},
    # 00:01 in Moscow: the day's new base prices reach Service.price (pricelist.services).
    "base-prices-catch-up": {
        "task": "pricelist.tasks.base_prices_catch_up",
        "schedule": crontab(hour=21, minute=1),
    },
    # amoCRM: the queue's stragglers, the lost webhooks' repair, stalled initial syncs.
    "amocrm-push": {"task": "integrations.amocrm.tasks.amocrm_push", "schedule": 60.0},
    "amocrm-reconcile": {
        "task": "integrations.amocrm.tasks.amocrm_reconcile",
        "schedule": float(env_int("ODONTA_AMOCRM_RECONCILE_SECONDS", 300)),
    },
    "amocrm-jobs-sweep": {"task": "integrations.amocrm.tasks.amocrm_jobs_sweep", "schedule": 60.0},
    # Runs the patient-app accounts' daily sync once a day, after the time set in the wizard.
    "amocrm-app-accounts-daily": {
        "task": "integrations.amocrm.tasks.amocrm_app_accounts_daily",
        "schedule": 900.0,
    },
    "audit-anchor": {
        "task": "clinic.tasks.audit_anchor",
        "schedule": float(env_int("ODONTA_AUDIT_ANCHOR_SECONDS", 300)),
    },
}

FORM_RENDERER = "clinic.forms.ClinicFormRenderer"
FORMS_URLFIELD_ASSUME_HTTPS = True

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
MESSAGE_STORAGE = "clinic.message_storage.SentenceStorage"

# --- Internationalisation --------------------------------------------------------------
LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Moscow"
USE_I18N = True
USE_TZ = True

# --- Static and media files ------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploads are never served by their path: clinic.files serves each through its object.
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production, whitenoise serves static files straight from the apps (tests, ASGI dev).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# --- Authentication (django-allauth) ---------------------------------------------------
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "clinic:home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]
ACCOUNT_ADAPTER = "clinic.auth.ClinicAccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_RATE_LIMITS = {
    # Failed logins per client address and per account: a lockout that lifts by itself.
    "login_failed": env_str("LOGIN_FAILED_RATE", "10/m/ip,5/5m/key"),
}
ACCOUNT_FORMS = {
    "login": "clinic.auth.LoginForm",
    "change_password": "clinic.auth.ChangePasswordForm",
    "reauthenticate": "clinic.auth.ReauthenticateForm",
}
MFA_FORMS = {
    "authenticate": "clinic.auth.MFAAuthenticateForm",
    "reauthenticate": "clinic.auth.MFAReauthenticateForm",
    "activate_totp": "clinic.auth.ActivateTOTPForm",
    "deactivate_totp": "clinic.auth.DeactivateTOTPForm",
    "generate_recovery_codes": "clinic.auth.GenerateRecoveryCodesForm",
}
MFA_ADAPTER = "clinic.auth.ClinicMFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Odonta"
MFA_RECOVERY_CODE_COUNT = 10

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "odonta@localhost")

# --- Security --------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = PRODUCTION and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS", [])
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Covering indexes (billing's open invoices) are PostgreSQL's; SQLite builds them without
    # the extra columns, which is all the demo needs.
    SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "models.W040"]

# --- Logging ---------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint logs each step of every PDF at INFO; its warnings still show.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # The audit anchors are a record kept outside the database: never filtered out.
        "clinic.audit": {"level": "INFO"},
    },
}

# --- Error reports (Sentry or a compatible service such as GlitchTip) ------------------
# Off unless SENTRY_DSN is set; what is sent and what is scrubbed: config/sentry.py.
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    from config import sentry

    sentry.init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", ENVIRONMENT),
        release=env_str("SENTRY_RELEASE"),
    )

# --- Odonta ----------------------------------------------------------------------------
ODONTA_DEMO = env_bool("ODONTA_DEMO", False)
# A domain event whose handlers still fail after this many attempts (about five hours of
# doubling backoff for 12) is marked failed and waits in Settings -> Failed events.
ODONTA_OUTBOX_MAX_ATTEMPTS = env_int("ODONTA_OUTBOX_MAX_ATTEMPTS", 12)
# Live updates and outbox nudges leave the request through one background thread per
# process (clinic.courier); tests and the broker-less quickstart deliver them in place.
# Web processes find their fonts for PDFs at start, not on the first print (config/asgi.py).
ODONTA_WARM_UP_PDF = env_bool("ODONTA_WARM_UP_PDF", PRODUCTION)
ODONTA_COURIER_THREAD = env_bool(
    "ODONTA_COURIER_THREAD", PRODUCTION and not CELERY_TASK_ALWAYS_EAGER
)
# Clinical images (clinical.images): a JPEG or PNG up to this many bytes, a DICOM (a CBCT
# volume is large) up to the second; a picture of more pixels is refused as a possible
# decompression bomb (Pillow would allocate it whole).
ODONTA_IMAGE_MAX_BYTES = env_int("ODONTA_IMAGE_MAX_BYTES", 30 * 1024 * 1024)
ODONTA_DICOM_MAX_BYTES = env_int("ODONTA_DICOM_MAX_BYTES", 200 * 1024 * 1024)
ODONTA_IMAGE_MAX_PIXELS = env_int("ODONTA_IMAGE_MAX_PIXELS", 60_000_000)
# /healthz answers 503 when the workers' heartbeat or the oldest pending domain event is
# older than this many seconds (clinic.health).
ODONTA_HEALTH_WORKER_MAX_AGE = env_int("ODONTA_HEALTH_WORKER_MAX_AGE", 300)
ODONTA_HEALTH_OUTBOX_MAX_AGE = env_int("ODONTA_HEALTH_OUTBOX_MAX_AGE", 900)
# Days a finished row is kept before the nightly purge (clinic.retention), per kind. A
# processed webhook's dedupe key goes with it: keep it past any provider's redelivery window.
ODONTA_RETENTION_DAYS = {
    "dispatched_events": env_int("ODONTA_RETAIN_DISPATCHED_EVENTS_DAYS", 30),
    "processed_webhooks": env_int("ODONTA_RETAIN_PROCESSED_WEBHOOKS_DAYS", 30),
    "expired_sessions": env_int("ODONTA_RETAIN_EXPIRED_SESSIONS_DAYS", 0),
    # Successful lines of Settings -> Integrations -> Sync log; failed and skipped ones stay.
    "sync_log_ok": env_int("ODONTA_RETAIN_SYNC_LOG_OK_DAYS", 90),
}
# Requests a second to one outside account, shared by every process (integrations.http);
# a connection's settings["rate_limit"] overrides it.
INTEGRATIONS_RATE_LIMIT = env_int("ODONTA_INTEGRATIONS_RATE_LIMIT", 7)
# Attempts of one amoCRM request (5xx, timeouts, 429) before the push backs off.
AMOCRM_MAX_ATTEMPTS = env_int("ODONTA_AMOCRM_MAX_ATTEMPTS", 4)
# How often the amoCRM reconcile reads what changed since its last run, in seconds.
AMOCRM_RECONCILE_SECONDS = env_int("ODONTA_AMOCRM_RECONCILE_SECONDS", 300)
# amoCRM accounts live at https://<sub>.amocrm.ru or https://<sub>.kommo.com; a loopback
# address (http://127.0.0.1:<port>, the fake amoCRM of tests and demos) is accepted only
# when this is on (never in production).
AMOCRM_ALLOW_LOOPBACK = env_bool("ODONTA_AMOCRM_ALLOW_LOOPBACK", DEBUG)
# The address outside systems reach this site at (https://mis.clinic.ru), for the OAuth
# redirect URI and webhook destinations; empty: the address of the request.
ODONTA_PUBLIC_URL = env_str("ODONTA_PUBLIC_URL", "").rstrip("/")
# An uploaded patient import file (names, phones, documents) is deleted when its job ends,
# and after this many days whatever the job's state (patients.tasks.patient_imports_sweep).
PATIENT_IMPORT_KEEP_FILES_DAYS = env_int("PATIENT_IMPORT_KEEP_FILES_DAYS", 7)
# A running import with no committed chunk for this long is shown as stuck (resume or fail).
PATIENT_IMPORT_STUCK_MINUTES = env_int("PATIENT_IMPORT_STUCK_MINUTES", 10)

# The audit chain's head is anchored (clinic.audit.anchor_head) in this file, outside the
# database; users download from MEDIA_ROOT, so the anchors must not be there.
AUDIT_ANCHOR_PATH = AUDIT_ANCHOR_PATH.resolve()
if any(AUDIT_ANCHOR_PATH.is_relative_to(root.resolve()) for root in (MEDIA_ROOT, STATIC_ROOT)):
    raise ImproperlyConfigured(
        "ODONTA_AUDIT_ANCHOR_PATH must be outside MEDIA_ROOT and STATIC_ROOT."
    )
