"""Settings for every environment, driven by environment variables.

Nothing set means the embedded default: SQLite, Celery tasks run in-process,
the offline geocoder, the local-memory cache. `DATABASE_URL`,
`CELERY_BROKER_URL` (or `REDIS_URL`), `CACHE_URL` and `GEOCODER` switch to
real services. DEBUG is off unless `DJANGO_DEBUG` turns it on (`make run`
and manage.py do); with DEBUG off a strong `DJANGO_SECRET_KEY` is required.
"""

import datetime as dt
import importlib.util
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Only ever used with DEBUG on; refused otherwise.
DEVELOPMENT_SECRET_KEY = "insecure-local-development-key-change-me-in-production"


def secret_key_weakness(key: str) -> str | None:
    """Why a key must not sign production sessions, or None. Django's own
    rule (check security.W009), so `check --deploy` agrees."""
    if not key:
        return "DJANGO_SECRET_KEY is not set"
    if key == DEVELOPMENT_SECRET_KEY or key.startswith("django-insecure-"):
        return "DJANGO_SECRET_KEY is a development key"
    if len(key) < 50 or len(set(key)) < 5:
        return "DJANGO_SECRET_KEY is weak (fewer than 50 characters or fewer than 5 distinct ones)"
    return None


SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY if DEBUG else "")
if not DEBUG and (weakness := secret_key_weakness(SECRET_KEY)):
    raise ImproperlyConfigured(
        f"{weakness}. With DEBUG off (the default) set DJANGO_SECRET_KEY to a long random value, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`; for local development set "
        "DJANGO_DEBUG=true instead (make run does)."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS. Off unless set, since they need TLS in front of the app;
# deploy/production.env.example turns them all on (check --deploy: 0 warnings).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=False)
# A correction refused for its security cookie comes back as typed, to send again (meetings/views.py).
CSRF_FAILURE_VIEW = "meetings.views.csrf_failure"
# Behind a TLS-terminating proxy: the header and value it sets on https
# requests, e.g. "HTTP_X_FORWARDED_PROTO,https". Only set it if the proxy
# always sets or strips that header, or clients could claim https.
SECURE_PROXY_SSL_HEADER = tuple(env.list("DJANGO_SECURE_PROXY_SSL_HEADER", default=[])) or None
if SECURE_PROXY_SSL_HEADER is not None and len(SECURE_PROXY_SSL_HEADER) != 2:
    raise ImproperlyConfigured("DJANGO_SECURE_PROXY_SSL_HEADER is a header and a value: HTTP_X_FORWARDED_PROTO,https")
# How many proxies in front of the app append to X-Forwarded-For: the client's
# address is read that many places from the right; 0 ignores the header (a
# client can write anything in it). Throttles count per this address (an
# IPv6 address's /64: meetingfinder/client_address.py).
NUM_PROXIES = env.int("DJANGO_NUM_PROXIES", default=0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    # Admin login failures, lockouts and their cool-off (below).
    "axes",
    "fellowships",
    "meetings",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "meetingfinder.content_security.ContentSecurityPolicyMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Outside every layer that can reach the database, inside the security
    # headers: JSON errors on API paths, 503 when the database is unreachable.
    "meetingfinder.errors.ErrorsMiddleware",
    # A public answer's 304 or kept copy, before every layer it never needs.
    "meetings.public_answers.PublicAnswerMiddleware",
    # No statement starts once the request has spent its database budget.
    "meetingfinder.request_budget.RequestBudgetMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The admin's dates and times in the curator's zone.
    "meetingfinder.admin_time_zone.AdminTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Records the signed-in user on the history of what a request changes.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it answers a locked-out login.
    "axes.middleware.AxesMiddleware",
]

# Pages, the admin and the API docs run no inline script and no inline style:
# everything comes from this site's own files (Swagger UI's start-up script
# too, see urls.py). Data URLs for the small icons in Swagger UI's and the
# admin's style sheets.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Browser features no page uses, switched off for this site and any frame.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: [] for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "fullscreen",
        "geolocation", "gyroscope", "magnetometer", "microphone", "midi", "payment", "picture-in-picture",
        "publickey-credentials-get", "screen-wake-lock", "usb", "xr-spatial-tracking",
    )
}

# Admin login (django-axes): after this many failed logins for one username
# from one client, that pair is locked out for the cool-off time; a success
# resets the count. The client is counted as the throttles count it: its
# address as NUM_PROXIES gives it, an IPv6 address's /64 (axes' records
# show a /64 as its first address, 2001:db8:1:2::).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.float("ADMIN_LOGIN_COOLOFF_MINUTES", default=30.0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "meetingfinder.client_address.counted_client"

ROOT_URLCONF = "meetingfinder.urls"
WSGI_APPLICATION = "meetingfinder.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "meetingfinder" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# No statement runs longer than this (0: no limit). Web requests use the
# default; Celery workers set their own in their environment (docker-compose.yml).
# gunicorn's timeout (gunicorn.conf.py) reads the same variable and waits longer.
DATABASE_STATEMENT_TIMEOUT_MS = env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=10_000)
# Statements are sent with their parameters apart (server-side binding), so
# psycopg prepares a statement a connection has run this many times and
# PostgreSQL plans it once, not at every search (Django's documented
# OPTIONS). Empty: never prepare (behind a pooler in transaction mode).
DATABASE_PREPARE_THRESHOLD = env("DATABASE_PREPARE_THRESHOLD", default="5")
_prepared = {"server_side_binding": True, "prepare_threshold": int(DATABASE_PREPARE_THRESHOLD)} \
    if DATABASE_PREPARE_THRESHOLD else {}
# Every PostgreSQL session: the statement timeout, no JIT compilation, and
# every statement planned for its own values.
# JIT starts above a planner cost, not a running time: a keyword search of
# 40 words (80 subplans) spent 640-670 ms of its ~750 compiling and ~80
# running, and the whole Meeting Guide feed ran no slower without it
# (bench/README.md, round 16).
# A prepared statement may otherwise get one generic plan for all values
# after its fifth run, and a listing's best plan depends on them: a keyword
# in most meetings reads in weekday order, a rare one through its trigram
# index, a 2-letter one (no trigram) never through it: planned once, "ab"
# took 334-381 ms instead of 2-3 (round 17). Preparing still saves parsing.
_SESSION = (f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT_MS} -c jit=off"
            " -c plan_cache_mode=force_custom_plan")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = _SESSION
    DATABASES["default"]["OPTIONS"].update(_prepared)
# A web request starts no statement after this much time (0: no limit), so a
# request runs at most about twice it (meetingfinder/request_budget.py).
DATABASE_REQUEST_BUDGET_MS = env.int("DATABASE_REQUEST_BUDGET_MS", default=DATABASE_STATEMENT_TIMEOUT_MS)
# A database that cannot be reached (or cancelled a statement) answers 503 with this Retry-After.
DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS = env.int("DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS", default=30)
# Read replicas (meetingfinder/replicas.py): public reads go to one that
# answers and lags at most DATABASE_REPLICA_MAX_LAG_SECONDS; all else to the primary.
for _number, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[])):
    DATABASES[f"replica_{_number}"] = {
        **env.db_url_config(_url),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        # Under test, a replica alias reads the test database (a real standby
        # copies it by itself: the replica test sets TEST_REPLICA_URL).
        "TEST": {"MIRROR": "default"},
    }
    if DATABASES[f"replica_{_number}"]["ENGINE"].endswith("postgresql"):
        DATABASES[f"replica_{_number}"].setdefault("OPTIONS", {}).update(
            connect_timeout=env.int("DATABASE_REPLICA_CONNECT_TIMEOUT", default=2),
            options=_SESSION, **_prepared)
# Each PostgreSQL database gets a second connection whose session plans
# without bitmap scans (alias "knn_<alias>", meetingfinder/replicas.py): a
# nearest-first search runs its one statement there, so PostgreSQL takes the
# GiST index's KNN scan without a transaction around a SET LOCAL (three round
# trips more per search; meetings/geo.py). Nothing else reads through it.
# Its one plan (the KNN scan) does not depend on the values: it keeps the
# generic plan of a prepared statement, planned once (round 7).
for _alias, _config in list(DATABASES.items()):
    if _config["ENGINE"].endswith("postgresql"):
        _options = dict(_config.get("OPTIONS", {}))
        _options["options"] = (f"{_options.get('options', '')} -c enable_bitmapscan=off"
                               " -c plan_cache_mode=auto").strip()
        DATABASES[f"knn_{_alias}"] = {**_config, "OPTIONS": _options, "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["meetingfinder.replicas.PrimaryReplicaRouter"]
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=10.0)
DATABASE_REPLICA_CHECK_SECONDS = env.float("DATABASE_REPLICA_CHECK_SECONDS", default=5.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def cache_settings(url: str) -> dict:
    """The default cache for CACHE_URL. Throttle counts and login failures must
    be shared by every worker process: Redis in production (e.g.
    redis://redis:6379/1, through django-redis: one client per process, where
    Django's own backend builds one per cache call), local memory for the
    embedded default's single process. Public answers are kept there too
    (meetings/public_answers.py): a Redis that does not answer in half a second
    is skipped, not waited on."""
    config = environ.Env.cache_url_config(url)
    if urlsplit(url).scheme in ("redis", "rediss"):
        config["BACKEND"] = "django_redis.cache.RedisCache"
        config.setdefault("OPTIONS", {}).update(SOCKET_CONNECT_TIMEOUT=0.5, SOCKET_TIMEOUT=0.5)
    return config


CACHES = {"default": cache_settings(env("CACHE_URL", default="locmemcache://"))}
# Sites sharing one Redis keep their keys apart.
CACHES["default"]["KEY_PREFIX"] = env("CACHE_KEY_PREFIX", default=CACHES["default"].get("KEY_PREFIX", ""))
# Public answers: how long a browser or proxy may reuse one (answers that
# show the clock: until their span ends, at most), and how long the cache
# keeps one (its key names the directory version, so it is never stale).
CACHE_PUBLIC_MAX_AGE = env.int("CACHE_PUBLIC_MAX_AGE", default=60)
CACHE_ANSWER_SECONDS = env.int("CACHE_ANSWER_SECONDS", default=600)
CACHE_ANSWER_MAX_BYTES = env.int("CACHE_ANSWER_MAX_BYTES", default=4 * 1024 * 1024)
# The Meeting Guide feed's own limit: the whole feed of 100,000 meetings is
# ~62 MB and takes seconds to make, so it is kept too (bench/README.md).
CACHE_FEED_MAX_BYTES = env.int("CACHE_FEED_MAX_BYTES", default=128 * 1024 * 1024)
CACHE_ANSWERS = env.bool("CACHE_ANSWERS", default=True)
# Each process keeps what it read from or wrote to the cache lately, up to
# this many bytes (0: none), so an answer asked again on one worker skips
# Redis (meetingfinder/near_cache.py; never stale: the key names the version).
# The traffic mix at 100,000 meetings asks ~9,000 answers of ~8.5 KB (~78 MB
# in Redis); with 32 MB a worker kept a third of them (bench/README.md, round 44).
CACHE_NEAR_BYTES = env.int("CACHE_NEAR_BYTES", default=128 * 1024 * 1024)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Django 6 behaviour now: a scheme-less URL typed into a form means https.
FORMS_URLFIELD_ASSUME_HTTPS = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The project's own files (the API docs page's style sheet).
STATICFILES_DIRS = [BASE_DIR / "meetingfinder" / "static"]
# Locally (DEBUG) WhiteNoise serves from the apps' static folders as they are,
# so neither runserver nor the tests need collectstatic first.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
# Uploaded feed files (a feed source can be a file instead of a URL).
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

REST_FRAMEWORK = {
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "DEFAULT_VERSION": "v1",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "meetings.api.pagination.CappedCountPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "NUM_PROXIES": NUM_PROXIES,
    # Errors as data: an unreachable database is a 503 (meetingfinder/errors.py).
    "EXCEPTION_HANDLER": "meetingfinder.errors.api_exception_handler",
    # JSON nested too deeply for the parser is a 400, not a RecursionError; what
    # is wrong with a body is said in the sender's language.
    "DEFAULT_PARSER_CLASSES": [
        "meetings.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "meetings.api.parsers.ReadableMultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "meetings.api.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # An unknown ?format= is a 400 naming it, not a 404.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "meetings.api.renderers.FormatNegotiation",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "meetingfinder API",
    "DESCRIPTION": "Find twelve-step meetings (AA, NA, Al-Anon) near a place or online.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]",
    # Swagger UI served from our own static files: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No badge from validator.swagger.io: the docs call no other site.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Every operation documents the errors it can answer, as JSON (meetings/api/errors_schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "meetings.api.errors_schema.document_errors",
    ],
}

# Celery: without a broker, tasks run in-process (the embedded default).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=env("REDIS_URL", default=""))
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
# The one set of task time limits: meetings/tasks.py reads these, and a feed
# source's claim held longer than the hard limit by a holder that cannot be
# checked is stale (meetings/feeds/claims.py).
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=14 * 60)
# A task is acknowledged when it ends, not when a worker takes it: a worker
# killed mid-task (its pool process by the OOM killer, or the whole machine)
# leaves the message to be delivered again, and the import it was running is
# taken over at once (the claim names its holder; meetings/feeds/claims.py).
# Running a task twice is safe: imports are once per due time and source.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A worker reserves only the task it runs, so none waits behind a long import.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The queue tasks are sent to and workers read (several sites on one Redis).
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# On Redis, a task its worker took and never acknowledged (the worker died)
# is delivered again once this much time has passed since it was taken; a
# task still running then would be delivered twice, so it is longer than
# the hard time limit plus the longest retry countdown (meetings/tasks.py).
# Workers look for such tasks every CELERY_BROKER_RESTORE_SWEEP_SECONDS.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=60 * 60),
    "unacked_restore_interval": env.int("CELERY_BROKER_RESTORE_SWEEP_SECONDS", default=100),
    "unacked_restore_throttle": 1,
}
CELERY_BEAT_SCHEDULE: dict = {}
# Feed imports: every few minutes, start the sources whose refresh interval has passed.
CELERY_BEAT_SCHEDULE["import-due-feeds"] = {
    "task": "meetings.tasks.import_due_feeds",
    "schedule": env.float("FEEDS_SCHEDULE_SECONDS", default=300.0),
}

# Feed fetching and the shrink guard (meetings/feeds/).
FEEDS_CONNECT_TIMEOUT_SECONDS = env.float("FEEDS_CONNECT_TIMEOUT_SECONDS", default=10.0)
FEEDS_READ_TIMEOUT_SECONDS = env.float("FEEDS_READ_TIMEOUT_SECONDS", default=60.0)
# The whole fetch of a feed, redirects included: a server trickling bytes is cut off.
FEEDS_TOTAL_TIMEOUT_SECONDS = env.float("FEEDS_TOTAL_TIMEOUT_SECONDS", default=120.0)
FEEDS_MAX_BYTES = env.int("FEEDS_MAX_BYTES", default=50 * 1024 * 1024)
FEEDS_MAX_REDIRECTS = env.int("FEEDS_MAX_REDIRECTS", default=5)
# Loopback and private-use networks (10/8, 172.16/12, 192.168/16, fc00::/7) are
# refused unless this is on (tests, intranets); other special ranges always are.
FEEDS_ALLOW_PRIVATE_ADDRESSES = env.bool("FEEDS_ALLOW_PRIVATE_ADDRESSES", default=False)
FEEDS_USER_AGENT = env("FEEDS_USER_AGENT", default="meetingfinder feed importer")
# A run that would take more than this share of a source's meetings out of the listing
# (removed, or unpublished by the feed) is held.
FEEDS_SHRINK_GUARD_SHARE = env.float("FEEDS_SHRINK_GUARD_SHARE", default=0.30)
# A source whose runs died with their worker this many times for one due
# time (a feed that exhausts memory) gets a failed run saying so and is next
# due an interval later: a task given back when its worker dies would loop.
FEEDS_KILLED_RUNS_LIMIT = env.int("FEEDS_KILLED_RUNS_LIMIT", default=3)
# Meetings an import builds, writes and lets go of at a time, all inside the
# run's one transaction: the model instances of a 135,000-meeting feed no
# longer exist all at once (meetings/feeds/importer.py, Applier.apply).
FEEDS_APPLY_CHUNK = env.int("FEEDS_APPLY_CHUNK", default=2_000)

# Feed parsing limits (meetings/feeds/body.py, records.py): past them a feed is
# held as unreadable, or a field shortened with a note, never a crash.
FEEDS_PARSE_MAX_BYTES = env.int("FEEDS_PARSE_MAX_BYTES", default=50 * 1024 * 1024)  # decoded (and un-gzipped) body
FEEDS_PARSE_MAX_DEPTH = env.int("FEEDS_PARSE_MAX_DEPTH", default=32)  # JSON nesting; real feeds use 3
FEEDS_PARSE_MAX_RECORDS = env.int("FEEDS_PARSE_MAX_RECORDS", default=250_000)
FEEDS_PARSE_MAX_NOTES_CHARACTERS = env.int("FEEDS_PARSE_MAX_NOTES_CHARACTERS", default=10_000)
# Issues kept per run (the counts stay exact): a feed of junk cannot write millions of rows.
FEEDS_PARSE_MAX_ISSUES = env.int("FEEDS_PARSE_MAX_ISSUES", default=1_000)

# Geocoding: "offline" (US ZIP/city gazetteer, no network) or "nominatim".
GEOCODER = env("GEOCODER", default="offline")
GEOCODER_USER_AGENT = env("GEOCODER_USER_AGENT", default="meetingfinder (self-hosted)")
GEOCODER_MIN_DELAY_SECONDS = env.float("GEOCODER_MIN_DELAY_SECONDS", default=1.0)
GEOCODER_TIMEOUT_SECONDS = env.float("GEOCODER_TIMEOUT_SECONDS", default=5.0)
# Where the online geocoder's rate limit is shared by every worker: a Redis
# URL (REDIS_URL, or a redis:// broker, unless set); empty = per process.
GEOCODER_RATE_LIMIT_REDIS_URL = env(
    "GEOCODER_RATE_LIMIT_REDIS_URL",
    default=env("REDIS_URL", default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
                else ""),
)

# Search limits.
MEETINGS_MAX_RADIUS_KM = env.float("MEETINGS_MAX_RADIUS_KM", default=500.0)
MEETINGS_MAX_PAGE_SIZE = env.int("MEETINGS_MAX_PAGE_SIZE", default=200)
# Counting every match of a dense search can cost more than the search; the
# API counts up to this many and says when the count was capped.
MEETINGS_COUNT_CAP = env.int("MEETINGS_COUNT_CAP", default=1000)
# The deepest offset a search reads (API and page): a soonest-first page
# 90,000 deep cost 0.6-0.8 s at 100,000 meetings; 10,000 deep, a page's worth.
MEETINGS_MAX_OFFSET = env.int("MEETINGS_MAX_OFFSET", default=10_000)
# Every search's work is bounded: distinct values a list parameter may take
# (type codes, days, fellowships...), and the query string's length.
MEETINGS_MAX_VALUES_PER_PARAMETER = env.int("MEETINGS_MAX_VALUES_PER_PARAMETER", default=20)
MEETINGS_MAX_QUERY_LENGTH = env.int("MEETINGS_MAX_QUERY_LENGTH", default=2000)
# The region of meetings without a place of their own in the Meeting Guide
# feed (online only, often on another zone's time).
MEETING_GUIDE_ONLINE_REGION = env("MEETING_GUIDE_ONLINE_REGION", default="Online")
# BMLT client interface (/client_interface/json/): the most meetings one
# answer carries, and the map centre GetServerInfo gives clients (lat, lng).
BMLT_SERVER_MAX_RESULTS = env.int("BMLT_SERVER_MAX_RESULTS", default=10000)
BMLT_SERVER_CENTER = tuple(env.list("BMLT_SERVER_CENTER", cast=float, default=[33.7175, -117.8311]))

# Curation (issue 5). Public change requests: per-client rate (DRF's "N/period").
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "change-requests": env("CHANGE_REQUESTS_RATE", default="10/hour"),
}
# Public answers: the computing time one client address's new questions may
# cost per minute (meetings/throttles.py ComputeBudget; 0: no limit). Kept
# answers and 304s cost nothing; a search costs a few milliseconds.
PUBLIC_COMPUTE_SECONDS_PER_MINUTE = env.float("PUBLIC_COMPUTE_SECONDS_PER_MINUTE", default=10.0)
# History: reverting goes through the admin's own "revert this change"
# (meetings/history.py), not simple-history's revert-to-version form.
SIMPLE_HISTORY_REVERT_DISABLED = True
# Mail to people who sent a change request; console in the embedded default.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="meetingfinder <noreply@example.org>")
# Data-quality review thresholds (meetings/quality.py).
QUALITY_TEMPORARILY_CLOSED_DAYS = env.int("QUALITY_TEMPORARILY_CLOSED_DAYS", default=90)
QUALITY_STALE_DAYS = env.int("QUALITY_STALE_DAYS", default=365)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # django-axes announces its settings at every start; lockouts still log as warnings.
    "loggers": {"axes.apps": {"level": "WARNING"}},
}

# The pages for people (issue 10): languages, the map, the viewer's default zone.
# LocaleMiddleware picks English or Spanish from the language switch (cookie)
# or Accept-Language; catalogues are locale/<lang>/LC_MESSAGES/django.po,
# compiled by `make messages` (Makefile) and at test start (tests/conftest.py).
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
                  "django.middleware.locale.LocaleMiddleware")
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Leaflet's files as the django-leaflet package bundles them, served by WhiteNoise
# (no CDN). Only its static folder: the app itself would need GDAL.
STATICFILES_DIRS += [("leaflet", Path(importlib.util.find_spec("leaflet").origin).parent / "static" / "leaflet")]
MAP_TILE_URL = env("MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env("MAP_TILE_ATTRIBUTION",
                           default='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors')
# The search page's zone for "now" when the browser has not said its own (tz).
MEETINGS_PAGE_TIME_ZONE = env("MEETINGS_PAGE_TIME_ZONE", default="America/Los_Angeles")
# The map's tiles come from the tile server (Content-Security-Policy img-src).
# "Near me" needs geolocation: the search page alone allows it (meetings/views.py).
_tiles = urlsplit(MAP_TILE_URL.replace("{s}", "a"))
CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"] = [*CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"],
                                                    f"{_tiles.scheme}://{_tiles.netloc}"]
