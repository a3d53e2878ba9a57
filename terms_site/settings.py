"""Settings, read from the environment through django-environ (docs/operations.md).

Without DATABASE_URL / CELERY_BROKER_URL the service runs embedded: SQLite in WAL mode and
kombu's filesystem broker under var/, so `make run` needs nothing but Python.
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from terms_site import production
from terms_site.logging import build_logging_config
from terms_site.processes import application_name, timeout_kind

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# Values exported in the environment win; the file fills in the rest. `make run` leaves one for
# development (scripts/dev_env.py), a server keeps the production one (docs/operations.md).
environ.Env.read_env(env.str("TERMS_ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

# Runtime files of the embedded mode (SQLite, filesystem broker, beat schedule).
VAR_DIR = Path(env.str("TERMS_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The mode the process was started in; unlike DEBUG, which Django's test runner turns off for
# every test, it says whether this is a developer's machine (loaddemo asks it).
TERMS_DEVELOPMENT_MODE = DEBUG

if DEBUG:
    SECRET_KEY = env.str(
        "DJANGO_SECRET_KEY", default="insecure-development-key-only-for-debug-runs"
    )
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")  # no default outside debug

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",  # sign-in throttling (terms_site/signin.py)
    "core",
    "tenants",
    "agreements",
]

MIDDLEWARE = [
    # Operations first: request metrics time everything; probes and scrapes are answered before
    # host checks, HTTPS redirects and sessions; every other request gets a request id and a log.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "terms_site.health.OpsEndpointsMiddleware",
    "terms_site.logging.RequestIdMiddleware",
    # A database that cannot answer: 503 (problem+json under /api/), one log line (web/errors.py).
    "web.errors.DatabaseUnavailableMiddleware",
    # Every /api/ answer names its API version, those refused before a view runs included —
    # the HTTPS redirect below too, so both sit above it…
    "web.api.apiversion.ApiVersionHeaderMiddleware",
    # …and the caller's rate-limit budget (web/api/throttles.py).
    "web.api.throttles.ApiRateLimitHeaderMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "terms_site.security.ContentSecurityPolicyMiddleware",
    "web.api.limits.ApiBodyLimitsMiddleware",  # API body size and JSON depth (docs/security.md)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # API paths match with or without their trailing slash: no 301 turning a POST into a GET.
    "web.api.slash.ApiTrailingSlashMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Turns a sign-in refused by axes into 429 with Retry-After (terms_site/signin.py).
    "axes.middleware.AxesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Portal: the current tenant (request.portal, request.scope), then the consent gate.
    "web.portal.middleware.CurrentTenantMiddleware",
    "web.portal.middleware.ConsentGateMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "terms_site.urls"
WSGI_APPLICATION = "terms_site.wsgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# PgBouncer in transaction mode (docs/operations.md, "Connections"): a server connection
# serves one transaction at a time, so nothing may outlive a transaction on it - no named
# (server-side) cursors, which QuerySet.iterator() would open; psycopg2 prepares no statements
# and the code takes no session-level advisory locks or SETs outside a transaction.
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER not in ("", "transaction", "session"):
    raise ImproperlyConfigured(
        f"DATABASE_POOLER={DATABASE_POOLER!r}: use transaction, session or leave it empty"
    )

# Which kind of process this is (web, worker, beat, command) chooses the statement timeout: a
# web request must fail fast, a job's statement may run as long as its task, and a command
# (migrate, backup, verify_ledger) as long as it needs. Read from the command line like the
# connection's application_name (terms_site/processes.py); a WSGI server other than gunicorn
# is web by terms_site/wsgi.py; the environment may override it.
TERMS_PROCESS_KIND = env.str("TERMS_PROCESS_KIND", default="") or timeout_kind(sys.argv)
# Timeouts on every PostgreSQL connection (docs/operations.md, When Redis or PostgreSQL fails):
# a database that does not answer costs a request seconds and a 503, not a hung worker.
DATABASE_CONNECT_TIMEOUT = env.int("DATABASE_CONNECT_TIMEOUT", default=3)  # seconds, libpq min 2
DATABASE_STATEMENT_TIMEOUT_MS = {
    "web": env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=10_000),
    "worker": env.int("DATABASE_WORKER_STATEMENT_TIMEOUT_MS", default=300_000),
    "beat": env.int("DATABASE_WORKER_STATEMENT_TIMEOUT_MS", default=300_000),
}.get(TERMS_PROCESS_KIND, env.int("DATABASE_COMMAND_STATEMENT_TIMEOUT_MS", default=0))
DATABASE_TCP_USER_TIMEOUT_MS = env.int("DATABASE_TCP_USER_TIMEOUT_MS", default=10_000)
DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS = env.int(
    "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS", default=60_000
)


def _postgres_timeouts(options: dict[str, object]) -> dict[str, object]:
    """libpq options: the connect timeout, and the server-side timeouts as startup parameters
    (0 leaves the server's own setting).

    PgBouncer refuses the `options` startup parameter, and a SET would leak to other clients
    in transaction mode: behind it, the timeouts are PgBouncer's (`query_timeout`,
    `idle_transaction_timeout`) and the role's (docs/operations.md, Connections).
    """
    options = dict(options)
    options.setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
    # Client-side: a server or network that stops acknowledging (a partition, a dead host)
    # breaks an open connection after this long instead of the kernel's ~15 minutes. A server
    # that acknowledges but never answers is bounded only by gunicorn's worker timeout.
    if DATABASE_TCP_USER_TIMEOUT_MS:
        options.setdefault("tcp_user_timeout", DATABASE_TCP_USER_TIMEOUT_MS)
        options.setdefault("keepalives", 1)
        options.setdefault("keepalives_idle", 10)
        options.setdefault("keepalives_interval", 5)
        options.setdefault("keepalives_count", 3)
    if DATABASE_POOLER:
        return options
    server = [
        f"-c {name}={value}"
        for name, value in (
            ("statement_timeout", DATABASE_STATEMENT_TIMEOUT_MS),
            ("idle_in_transaction_session_timeout", DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS),
        )
        if value
    ]
    if server:
        options["options"] = " ".join([str(options.get("options", "")), *server]).strip()
    return options


if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Every connection says which process holds it (web, worker, beat, manage:<command>).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "application_name", application_name(sys.argv)
    )
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = DATABASE_POOLER == "transaction"
    if "postgresql" in DATABASES["default"]["ENGINE"]:
        DATABASES["default"]["OPTIONS"] = _postgres_timeouts(
            DATABASES["default"].get("OPTIONS", {})
        )
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("TERMS_SQLITE_PATH", default=str(VAR_DIR / "db.sqlite3")),
            "OPTIONS": {
                # Web, worker and beat share one file: WAL lets readers proceed during a write,
                # IMMEDIATE takes the write lock up front so two writers queue instead of failing.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker ------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
REDIS_KEY_PREFIX = env.str("TERMS_REDIS_KEY_PREFIX", default="terms")
if REDIS_URL:
    CACHES = {
        "default": {
            # Falls back to this process's memory while Redis is down (core/cache.py).
            "BACKEND": "core.cache.FallbackRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_SOCKET_TIMEOUT = env.float(
    "CELERY_BROKER_SOCKET_TIMEOUT", default=1.0 if TERMS_PROCESS_KIND == "web" else 10.0
)
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for sub in ("out", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "data_folder_processed": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "global_keyprefix": f"{REDIS_KEY_PREFIX}:",
        # A Redis that takes the connection and answers nothing (hung, not down) must not
        # hold a request: the web's doorbell (core/outbox.py) gives up within a second, as
        # the cache does; a worker waits longer than the broker's own blocking read (1 s).
        "socket_connect_timeout": CELERY_BROKER_SOCKET_TIMEOUT,
        "socket_timeout": CELERY_BROKER_SOCKET_TIMEOUT,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only after it ran, and re-queued if its worker dies: every task is
# idempotent (docs/jobs.md), so a second run is harmless while a lost one would not be.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Processes per worker, set here rather than left to Celery's default (the host's core count,
# which under Docker is the host's, not the container's): each holds a database connection.
CELERY_WORKER_CONCURRENCY = env.int("TERMS_WORKER_CONCURRENCY", default=2)
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_TIMEZONE = "Asia/Tokyo"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "core.heartbeat",
        "schedule": env.float("TERMS_HEARTBEAT_SECONDS", default=30.0),
        "kwargs": {"name": "beat"},
    },
    # The database knows what is due; this tick only rings the bell (docs/jobs.md).
    "lifecycle-tick": {"task": "agreements.lifecycle_tick", "schedule": crontab(minute="*")},
    # Each job's own bell early in the business day (JST), in the order a day needs; the tick
    # above re-rings whatever is still due, so a missed bell delays nothing by more than a minute.
    **{
        f"job-{job}": {
            "task": "agreements.run_job",
            "schedule": crontab(hour=0, minute=minute),
            "kwargs": {"job": job},
        }
        for minute, job in (
            (1, "notices_post"),
            (2, "versions_apply"),
            (3, "contracts_roll"),
            (4, "terminations_effect"),
            (6, "deletions_order"),
            (7, "tenant_redact"),
            (8, "r18_flags"),
        )
    },
    # Notices to people at a civil hour (09:00 JST), delivery every minute in between.
    **{
        f"job-{job}": {
            "task": "agreements.run_job",
            "schedule": crontab(hour=9, minute=0),
            "kwargs": {"job": job},
        }
        for job in (
            "consent_reminders",
            "scheduled_reminders",
            "renewal_notices",
            "deletion_reminders",
        )
    },
    "deliver-outbox": {"task": "core.deliver_outbox", "schedule": crontab(minute="*")},
    # Chain heads as of 00:00 JST into the logs, so a rewritten chain shows outside the database.
    "ledger-heads-daily": {"task": "ops.log_ledger_heads", "schedule": crontab(hour=0, minute=5)},
    # The same heads signed with the key that is not in the database (docs/ledger.md).
    "ledger-checkpoint-daily": {
        "task": "ops.ledger_checkpoint",
        "schedule": crontab(hour=0, minute=10),
    },
    "housekeeping": {"task": "ops.housekeeping", "schedule": crontab(minute=17)},
}
CELERY_IMPORTS = ["terms_site.tasks"]
# Worker logs go through LOGGING below (JSON in production), not Celery's own handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Auth ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/portal/login/"
# Axes first: a locked account or address is refused before any password is checked. Which
# users may sign in where (staff: console and admin; tenant users: portal) is each form's rule.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in throttling (terms_site/signin.py, docs/security.md): failures only, per normalised
# account name and per client address, shared by every sign-in form, on the shared cache.
AXES_HANDLER = "terms_site.signin.SignInThrottle"
AXES_CACHE = "default"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = 10  # failures per account; the 11th attempt is refused
TERMS_SIGNIN_ADDRESS_FAILURE_LIMIT = 50  # failures per client address
AXES_COOLOFF_TIME = timedelta(minutes=15)  # after the last counted failure
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "terms_site.signin.signin_username"
AXES_CLIENT_IP_CALLABLE = "web.ratelimit.client_address"
AXES_LOCKOUT_CALLABLE = "terms_site.signin.lockout_response"
AXES_ENABLE_ADMIN = False  # the counters live in the cache; axes' tables stay empty
AXES_VERBOSE = False
# The client address behind reverse proxies (web.ratelimit.client_address). 0: the socket's
# peer, whatever X-Forwarded-For says. N: N proxies append to X-Forwarded-For, the client is
# the N-th entry from the right; TERMS_TRUSTED_PROXIES (addresses or networks) limits that to
# connections from those proxies.
TERMS_TRUSTED_PROXY_COUNT = env.int("TERMS_TRUSTED_PROXY_COUNT", default=0)
TERMS_TRUSTED_PROXIES = env.list("TERMS_TRUSTED_PROXIES", default=[])
SESSION_COOKIE_AGE = env.int("TERMS_SESSION_AGE_SECONDS", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- Security (production unless DEBUG) -----------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^health/jobs$"]

# --- I18n ---------------------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("日本語")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # the language choice outlives a browser session
USE_I18N = True
TIME_ZONE = "Asia/Tokyo"  # business dates; instants are stored in UTC (USE_TZ)
USE_TZ = True

# --- Static -------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.str("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Email --------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="terms@optim.example")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "EXCEPTION_HANDLER": "web.api.problems.problem_exception_handler",
}
# Requests per API key (or staff user); 429 with Retry-After beyond it.
TERMS_API_THROTTLE_RATE = env.str("TERMS_API_THROTTLE_RATE", default="600/min")
# The public per-version PDF is rendered per request: downloads per client address and minute.
TERMS_PUBLIC_PDF_PER_MINUTE = env.int("TERMS_PUBLIC_PDF_PER_MINUTE", default=30)
# API bodies: 413 above this size, 400 above this JSON nesting (web/api/limits.py). Django's own
# limit for every other body stays at its default (2.5 MB), above the API's.
TERMS_API_MAX_BODY_BYTES = env.int("TERMS_API_MAX_BODY_BYTES", default=1024 * 1024)
TERMS_API_MAX_JSON_DEPTH = env.int("TERMS_API_MAX_JSON_DEPTH", default=64)
SPECTACULAR_SETTINGS = {
    "TITLE": "OPTiM Terms & Consent API",
    "DESCRIPTION": "Terms versions, consent ledger, contracts and deadlines for partners and products.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # OpenAPI 3.1: a nullable member is `type: [X, "null"]` (JSON Schema), which every client
    # generator reads the same way; 3.0's `nullable: true` on a required member is dropped by
    # some of them (datamodel-code-generator without --strict-nullable), so a null fails.
    "OAS_VERSION": "3.1.0",
    # Enum components as drf-spectacular makes them, then links between operations.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "web.api.schema.add_links",
        "web.api.schema.closed_request_bodies",
    ],
    "DEFAULT_GENERATOR_CLASS": "web.api.schema.ApiSchemaGenerator",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # One name per choice set in the API schema (web/api/schema.py, docs/api.md).
    "ENUM_NAME_OVERRIDES": {
        "EventKindEnum": "core.enums.EventKind",
        "LocaleEnum": "tenants.enums.Locale",
        "RoleEnum": "tenants.enums.Role",
        "InvitationStatusEnum": "tenants.enums.InvitationStatus",
        "AnswerEnum": "agreements.enums.Answer",
        "CallerAnswerEnum": "web.api.consents.CALLER_ANSWER_CHOICES",
        "ConsentStatusEnum": "agreements.enums.ConsentStatus",
        "ConsentModeEnum": "agreements.enums.ConsentMode",
        "ContractStatusEnum": "agreements.enums.ContractStatus",
        "DeletionStatusEnum": "agreements.enums.DeletionStatus",
        "DeletionKindEnum": "agreements.enums.DeletionKind",
        "DocumentKindEnum": "agreements.enums.DocumentKind",
        "VersionStatusEnum": "agreements.enums.VersionStatus",
        "PeriodStatusEnum": "agreements.enums.PeriodStatus",
        "NonRenewalStatusEnum": "agreements.enums.NonRenewalStatus",
        "TerminationStatusEnum": "agreements.enums.TerminationStatus",
        "TerminationReasonEnum": "agreements.enums.TerminationReason",
        "TermsSourceEnum": "agreements.enums.TermsSource",
        "CaseStatusEnum": "agreements.enums.CaseStatus",
        "ChangeCategoryEnum": "agreements.enums.ChangeCategory",
        "BillingCycleEnum": "agreements.enums.BillingCycle",
        "ChannelEnum": "agreements.enums.Channel",
        "ActorKindEnum": "agreements.enums.ActorKind",
        "ArticleDiffKindEnum": "web.api.versions.ARTICLE_KIND_CHOICES",
        "ParagraphDiffKindEnum": "web.api.versions.PARAGRAPH_KIND_CHOICES",
        "SegmentOpEnum": "web.api.versions.SEGMENT_OP_CHOICES",
        "StatusFlagEnum": "web.api.status.STATUS_FLAG_CHOICES",
    },
}

# --- Logging ------------------------------------------------------------------------------
# JSON lines in production, readable lines in debug; request id, tenant and partner ids attached,
# secrets and personal data scrubbed (terms_site/logging.py).
LOGGING = build_logging_config(
    level=env.str("DJANGO_LOG_LEVEL", default="INFO"),
    fmt=env.str("TERMS_LOG_FORMAT", default="console" if DEBUG else "json"),
)

# --- The service's own settings (TERMS_*) -----------------------------------------------------
TERMS_SEEDS_DIR = env.str("TERMS_SEEDS_DIR", default=str(BASE_DIR.parent / "shared" / "seeds"))
TERMS_PORTAL_BASE_URL = env.str("TERMS_PORTAL_BASE_URL", default="http://127.0.0.1:8000")
# R2: minimum days between posting a revision and its effective date, per legal basis: a
# type-(i) change (and an explicit-consent revision) needs TERMS_NOTICE_LEAD_DAYS, a type-(ii)
# change TERMS_NOTICE_LEAD_DAYS_REASONABLE (a customer who objects must be able to leave
# before it binds). The same period runs from a late delivery before deemed consent (R3).
TERMS_NOTICE_LEAD_DAYS = env.int("TERMS_NOTICE_LEAD_DAYS", default=7)
TERMS_NOTICE_LEAD_DAYS_REASONABLE = env.int("TERMS_NOTICE_LEAD_DAYS_REASONABLE", default=30)
TERMS_TERMINATION_NOTICE_DAYS = env.int("TERMS_TERMINATION_NOTICE_DAYS", default=30)  # R6
TERMS_DELETION_PRIMARY_ALLOWED = env.bool("TERMS_DELETION_PRIMARY_ALLOWED", default=True)  # R15
TERMS_DELETION_REQUEST_GRACE_DAYS = env.int("TERMS_DELETION_REQUEST_GRACE_DAYS", default=14)
TERMS_DELETION_REMINDER_DAYS = env.int("TERMS_DELETION_REMINDER_DAYS", default=7)
# A contract's start date (R9) lies between this floor and today + this many days; a partner
# cannot register one whose first period has already ended (docs/security.md).
TERMS_CONTRACT_START_FLOOR = date.fromisoformat(
    env.str("TERMS_CONTRACT_START_FLOOR", default="2000-01-01")
)
TERMS_CONTRACT_START_MAX_AHEAD_DAYS = env.int("TERMS_CONTRACT_START_MAX_AHEAD_DAYS", default=365)
# Four eyes by authorship: nobody who created, edited or classified a version schedules it,
# and nobody withdraws what they scheduled. false is the single-person mode of a developer's
# own machine; a production process refuses to start with it (docs/security.md).
TERMS_REQUIRE_SECOND_PUBLISHER = env.bool("TERMS_REQUIRE_SECOND_PUBLISHER", default=True)
TERMS_IDEMPOTENCY_TTL_HOURS = env.int("TERMS_IDEMPOTENCY_TTL_HOURS", default=24)
TERMS_HEARTBEAT_MAX_AGE_SECONDS = env.int("TERMS_HEARTBEAT_MAX_AGE_SECONDS", default=180)
# /health/jobs fails when a message has been due for longer than this (docs/operations.md).
TERMS_OUTBOX_BACKLOG_MAX_AGE_SECONDS = env.int("TERMS_OUTBOX_BACKLOG_MAX_AGE_SECONDS", default=900)
# /readyz's `SELECT 1` gives up after this long: a probe answers before the balancer's timeout.
TERMS_READYZ_DATABASE_TIMEOUT_MS = env.int("TERMS_READYZ_DATABASE_TIMEOUT_MS", default=2000)
TERMS_JOB_LEASE_SECONDS = env.int("TERMS_JOB_LEASE_SECONDS", default=300)
TERMS_JOB_BATCH_SIZE = env.int("TERMS_JOB_BATCH_SIZE", default=500)
TERMS_OUTBOX_MAX_ATTEMPTS = env.int("TERMS_OUTBOX_MAX_ATTEMPTS", default=8)
# Delivery (docs/jobs.md, "Delivery"): messages claimed per batch, and the first retry's delay
# (doubled per failed attempt, capped at 6 h).
TERMS_OUTBOX_BATCH_SIZE = env.int("TERMS_OUTBOX_BATCH_SIZE", default=100)
TERMS_OUTBOX_BACKOFF_SECONDS = env.int("TERMS_OUTBOX_BACKOFF_SECONDS", default=60)
# The hour (JST) from which the tick sends notices to people (reminders, renewal notices).
TERMS_NOTICE_HOUR = env.int("TERMS_NOTICE_HOUR", default=9)
# Housekeeping (hourly, terms_site.tasks.housekeeping; docs/operations.md, "Housekeeping"):
# how long job runs and failed delivery attempts of delivered messages are kept, and rows
# deleted per statement (each batch its own short transaction).
TERMS_RETENTION_JOB_RUNS_DAYS = env.int("TERMS_RETENTION_JOB_RUNS_DAYS", default=90)
TERMS_RETENTION_DELIVERY_ATTEMPTS_DAYS = env.int(
    "TERMS_RETENTION_DELIVERY_ATTEMPTS_DAYS", default=180
)
for _name in ("TERMS_RETENTION_JOB_RUNS_DAYS", "TERMS_RETENTION_DELIVERY_ATTEMPTS_DAYS"):
    # 0 or less would delete every job run or attempt at the next hourly run.
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1 (days)")
TERMS_HOUSEKEEPING_BATCH_SIZE = env.int("TERMS_HOUSEKEEPING_BATCH_SIZE", default=1000)
# Webhooks (docs/security.md): one deadline for a whole delivery (connect, TLS, send, answer),
# how many endpoints are posted to at once, and - in debug only - host names that may resolve
# to loopback or private addresses (a receiver on the developer's machine).
TERMS_WEBHOOK_TIMEOUT_SECONDS = env.float("TERMS_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
TERMS_WEBHOOK_CONCURRENCY = env.int("TERMS_WEBHOOK_CONCURRENCY", default=8)
TERMS_WEBHOOK_ALLOW_HOSTS = env.list("TERMS_WEBHOOK_ALLOW_HOSTS", default=[]) if DEBUG else []
TERMS_METRICS_TOKEN = env.str("TERMS_METRICS_TOKEN", default="")
# The token (for /metrics and the /readyz detail) only over HTTPS: TLS to gunicorn itself, or
# the TLS proxy's X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER). Plain HTTP only in debug.
TERMS_METRICS_REQUIRE_HTTPS = not DEBUG
TERMS_STAFF_EMAIL = env.str("TERMS_STAFF_EMAIL", default="legal@optim.example")
# Ledger checkpoints (docs/ledger.md, docs/operations.md): the Ed25519 signing key never lives
# in the database. Base64 of the 32 raw bytes or PEM, inline or in a file; without either, debug
# runs make a local key under var/ and production refuses to sign.
TERMS_CHECKPOINT_KEY = env.str("TERMS_CHECKPOINT_KEY", default="")
TERMS_CHECKPOINT_KEY_FILE = env.str("TERMS_CHECKPOINT_KEY_FILE", default="")
# Earlier (rotated) public keys, base64 of the 32 raw bytes: their checkpoints still verify.
TERMS_CHECKPOINT_PUBLIC_KEYS = env.list("TERMS_CHECKPOINT_PUBLIC_KEYS", default=[])
# A checkpoint covers rows recorded this long before it is signed, so that a transaction that
# recorded a row just before and commits just after cannot look like a back-dated insert.
TERMS_CHECKPOINT_SETTLE_SECONDS = env.int("TERMS_CHECKPOINT_SETTLE_SECONDS", default=300)

# --- Read replica (docs/operations.md, "Scale") ----------------------------------------------
# A streaming replica of the primary for reads that tolerate a little lag: the status check,
# the public terms and notice pages, the console dashboard. Only views that opt in with
# core.replica.reads_from_replica read from it; writes and migrations stay on `default`.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
# A block reads the replica only while its replay lag is at most this (else the primary); the
# status check also re-reads every "not allowed" or "outstanding" answer on the primary.
TERMS_REPLICA_MAX_LAG_SECONDS = env.float("TERMS_REPLICA_MAX_LAG_SECONDS", default=5.0)
# How long one process trusts a lag measurement (one small statement on each server).
TERMS_REPLICA_CHECK_SECONDS = env.float("TERMS_REPLICA_CHECK_SECONDS", default=2.0)
if DATABASE_REPLICA_URL:
    _replica = environ.Env.db_url_config(DATABASE_REPLICA_URL)
    if "postgresql" not in DATABASES["default"]["ENGINE"] or "postgresql" not in _replica["ENGINE"]:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL needs PostgreSQL for DATABASE_URL and itself"
        )
    # The primary's connection options (timeouts, application_name) apply to the replica too; a
    # replica host that drops packets must fail the lag check fast, hence its own connect timeout.
    _replica["OPTIONS"] = {
        "connect_timeout": 3,
        **DATABASES["default"].get("OPTIONS", {}),
        **_replica.get("OPTIONS", {}),
    }
    _replica.setdefault("CONN_MAX_AGE", DATABASES["default"].get("CONN_MAX_AGE", 0))
    _replica["CONN_HEALTH_CHECKS"] = True
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]

# --- Production refuses what is not production (terms_site/production.py) -------------------
# Outside debug a delivering-nothing e-mail backend, a placeholder or weak secret key and the
# debug-only settings stop every process at start; a staging host names what it accepts here
# (email, secret, loaddemo) and every process says so on stderr.
TERMS_ALLOW_NONPRODUCTION = env.list("TERMS_ALLOW_NONPRODUCTION", default=[])
if not DEBUG:
    production.announce(
        TERMS_ALLOW_NONPRODUCTION,
        production.enforce(
            production.refusals(
                secret_key=SECRET_KEY,
                email_backend=EMAIL_CONFIG["EMAIL_BACKEND"],
                webhook_allow_hosts=env.list("TERMS_WEBHOOK_ALLOW_HOSTS", default=[]),
                require_second_publisher=TERMS_REQUIRE_SECOND_PUBLISHER,
                urls={
                    name: env.str(name, default="")
                    for name in ("DATABASE_URL", "EMAIL_URL", "REDIS_URL", "CELERY_BROKER_URL")
                },
            ),
            TERMS_ALLOW_NONPRODUCTION,
        ),
    )
