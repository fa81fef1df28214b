"""Django settings, read from the environment (see .env.example and README)."""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dj_database_url
from dotenv import load_dotenv

from . import queues
from .env import ConfigError, env_bool, env_int, env_list, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent


# A .env file in the project root is read when present; variables already in
# the environment win, so a process manager's settings are never overridden.
load_dotenv(BASE_DIR / ".env", override=False)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        # A fixed key in production would let anyone forge sessions and
        # signed links: refuse to start instead.
        raise ConfigError(
            "SECRET_KEY is not set. Set it to a long random value, e.g. the "
            "output of: .venv/bin/python -c "
            "'import secrets; print(secrets.token_urlsafe(50))'"
            " (DEBUG=true, as make run sets, uses a development key instead)."
        )
    SECRET_KEY = "django-insecure-development-key-set-SECRET_KEY-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_celery_beat",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "monitors",
    "alerts",
    "statuspages",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before CommonMiddleware, whose slash redirect resolves in the page's
    # URLs on its own domain.
    "statuspages.middleware.CustomDomainMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "uptime.middleware.ContentSecurityPolicyMiddleware",
    "uptime.middleware.RequestLimitsMiddleware",
]

ROOT_URLCONF = "uptime.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "uptime.context_processors.site",
                "monitors.dashboard.context.pipeline",
            ],
        },
    },
]

WSGI_APPLICATION = "uptime.wsgi.application"

# PostgreSQL is the one database: the dispatcher claims due monitors with
# SKIP LOCKED and the dashboard's aggregates are PostgreSQL SQL. Unset means
# the local development database, which `make run` creates when missing.
DEV_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/uptime_dev"
_database_url = env_str("DATABASE_URL") or DEV_DATABASE_URL
try:
    _database = dj_database_url.parse(_database_url, conn_max_age=60)
except Exception as exc:  # dj-database-url raises several types
    raise ConfigError(f"DATABASE_URL is not a valid database URL: {exc}") from None
if _database["ENGINE"] != "django.db.backends.postgresql":
    # Name only the scheme: the rest of the URL may hold a password.
    raise ConfigError(
        f"DATABASE_URL must be a PostgreSQL URL "
        f"(postgres://user:password@host:5432/name), not "
        f"{_database_url.split(':', 1)[0]}://..."
    )
DATABASES = {"default": _database}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_PW = "django.contrib.auth.password_validation."
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": _PW + "UserAttributeSimilarityValidator"},
    {"NAME": _PW + "MinimumLengthValidator"},
    {"NAME": _PW + "CommonPasswordValidator"},
    {"NAME": _PW + "NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:overview"
LOGOUT_REDIRECT_URL = "login"

# HTTPS in production (README, Deploy). Every default suits plain HTTP on
# 127.0.0.1; `manage.py check --deploy` is clean once the README's production
# values are set.
# The header a TLS-terminating proxy sets to tell Django a request came in
# over HTTPS. Trust it only behind such a proxy: a client talking to the web
# process directly could send it itself. Empty: no header is trusted.
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    if not re.fullmatch(r"[A-Za-z0-9-]+", _proxy_ssl_header):
        raise ConfigError(
            f"SECURE_PROXY_SSL_HEADER={_proxy_ssl_header!r} is not a header name "
            "(e.g. X-Forwarded-Proto)"
        )
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _proxy_ssl_header.upper().replace("-", "_"),
        "https",
    )
# Redirect plain HTTP to HTTPS, except the health checks a load balancer
# may probe over plain HTTP.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz(/|$)"]
# Strict-Transport-Security: browsers use only HTTPS for this long (seconds;
# 0: no header). Hard to take back: start small, raise to a year when sure.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Public base URL, used for links in alerts (incident pages).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- email (Django's own variables) ---------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "uptime@localhost")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
if not EMAIL_HOST:
    EMAIL_HOST = "localhost"

# --- the monitor ------------------------------------------------------------
_REGION_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
UPTIME_REGIONS = env_list("UPTIME_REGIONS", "local")
for _code in UPTIME_REGIONS:
    if not _REGION_CODE.match(_code):
        raise ConfigError(
            f"UPTIME_REGIONS contains {_code!r}: region codes are lowercase "
            "letters, digits and dashes"
        )
if not UPTIME_REGIONS:
    raise ConfigError("UPTIME_REGIONS must name at least one region")
UPTIME_REGION = env_str("UPTIME_REGION", UPTIME_REGIONS[0])
if not _REGION_CODE.match(UPTIME_REGION):
    raise ConfigError(f"UPTIME_REGION={UPTIME_REGION!r} is not a valid region code")
UPTIME_MIN_INTERVAL_SECONDS = env_int("UPTIME_MIN_INTERVAL_SECONDS", 10, minimum=1)
UPTIME_ALLOW_PRIVATE_TARGETS = env_bool("UPTIME_ALLOW_PRIVATE_TARGETS", False)
# A monitor's own Host header would let it ask a shared address (a CDN, a
# load balancer) for any site behind it; off unless the operator allows it.
UPTIME_ALLOW_HOST_HEADER = env_bool("UPTIME_ALLOW_HOST_HEADER", False)
# Ticks older than this are deleted hourly (the dashboard shows up to 90 days).
# Raw ticks live in one partition per UTC day; a day past this is dropped
# whole (monitors.partitions), its rollups stay.
UPTIME_TICK_RETENTION_DAYS = env_int("UPTIME_TICK_RETENTION_DAYS", 400, minimum=91)
# Hourly and daily rollups (charts, uptime, badges beyond the raw ticks).
UPTIME_ROLLUP_RETENTION_DAYS = env_int("UPTIME_ROLLUP_RETENTION_DAYS", 3650, minimum=91)
# 5-minute rollups: enough for the 30-day chart at its finest.
UPTIME_ROLLUP_5M_RETENTION_DAYS = env_int(
    "UPTIME_ROLLUP_5M_RETENTION_DAYS", 35, minimum=31
)
# How far ahead of its slot a batch is dispatched; the worker waits for the
# slot, so checks start on time instead of up to a beat tick late.
UPTIME_DISPATCH_LEAD_SECONDS = 1.5
# Checks in flight at once in one batch (one worker thread).
UPTIME_CHECK_CONCURRENCY = env_int("UPTIME_CHECK_CONCURRENCY", 500, minimum=1)
# The lag guard: a batch that starts later than a quarter of its monitors'
# interval, and at most this many seconds, is not run but recorded as missed
# (0: every batch runs, however late).
UPTIME_MAX_START_LAG_SECONDS = env_int("UPTIME_MAX_START_LAG_SECONDS", 5, minimum=0)
# A check that times out while the worker's event loop runs this late is
# recorded as missed, not DOWN: the worker was overloaded, not the target.
UPTIME_MAX_LOOP_LAG_MS = env_int("UPTIME_MAX_LOOP_LAG_MS", 500, minimum=10)
# Each check starts at its own millisecond phase in its slot's second (from
# the monitor id), so a batch does not start all at once; false starts a
# batch's checks together on the slot.
UPTIME_SPREAD_CHECKS = env_bool("UPTIME_SPREAD_CHECKS", True)
# Days an invitation to a project can be accepted; each link works once.
UPTIME_INVITE_MAX_AGE_DAYS = env_int("UPTIME_INVITE_MAX_AGE_DAYS", 7, minimum=1)
# Checks in flight at once to one target host in one batch, whatever the
# project: many monitors on one host must not become a load generator.
UPTIME_MAX_CHECKS_PER_HOST = env_int("UPTIME_MAX_CHECKS_PER_HOST", 20, minimum=1)
# The resolver (ip:port) for DNS monitors that name none; empty: the system's.
UPTIME_DNS_RESOLVER = env_str("UPTIME_DNS_RESOLVER")
# Quotas per project (checked when a monitor is saved; the admin is exempt)
# and the request rate one target host may get from all projects together.
UPTIME_QUOTA_MONITORS = env_int("UPTIME_QUOTA_MONITORS", 1000, minimum=1)
UPTIME_QUOTA_CHECKS_PER_MINUTE = env_int(
    "UPTIME_QUOTA_CHECKS_PER_MINUTE", 20_000, minimum=1
)
UPTIME_MAX_REQUESTS_PER_MINUTE_PER_HOST = env_int(
    "UPTIME_MAX_REQUESTS_PER_MINUTE_PER_HOST", 3000, minimum=1
)
# Self-monitoring: /metrics answers only to this bearer token (unset: 404);
# /healthz/pipeline and the dashboard banner call dispatch or a region stale
# after this many seconds (regions: plus two of their shortest intervals),
# and a queue backed up beyond this many waiting messages.
UPTIME_METRICS_TOKEN = env_str("UPTIME_METRICS_TOKEN")
UPTIME_PIPELINE_GRACE_SECONDS = env_int("UPTIME_PIPELINE_GRACE_SECONDS", 15, minimum=1)
UPTIME_PIPELINE_MAX_QUEUE = env_int("UPTIME_PIPELINE_MAX_QUEUE", 1000, minimum=1)
# Alert channels, and members plus pending invitations, one project may have.
UPTIME_QUOTA_CHANNELS = env_int("UPTIME_QUOTA_CHANNELS", 50, minimum=1)
UPTIME_QUOTA_MEMBERS = env_int("UPTIME_QUOTA_MEMBERS", 50, minimum=1)
UPTIME_USER_AGENT = "UptimeMonitor/1.0 (+https://github.com/uptime-monitor)"
# Check options: the largest body a check reads (after
# decompression; beyond it the tick is body_too_large), a CA bundle trusted
# in addition to the system store (private CAs, tests), and the days before
# a certificate's expiry at which certificate.expiring is announced.
UPTIME_MAX_BODY_BYTES = env_int("UPTIME_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
UPTIME_EXTRA_CA_FILE = env_str("UPTIME_EXTRA_CA_FILE")
if UPTIME_EXTRA_CA_FILE and not Path(UPTIME_EXTRA_CA_FILE).is_file():
    raise ConfigError(f"UPTIME_EXTRA_CA_FILE={UPTIME_EXTRA_CA_FILE!r} is not a file")
try:
    UPTIME_CERT_EXPIRY_DAYS = tuple(
        sorted(
            {int(d) for d in env_list("UPTIME_CERT_EXPIRY_DAYS", "14,7")},
            reverse=True,
        )
    )
except ValueError:
    raise ConfigError(
        "UPTIME_CERT_EXPIRY_DAYS must be comma-separated whole days, e.g. 14,7"
    ) from None

# Flap detection (monitors/flapping.py): the state changes between up and
# down over a region's last UPTIME_FLAP_WINDOW checks, weighted towards the
# newest, as a percentage. Above HIGH the monitor starts flapping; it stops
# only below LOW (the gap keeps it from flapping about flapping).
UPTIME_FLAP_WINDOW = env_int("UPTIME_FLAP_WINDOW", 20, minimum=4)
UPTIME_FLAP_HIGH_PERCENT = env_int("UPTIME_FLAP_HIGH_PERCENT", 25, minimum=1)
UPTIME_FLAP_LOW_PERCENT = env_int("UPTIME_FLAP_LOW_PERCENT", 10, minimum=0)
if not UPTIME_FLAP_LOW_PERCENT < UPTIME_FLAP_HIGH_PERCENT <= 100:
    raise ConfigError(
        "UPTIME_FLAP_LOW_PERCENT must be below UPTIME_FLAP_HIGH_PERCENT, "
        "and UPTIME_FLAP_HIGH_PERCENT at most 100"
    )
# Region health (monitors/regionhealth.py). A region is unhealthy when no
# check worker of it heartbeated for this long (3x the dispatch lead + 15 s
# by default), when its batches start later than the lag bound, or when most
# of its monitors fail at once while other regions see them up. Ticks from
# an unhealthy region do not vote in incidents.
UPTIME_REGION_SILENT_SECONDS = env_int(
    "UPTIME_REGION_SILENT_SECONDS",
    int(3 * UPTIME_DISPATCH_LEAD_SECONDS + 15),
    minimum=5,
)
UPTIME_REGION_MAX_LAG_SECONDS = env_int("UPTIME_REGION_MAX_LAG_SECONDS", 5, minimum=1)
# "Most monitors at once": at least this share of at least this many monitors.
UPTIME_REGION_MASS_FAILURE_RATIO = 0.8
UPTIME_REGION_MASS_FAILURE_MIN_MONITORS = 5
# A check worker writes its heartbeat row this often (one upsert per region).
UPTIME_WORKER_HEARTBEAT_SECONDS = 5.0
# Who hears about region health changes (one message per change, never one
# per monitor): email addresses, and/or a webhook (signed when a whsec_
# secret is given).
UPTIME_OPERATOR_EMAILS = env_list("UPTIME_OPERATOR_EMAILS")
UPTIME_OPERATOR_WEBHOOK_URL = env_str("UPTIME_OPERATOR_WEBHOOK_URL")
UPTIME_OPERATOR_WEBHOOK_SECRET = env_str("UPTIME_OPERATOR_WEBHOOK_SECRET")
if UPTIME_OPERATOR_WEBHOOK_SECRET and not UPTIME_OPERATOR_WEBHOOK_SECRET.startswith(
    "whsec_"
):
    raise ConfigError("UPTIME_OPERATOR_WEBHOOK_SECRET must start with whsec_")
if UPTIME_OPERATOR_WEBHOOK_URL and not UPTIME_OPERATOR_WEBHOOK_URL.startswith(
    ("http://", "https://")
):
    raise ConfigError("UPTIME_OPERATOR_WEBHOOK_URL must be an http(s) URL")

# --- alerts -----------------------------------------------------------------
# Transient delivery failures are retried with backoff for this long.
ALERTS_RETRY_WINDOW_SECONDS = env_int("ALERTS_RETRY_WINDOW_SECONDS", 86400, minimum=0)
# First retry after about this many seconds, doubling up to the max delay.
ALERTS_RETRY_BASE_SECONDS = env_int("ALERTS_RETRY_BASE_SECONDS", 30, minimum=0)
ALERTS_RETRY_MAX_DELAY_SECONDS = env_int(
    "ALERTS_RETRY_MAX_DELAY_SECONDS", 3600, minimum=1
)
# A worker's claim on a notification; after it lapses (worker died mid-send)
# the sweeper sends again. Must exceed the send timeout.
ALERTS_CLAIM_LEASE_SECONDS = env_int("ALERTS_CLAIM_LEASE_SECONDS", 120, minimum=1)
# A due notification unclaimed this long after its task was queued is re-queued.
ALERTS_SWEEP_GRACE_SECONDS = env_int("ALERTS_SWEEP_GRACE_SECONDS", 60, minimum=0)
ALERTS_SEND_TIMEOUT_SECONDS = env_int("ALERTS_SEND_TIMEOUT_SECONDS", 10, minimum=1)
# How long the signed "acknowledge" link in an alert stays valid.
ALERTS_ACK_LINK_MAX_AGE_DAYS = env_int("ALERTS_ACK_LINK_MAX_AGE_DAYS", 7, minimum=1)
if ALERTS_CLAIM_LEASE_SECONDS <= ALERTS_SEND_TIMEOUT_SECONDS:
    raise ConfigError(
        "ALERTS_CLAIM_LEASE_SECONDS must be longer than ALERTS_SEND_TIMEOUT_SECONDS"
    )

# --- Celery -------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ConfigError(f"REDIS_URL={REDIS_URL!r} must start with redis:// or rediss://")
# A rediss:// URL (hosted Redis) is TLS. Its certificate is verified unless
# REDIS_SSL_CERT_REQS (or ?ssl_cert_reqs= in the URL) says optional or none,
# as hosted services with self-signed certificates need (Heroku Redis: none);
# REDIS_SSL_CA_CERTS names a CA bundle to verify a private CA's certificate.
_url_cert_reqs = parse_qs(urlsplit(REDIS_URL).query).get("ssl_cert_reqs", [""])[0]
REDIS_SSL_CERT_REQS = (
    env_str("REDIS_SSL_CERT_REQS", _url_cert_reqs or "required").lower()
).removeprefix("cert_")
if REDIS_SSL_CERT_REQS not in ("required", "optional", "none"):
    raise ConfigError(
        f"REDIS_SSL_CERT_REQS={REDIS_SSL_CERT_REQS!r}: use required, optional or none"
    )
REDIS_SSL_CA_CERTS = env_str("REDIS_SSL_CA_CERTS")
# Keyword arguments for every Redis client the project makes (cache, metrics).
REDIS_CONNECTION_OPTIONS: dict[str, str] = {}
CELERY_BROKER_URL = REDIS_URL
if REDIS_URL.startswith("rediss://"):
    REDIS_CONNECTION_OPTIONS["ssl_cert_reqs"] = REDIS_SSL_CERT_REQS
    if REDIS_SSL_CA_CERTS:
        REDIS_CONNECTION_OPTIONS["ssl_ca_certs"] = REDIS_SSL_CA_CERTS
    CELERY_BROKER_USE_SSL = {
        "ssl_cert_reqs": getattr(ssl, f"CERT_{REDIS_SSL_CERT_REQS.upper()}"),
        **({"ssl_ca_certs": REDIS_SSL_CA_CERTS} if REDIS_SSL_CA_CERTS else {}),
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = queues.DEFAULT
CELERY_TASK_ROUTES = {
    "monitors.dispatch_due": {"queue": queues.DISPATCH},
    "alerts.*": {"queue": queues.ALERTS},
    # Status page subscribers: the same workers, retries and guard as alerts.
    "statuspages.*": {"queue": queues.ALERTS},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker never gives up on Redis: Celery retries after 2 s, then every
# 4, 6, ... up to 30 s, and by default exits after 100 tries (under an hour),
# which would leave checking stopped after a long broker outage.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Reconnects after a Redis restart even with unacknowledged messages in hand
# (works around a Celery 5.7 crash; see uptime/celery.py).
CELERY_WORKER_CONSUMER = "uptime.celery:Consumer"
# A task that sits unacked longer than this is redelivered by Redis; it must
# exceed the longest ETA countdown we use (alert retries use their own rows).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# django_celery_beat's DatabaseScheduler stores only ``expire_seconds`` from
# these options (a whole number of seconds); an ``expires`` key would be
# silently dropped and the task sent without any expiry.
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-monitors": {
        "task": "monitors.dispatch_due",
        "schedule": 1.0,
        # A dispatch not started within a second is dropped: the next one
        # claims the same due monitors, so stale ones never run in a burst.
        "options": {"expire_seconds": 1, "queue": queues.DISPATCH},
    },
    "record-region-health": {
        "task": "monitors.regions_health_record",
        "schedule": 5.0,
        "options": {"expire_seconds": 5, "queue": queues.DEFAULT},
    },
    "create-tick-partitions": {
        "task": "monitors.tick_partitions_ensure",
        "schedule": 3600.0,
        "options": {"expire_seconds": 3600, "queue": queues.DEFAULT},
    },
    "prune-old-ticks": {
        "task": "monitors.prune_ticks",
        "schedule": 3600.0,
        "options": {"expire_seconds": 3600, "queue": queues.DEFAULT},
    },
    "sweep-alert-outbox": {
        "task": "alerts.sweep",
        "schedule": 30.0,
        "options": {"expire_seconds": 60, "queue": queues.ALERTS},
    },
    "sweep-subscriber-outbox": {
        "task": "statuspages.sweep",
        "schedule": 30.0,
        "options": {"expire_seconds": 60, "queue": queues.ALERTS},
    },
    "send-incident-reminders": {
        "task": "alerts.remind",
        "schedule": 60.0,
        "options": {"expire_seconds": 60, "queue": queues.ALERTS},
    },
    # Escalation steps whose delay passed with nobody acknowledging.
    "escalate-due-incidents": {
        "task": "alerts.escalate_due",
        "schedule": 30.0,
        "options": {"expire_seconds": 30, "queue": queues.ALERTS},
    },
}

# --- limits against abuse ---------------------------------------------------------
# Counters live in the cache below (Redis), shared by every web process.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "uptime",
        "OPTIONS": REDIS_CONNECTION_OPTIONS,
    }
}
# Off: the sign-up page answers 403 and the login page has no sign-up link.
REGISTRATION_OPEN = env_bool("REGISTRATION_OPEN", True)
# Failed logins per client address and, separately, per user name.
UPTIME_THROTTLE_LOGIN = env_rate("UPTIME_THROTTLE_LOGIN", "10/min")
UPTIME_THROTTLE_SIGNUP = env_rate("UPTIME_THROTTLE_SIGNUP", "10/hour")
# Reset emails asked for, per client address and per email address.
UPTIME_THROTTLE_PASSWORD_RESET = env_rate("UPTIME_THROTTLE_PASSWORD_RESET", "5/hour")
# Wrong API tokens per client address; past it every token from there waits.
UPTIME_THROTTLE_API_AUTH = env_rate("UPTIME_THROTTLE_API_AUTH", "20/min")
UPTIME_THROTTLE_API_USER = env_rate("UPTIME_THROTTLE_API_USER", "600/min")
# Channel test messages and confirmation emails one user sets off: each one
# reaches a third party (an inbox, a URL), so nobody may aim a stream at it.
UPTIME_THROTTLE_CHANNEL_SENDS = env_rate("UPTIME_THROTTLE_CHANNEL_SENDS", "5/min")
# Status page subscriptions per client address and per address subscribed.
UPTIME_THROTTLE_SUBSCRIBE = env_rate("UPTIME_THROTTLE_SUBSCRIBE", "10/hour")
# How long a rendered status page is served from the cache.
STATUS_PAGE_CACHE_SECONDS = env_int("STATUS_PAGE_CACHE_SECONDS", 10, minimum=0)
# Reverse proxies in front of the web process that append X-Forwarded-For.
# 0 trusts only the socket's address: a client-written X-Forwarded-For would
# otherwise give every request a fresh identity and no limit would hold.
UPTIME_NUM_PROXIES = env_int("UPTIME_NUM_PROXIES", 0, minimum=0)
# Largest request body (bytes): forms and JSON alike, refused with 413 above.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int(
    "DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024, minimum=64 * 1024
)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int(
    "DATA_UPLOAD_MAX_NUMBER_FIELDS", 1000, minimum=100
)
# Messages stay on the server: a cookie would carry their text (a webhook's
# signing secret, a channel name) to the browser, signed but readable.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First: it takes "Bearer" and our prefixed "Token" keys, and leaves
        # other "Token" values to the throttled DRF token class.
        "accounts.authentication.ApiKeyAuthentication",
        "uptime.throttling.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["uptime.throttling.ApiUserThrottle"],
    "NUM_PROXIES": UPTIME_NUM_PROXIES,
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.authentication.ApiKeyAccess",
    ],
    # Its page size (50, up to 500 with ?page_size=) is set on the class.
    "DEFAULT_PAGINATION_CLASS": "uptime.pagination.Pagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The OpenAPI schema at /api/schema/, Swagger UI at /api/docs/ and Redoc at
# /api/redoc/, their scripts served from this site (no CDN; the CSP holds).
SPECTACULAR_SETTINGS = {
    "TITLE": "Uptime API",
    "DESCRIPTION": (
        "Monitors, their checks (ticks), incidents, regions, alert channels and "
        "notifications. Authenticate with an API key: "
        "`Authorization: Bearer upk_...` (created on the dashboard's API keys page)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "MonitorStatusEnum": "monitors.models.MonitorStatus",
        "TickStatusEnum": "monitors.models.TickStatus",
        "IncidentStatusEnum": "monitors.models.IncidentStatus",
        "NotificationStatusEnum": "alerts.models.NotificationStatus",
    },
}

# Log the routine lines of beat's once-a-second tasks (dispatch, region
# health) at INFO too; off, they would be most of the log.
UPTIME_LOG_ROUTINE_TASKS = env_bool("UPTIME_LOG_ROUTINE_TASKS", False)

# Every process (web, and the Celery processes through uptime/celery.py) logs
# to stderr through this: plain lines, or with LOG_FORMAT=json one JSON object
# per line (uptime/logs.py) for a log collector.
LOG_FORMAT = env_str("LOG_FORMAT", "text").lower() or "text"
if LOG_FORMAT not in ("text", "json"):
    raise ConfigError(f"LOG_FORMAT={LOG_FORMAT!r} must be text or json")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper() or "INFO"
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ConfigError(
        f"LOG_LEVEL={LOG_LEVEL!r} must be DEBUG, INFO, WARNING, ERROR or CRITICAL"
    )
LOGGING_CONFIG = "uptime.logs.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "uptime.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
        "null": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Apprise's log lines quote the service URLs, whose tokens are secrets:
    # dropped (the apprise channel kind reports its own errors); so are the
    # request lines urllib3 logs at DEBUG (Apprise's requests, path and all).
    "loggers": {
        "apprise": {"handlers": ["null"], "propagate": False},
        "urllib3": {"level": "WARNING"},
    },
}
