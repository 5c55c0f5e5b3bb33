"""Settings: one module, everything from environment variables.

Unset variables mean the embedded default (SQLite in var/, tasks run in-process, e-mail
written to var/mail/), so `make run` needs nothing installed. Production sets DATABASE_URL,
CELERY_BROKER_URL, EMAIL_URL, SECRET_KEY, PORTAL_SIGNING_KEY, BID_MASTER_KEY, DEBUG=0 and
ALLOWED_HOSTS.
"""

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-embedded-development-key-not-for-production"  # noqa: S105 - DEBUG only (refused above)

# Keys kept outside the database (see core/keys.py). Each comes from its environment variable
# (the key itself) or from the file that <NAME>_FILE points to; both are required when DEBUG is
# off. The embedded default generates each once into var/, readable by its owner only.
# PORTAL_SIGNING_KEY: Ed25519 private key (PEM) that signs audit anchors and bid receipts.
PORTAL_SIGNING_KEY = os.environ.get("PORTAL_SIGNING_KEY", "")
PORTAL_SIGNING_KEY_FILE = os.environ.get("PORTAL_SIGNING_KEY_FILE", "")
# BID_MASTER_KEY: a Fernet key (32 random bytes, URL-safe base64) that wraps the keys of
# sealed bids (used by the bids issue).
BID_MASTER_KEY = os.environ.get("BID_MASTER_KEY", "")
BID_MASTER_KEY_FILE = os.environ.get("BID_MASTER_KEY_FILE", "")
# While rotating BID_MASTER_KEY: the previous key(s), comma-separated, still accepted to
# unwrap process keys until `manage.py rotate_bid_keys` has rewrapped them all.
BID_MASTER_KEY_PREVIOUS = os.environ.get("BID_MASTER_KEY_PREVIOUS", "")
PORTAL_SIGNING_KEY_CREATE_IF_MISSING = BID_MASTER_KEY_CREATE_IF_MISSING = False
if not (PORTAL_SIGNING_KEY or PORTAL_SIGNING_KEY_FILE):
    if not DEBUG:
        raise ImproperlyConfigured(
            "PORTAL_SIGNING_KEY (or PORTAL_SIGNING_KEY_FILE) must be set when DEBUG is off."
        )
    PORTAL_SIGNING_KEY_FILE = str(VAR_DIR / "portal_signing_key.pem")
    PORTAL_SIGNING_KEY_CREATE_IF_MISSING = True
if not (BID_MASTER_KEY or BID_MASTER_KEY_FILE):
    if not DEBUG:
        raise ImproperlyConfigured(
            "BID_MASTER_KEY (or BID_MASTER_KEY_FILE) must be set when DEBUG is off."
        )
    BID_MASTER_KEY_FILE = str(VAR_DIR / "bid_master_key")
    BID_MASTER_KEY_CREATE_IF_MISSING = True

# Signed anchors of the audit chain's head are appended to files in ANCHOR_DIR, outside the
# database. In production point it at storage the database's administrators cannot rewrite
# (e.g. an object-store bucket with object lock / retention, mounted with s3fs or similar).
ANCHOR_DIR = Path(os.environ.get("ANCHOR_DIR", VAR_DIR / "anchors"))

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "config.admin.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # full-text search fields (procurement.search); harmless on SQLite
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "accounts",
    "suppliers",
    "procurement",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.PortalLanguageMiddleware",
    "core.middleware.RejectControlCharactersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.AuditorReadOnlyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The only URLs (names; "ns:" for a whole namespace) an auditor may send a write to
# (accounts.middleware): their notes, a request to verify the audit chain, the session's
# language, their own account and subscriptions.
AUDITOR_MAY_POST = (
    "audit_notes",
    "audit_trail_verify",
    "set_language",
    "accounts:",
    "subscriptions:",
)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "accounts.context_processors.portal_roles",
            ],
        },
    },
]

# Database: DATABASE_URL, or the embedded SQLite file.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers on the embedded default: IMMEDIATE transactions take the write lock
    # when they begin (a reader that later writes cannot deadlock into "database is
    # locked"), the busy timeout makes a writer wait its turn, and WAL lets readers go on
    # while one writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: it pays off on long analytical scans, not on a page's queries,
    # whose plans PostgreSQL estimates costly enough to compile for seconds (the SME share's
    # subqueries per contract: 5.8 of 11 s at 200,000 processes, bench/scale.py).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.PortalBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# How long an e-mail verification link stays valid.
EMAIL_VERIFICATION_MAX_AGE = int(os.environ.get("EMAIL_VERIFICATION_MAX_AGE", 3 * 24 * 3600))

LANGUAGE_CODE = "es"
LANGUAGES = [("es", _("Spanish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# django-filter's empty choice in every search form: "Any" in the user's language (its
# default, "---------", reads as a missing translation). Yes/no filters use core.widgets.
FILTERS_EMPTY_CHOICE_LABEL = _("Any")
TIME_ZONE = "America/Lima"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `collectstatic` gathers the static files that WhiteNoise serves when DEBUG is off.
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"


# E-mail (Django 6.1 MAILERS): EMAIL_URL (smtp://user:pass@host:port, smtp+tls://, smtps://,
# console://, file:///path), or EMAIL_HOST/EMAIL_PORT, or files in var/mail/.
_SMTP = "django.core.mail.backends.smtp.EmailBackend"
_FILES = "django.core.mail.backends.filebased.EmailBackend"


def _mailer() -> dict:
    url = os.environ.get("EMAIL_URL")
    host = os.environ.get("EMAIL_HOST")
    if not url and host:
        return {
            "BACKEND": _SMTP,
            "OPTIONS": {
                "host": host,
                "port": int(os.environ.get("EMAIL_PORT", "25")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", False),
                "timeout": 30,
            },
        }
    if not url:
        return {"BACKEND": _FILES, "OPTIONS": {"file_path": str(VAR_DIR / "mail")}}
    parts = urlsplit(url)
    if parts.scheme == "console":
        return {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme == "file":
        return {"BACKEND": _FILES, "OPTIONS": {"file_path": unquote(parts.path)}}
    if parts.scheme not in {"smtp", "smtp+tls", "smtps"}:
        raise ImproperlyConfigured(f"EMAIL_URL scheme {parts.scheme!r} is not supported.")
    return {
        "BACKEND": _SMTP,
        "OPTIONS": {
            "host": parts.hostname or "localhost",
            "port": parts.port or (465 if parts.scheme == "smtps" else 25),
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_tls": parts.scheme == "smtp+tls" or "tls" in parse_qs(parts.query),
            "use_ssl": parts.scheme == "smtps",
            "timeout": 30,
        },
    }


MAILERS = {"default": _mailer()}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Portal de Compras <no-reply@localhost>")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Celery: with no broker configured, tasks run in-process (eagerly) at commit time.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "portal")
# Workers reconnect when the broker goes away while they hold tasks (config.celery.Consumer).
CELERY_WORKER_CONSUMER = "config.celery:Consumer"
# A worker keeps its database connection from task to task: Celery's Django fixup would
# close it around every task (a new PostgreSQL backend for each e-mail; bench/notices.py).
# config.celery closes it around each task when unusable or older than CONN_MAX_AGE, as
# Django does around each request; the fixup still renews it every this many tasks.
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))
# `make run` runs a worker with embedded beat on kombu's filesystem transport
# (CELERY_BROKER_URL=filesystem://): messages are files under VAR_DIR/celery/, no server.
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "celery" / "queue"
    _queue.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "control_folder": str(_queue.parent / "control"),
        "store_processed": False,
    }
CELERY_TIMEZONE = TIME_ZONE
# A notice still queued this many seconds after it was made lost its send task: the
# requeue-notices sweep asks for it again (procurement.subscriptions.notices.requeue_stale).
NOTICE_REQUEUE_AFTER = int(os.environ.get("NOTICE_REQUEUE_AFTER", 600))
# Periodic tasks, run by `celery -A config beat` (one beat process per deployment).
CELERY_BEAT_SCHEDULE = {
    "publish-audit-anchor": {
        "task": "core.tasks.publish_audit_anchor",
        "schedule": int(os.environ.get("AUDIT_ANCHOR_INTERVAL", 300)),
    },
    # A full walk of the chain against its anchors; the auditors' page shows the last result.
    "verify-audit-trail": {
        "task": "core.tasks.verify_audit_trail",
        "schedule": int(os.environ.get("AUDIT_VERIFY_INTERVAL", 24 * 3600)),
    },
    # The one-time form tokens (core.idempotency) older than two days are forgotten: no
    # submission pays for the sweep.
    "forget-form-tokens": {
        "task": "core.tasks.forget_form_tokens",
        "schedule": int(os.environ.get("FORM_TOKEN_SWEEP_INTERVAL", 3600)),
    },
    # The outbox: events still pending (the broker was down when they were recorded, or a
    # send failed and is due for a retry) are dispatched by the next run.
    "dispatch-events": {
        "task": "notifications.tasks.dispatch_events",
        "schedule": int(os.environ.get("EVENT_DISPATCH_INTERVAL", 60)),
    },
    # Notices whose send task was lost (the broker was down at commit or lost its messages,
    # or a worker died holding them unacknowledged) are asked for again.
    "requeue-notices": {
        "task": "procurement.tasks.requeue_notices",
        "schedule": int(os.environ.get("NOTICE_REQUEUE_INTERVAL", 300)),
    },
    # The daily digest of the subscriptions that asked for one, at 07:00 in Lima.
    "send-daily-digests": {
        "task": "procurement.tasks.send_daily_digests",
        "schedule": crontab(hour=int(os.environ.get("DIGEST_HOUR", 7)), minute=0),
    },
    # The reminder one working day before each bid deadline to the participants without a
    # bid, and the committee's notice of a deadline that passed with no bid (recorded once
    # per process and deadline, so the interval only bounds how late they may be).
    "record-deadline-events": {
        "task": "procurement.tasks.record_deadline_events",
        "schedule": int(os.environ.get("DEADLINE_EVENTS_INTERVAL", 3600)),
    },
    # Awards whose standstill ended with no appeal are consented (idempotent; a late run
    # consents them as of the day after their standstill).
    "consent-awards": {
        "task": "procurement.tasks.consent_awards",
        "schedule": int(os.environ.get("AWARD_CONSENT_INTERVAL", 3600)),
    },
    # The bulk files of /datos/ (a CSV and an OCDS JSON lines file per year), once a day at
    # 03:00 in Lima.
    "build-open-data": {
        "task": "procurement.tasks.build_open_data",
        "schedule": crontab(hour=int(os.environ.get("OPEN_DATA_HOUR", 3)), minute=0),
    },
    # Red flags and risk scores of every process (procurement.red_flags), once a day at
    # 04:00 in Lima; the services refresh a process's entity and year when it changes.
    "refresh-red-flags": {
        "task": "procurement.tasks.refresh_red_flags",
        "schedule": crontab(hour=int(os.environ.get("RED_FLAGS_HOUR", 4)), minute=0),
    },
    # The SME share pages' summed figures (procurement.sme.refresh_summary), once a day at
    # 05:00 in Lima; the services refresh an entity's year when its contracts change.
    "refresh-sme-summary": {
        "task": "procurement.tasks.refresh_sme_summary",
        "schedule": crontab(hour=int(os.environ.get("SME_SUMMARY_HOUR", 5)), minute=0),
    },
    # The auditor overview's counts of the whole period, counted again before they expire so
    # no auditor waits for them (useful with a shared cache, CACHE_URL).
    "warm-audit-overview": {
        "task": "procurement.tasks.warm_audit_overview",
        "schedule": int(os.environ.get("AUDIT_OVERVIEW_INTERVAL", 240)),
    },
    # The unfiltered tables of /estadisticas/ (procurement.statistics.warm), counted again
    # before they expire (KEPT_SECONDS, 600) so no visitor waits for them (useful with a
    # shared cache, CACHE_URL).
    "warm-statistics": {
        "task": "procurement.tasks.warm_statistics",
        "schedule": int(os.environ.get("STATISTICS_INTERVAL", 540)),
    },
    # Visit counters are counted in Redis and copied into the database (core.visits).
    "persist-visits": {"task": "core.tasks.persist_visits", "schedule": 300},
}

# The local SME bonus in evaluations (procurement.services.evaluation): a fraction of the
# total score for SME bidders domiciled in the department of an entity outside Lima and Callao.
LOCAL_SME_BONUS_RATE = os.environ.get("LOCAL_SME_BONUS_RATE", "0.10")

# Page visit counters (core.visits): a Redis URL (by default the broker's, when it is Redis);
# empty, the counters are rows of the database.
VISITS_REDIS_URL = os.environ.get("VISITS_REDIS_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)


# The cache (the API's throttle counts, the auditor overview's counts): CACHE_URL, redis://
# or rediss:// (shared by every web process and worker, on every machine: what production
# needs), or this process's memory by default (the embedded `make run`).
def _cache() -> dict:
    url = os.environ.get("CACHE_URL", "")
    scheme = urlsplit(url).scheme
    if scheme in {"redis", "rediss"}:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if url and scheme != "locmem":
        raise ImproperlyConfigured(f"CACHE_URL scheme {scheme!r} is not supported.")
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "portal"}


CACHES = {"default": {**_cache(), "KEY_PREFIX": "portal"}}


# Sessions are rows of the database. With a shared cache (CACHE_URL: Redis, one for every
# process and machine) they are read through it (cached_db: written to both, read from the
# cache), so a page reads no session row; a logout or a password change deletes or rewrites
# the one shared copy, so it reaches every process at once. Never with the per-process memory
# cache: another process would go on reading a session that was ended.
def _session_engine(cache: dict) -> str:
    if cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        return "django.contrib.sessions.backends.cached_db"
    return "django.contrib.sessions.backends.db"


SESSION_ENGINE = _session_engine(CACHES["default"])

# The public API (/api/v1/): read-only, anonymous clients throttled per address (core.api).
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.api.PortalCursorPagination",
    "PAGE_SIZE": 50,
    # Public data: no login (and no Basic auth that would bypass the login throttle).
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.AnonymousRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
# Requests per address and period (second, minute, hour or day) for anonymous API clients.
API_ANON_THROTTLE_RATE = os.environ.get("API_ANON_THROTTLE_RATE", "120/minute")
API_MAX_PAGE_SIZE = int(os.environ.get("API_MAX_PAGE_SIZE", 200))
SPECTACULAR_SETTINGS = {
    "TITLE": "Portal de Compras Públicas API",
    "DESCRIPTION": (
        "Datos abiertos del portal: entidades, planes anuales, procesos de selección, "
        "documentos, actas de apertura y proveedores. Solo lectura. OCDS 1.1 en /api/ocds/."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI and Redoc served from the portal itself (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ProcessStatusEnum": "procurement.models.ProcessStatus",
        "OpenedBidStatusEnum": "procurement.models.OpenedBid.Status",
    },
    "LICENSE": {"name": "CC BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
}

# Open data and domain settings.
OCDS_PREFIX = os.environ.get("OCDS_PREFIX", "ocds-xxxxxx")
OCDS_PUBLISHER_NAME = os.environ.get("OCDS_PUBLISHER_NAME", "Portal de Compras Públicas")
# The page stating the licence and publication policy that every OCDS package links to.
OCDS_PUBLICATION_POLICY_PATH = os.environ.get("OCDS_PUBLICATION_POLICY_PATH", "/datos/")
# The daily bulk files of /datos/ (procurement.open_data), written by `build_open_data` and the
# beat task below, read by the page that lists and serves them.
OPEN_DATA_DIR = Path(os.environ.get("OPEN_DATA_DIR", VAR_DIR / "datos"))
DOCUMENT_MAX_UPLOAD_BYTES = int(os.environ.get("DOCUMENT_MAX_UPLOAD_BYTES", 20 * 1024 * 1024))
# Bid documents are kept in memory until sealed (never in a plaintext temporary file): the
# most one request may bring (a paper bid's whole envelope).
SEALED_UPLOAD_MAX_REQUEST_BYTES = int(
    os.environ.get("SEALED_UPLOAD_MAX_REQUEST_BYTES", 5 * DOCUMENT_MAX_UPLOAD_BYTES)
)
PLAN_UPLOAD_MAX_BYTES = int(os.environ.get("PLAN_UPLOAD_MAX_BYTES", 5 * 1024 * 1024))
PLAN_UPLOAD_MAX_ITEMS = int(os.environ.get("PLAN_UPLOAD_MAX_ITEMS", 20_000))
# ZIP containers (ZIP, DOCX, XLSX) are checked from their headers before anything reads them.
UPLOAD_MAX_UNCOMPRESSED_BYTES = int(
    os.environ.get("UPLOAD_MAX_UNCOMPRESSED_BYTES", 100 * 1024 * 1024)
)
PLAN_UPLOAD_MAX_UNCOMPRESSED_BYTES = int(
    os.environ.get("PLAN_UPLOAD_MAX_UNCOMPRESSED_BYTES", 25 * 1024 * 1024)
)
UPLOAD_MAX_ARCHIVE_ENTRIES = int(os.environ.get("UPLOAD_MAX_ARCHIVE_ENTRIES", 2000))
UPLOAD_MAX_COMPRESSION_RATIO = int(os.environ.get("UPLOAD_MAX_COMPRESSION_RATIO", 100))
# The opening of bids: a second committee member confirms within this many minutes of the
# first member starting it (procurement.services.opening).
OPENING_CONFIRM_MINUTES = int(os.environ.get("OPENING_CONFIRM_MINUTES", 30))

# Security: safe defaults; production (DEBUG off) turns on HTTPS-only cookies and HSTS.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy on every response: everything from this origin only, no inline
# script or style, no plugins, no framing (templates keep styles in static/css).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# Sessions end when the browser closes and after SESSION_COOKIE_AGE seconds at most (8 hours
# by default): many suppliers work from shared computers at public internet booths.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", 8 * 3600))
# A bid is confirmed with the password entered within this many seconds (accounts.reauth).
REAUTH_WINDOW_SECONDS = int(os.environ.get("REAUTH_WINDOW_SECONDS", 10 * 60))
# Proxies in front of the portal that append the client's address to X-Forwarded-For: the
# throttles (accounts.throttle) take the client's address from there. 1 behind the TLS proxy
# production uses by default; 0 (REMOTE_ADDR) otherwise. Never more than the real count: a
# client could then choose its own address.
TRUSTED_PROXY_COUNT = int(
    os.environ.get(
        "TRUSTED_PROXY_COUNT", 1 if not DEBUG and env_bool("BEHIND_TLS_PROXY", True) else 0
    )
)
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Static files served by WhiteNoise from STATIC_ROOT (run `manage.py collectstatic`).
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
