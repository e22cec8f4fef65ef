"""Django settings, read from the environment. Every variable is listed in the README."""

import os
import warnings
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from config.common.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(DATA_DIR / "tiktoken"))  # encodings for token chunking, fetched once

VERSION = "0.12.4"  # the Open WebUI API version we implement

# --- secrets -----------------------------------------------------------------------------------


def _secret_key() -> str:
    """WEBUI_SECRET_KEY, or a random key generated once and kept in DATA_DIR."""
    key = env_str("WEBUI_SECRET_KEY")
    if key:
        return key
    path = DATA_DIR / ".webui_secret_key"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "*", sep=",")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "", sep=",")
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", False)
FORCE_SCRIPT_NAME = env_str("FORCE_SCRIPT_NAME") or None

# --- apps --------------------------------------------------------------------------------------

INSTALLED_APPS = [
    "config.admin_site.GatewayAdminConfig",  # the admin, with the operator's dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files for /docs, served by us (no CDN)
    "channels",
    "procrastinate.contrib.django",
    "config",
    "accounts",
    "models_registry",
    "files",
    "knowledge",
    "chat",
]

MIDDLEWARE = [
    "config.common.middleware.RequestIdMiddleware",
    "accounts.caller.RateLimitHeadersMiddleware",
    "config.common.middleware.JsonErrorsMiddleware",
    "config.common.db_outage.DatabaseOutageMiddleware",
    "config.common.middleware.SiteOnlyMiddleware",
]
SITE_MIDDLEWARE = [
    "config.common.middleware.RequestIdMiddleware",
    "accounts.caller.RateLimitHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.common.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The admin's middlewares run inside SiteOnlyMiddleware, where Django's checks cannot see them.
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
APPEND_SLASH = False  # API clients post to exact paths; a redirect would drop the body

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
            ]
        },
    }
]

# --- database ----------------------------------------------------------------------------------


def _database() -> dict:
    url = env_str("DATABASE_URL")
    params = conninfo_to_dict(url.replace("postgres://", "postgresql://", 1)) if url else {"dbname": "postgres", "user": "postgres"}
    options = {k: v for k, v in params.items() if k not in {"dbname", "user", "password", "host", "port"}}
    pool_size = env_int("DB_POOL_SIZE", 10)
    if pool_size:
        options["pool"] = {"min_size": 1, "max_size": pool_size, "timeout": env_float("DB_POOL_TIMEOUT", 10.0)}
    return {
        # config.db_backend: without DATABASE_URL, the first connection starts the embedded server.
        "ENGINE": "config.db_backend",
        "NAME": params.get("dbname", "postgres"),
        "USER": params.get("user", ""),
        "PASSWORD": params.get("password", ""),
        "HOST": params.get("host", ""),
        "PORT": params.get("port", ""),
        "OPTIONS": options,
        "CONN_MAX_AGE": 0,  # the pool keeps connections; Django returns them after each request
        # A pooled connection is checked before use, so one that died with a database restart is
        # replaced instead of failing a request.
        "CONN_HEALTH_CHECKS": env_bool("DB_HEALTH_CHECKS", True),
        "TEST": {"NAME": env_str("TEST_DATABASE_NAME", "test_gateway")},
    }


EMBEDDED_DATABASE = not env_str("DATABASE_URL")
DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and channels ------------------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
METRICS_TOKEN = env_str("METRICS_TOKEN")  # Bearer token for /metrics besides an admin's (empty: admins only)
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- auth --------------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "/admin/login/"

CUSTOM_API_KEY_HEADER = env_str("CUSTOM_API_KEY_HEADER", "x-api-key")
WEBUI_AUTH_COOKIE_SAME_SITE = env_str("WEBUI_AUTH_COOKIE_SAME_SITE", "lax")
WEBUI_AUTH_COOKIE_SECURE = env_bool("WEBUI_AUTH_COOKIE_SECURE", False)
WEBUI_ADMIN_EMAIL = env_str("WEBUI_ADMIN_EMAIL")
WEBUI_ADMIN_PASSWORD = env_str("WEBUI_ADMIN_PASSWORD")
WEBUI_ADMIN_NAME = env_str("WEBUI_ADMIN_NAME", "Admin")
ENABLE_PASSWORD_AUTH = env_bool("ENABLE_PASSWORD_AUTH", True)
ENABLE_INITIAL_ADMIN_SIGNUP = env_bool("ENABLE_INITIAL_ADMIN_SIGNUP", False)
SIGNIN_RATE_LIMIT = env_int("SIGNIN_RATE_LIMIT", 15)  # failed sign-ins per (email, client address) ...
SIGNIN_ADDRESS_RATE_LIMIT = env_int("SIGNIN_ADDRESS_RATE_LIMIT", 100)  # ... and per client address, any email ...
SIGNIN_RATE_WINDOW = env_int("SIGNIN_RATE_WINDOW", 180)  # ... in each window of this many seconds
API_KEY_LAST_USED_INTERVAL = env_int("API_KEY_LAST_USED_INTERVAL", 60)  # seconds between last_used_at writes
BYPASS_ADMIN_ACCESS_CONTROL = env_bool(
    "BYPASS_ADMIN_ACCESS_CONTROL", env_bool("ENABLE_ADMIN_WORKSPACE_CONTENT_ACCESS", True)
)
BYPASS_MODEL_ACCESS_CONTROL = env_bool("BYPASS_MODEL_ACCESS_CONTROL", False)
USER_PERMISSIONS_WORKSPACE_MODELS_ACCESS = env_bool("USER_PERMISSIONS_WORKSPACE_MODELS_ACCESS", False)
USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS = env_bool("USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS", False)
USER_PERMISSIONS_WORKSPACE_PROMPTS_ACCESS = env_bool("USER_PERMISSIONS_WORKSPACE_PROMPTS_ACCESS", False)

SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "id",
    "TOKEN_TYPE_CLAIM": "typ",
    "JTI_CLAIM": "jti",
    "LEEWAY": 0,
}

# How long a process reuses what the request path read from the database: runtime settings,
# credentials (API keys, sessions), model rows and grants. Writes made in a process clear its cache
# at once; other processes see them within this period. 0 turns it off.
STATE_CACHE_SECONDS = env_float("STATE_CACHE_SECONDS", 5.0)

# --- usage ledger and limits (accounts/usage_ledger.py, accounts/limits.py) ----------------------

USAGE_METERING = env_bool("USAGE_METERING", True)  # off: no ledger, no limits (the benchmark's baseline)
USAGE_FLUSH_SECONDS = env_float("USAGE_FLUSH_SECONDS", 1.0)  # ledger rows are written at least this often
USAGE_QUEUE_MAX = env_int("USAGE_QUEUE_MAX", 50_000)  # rows waiting in memory at most (more: oldest dropped, logged)
USAGE_REDIS_PREFIX = env_str("USAGE_REDIS_PREFIX", "gw:usage:")  # counter keys in REDIS_URL's database
# tiktoken encoding for token estimates when an upstream reports no usage (fetched once into
# TIKTOKEN_CACHE_DIR); empty: UTF-8 bytes / 3, with nothing to fetch
USAGE_ESTIMATE_ENCODING = env_str("USAGE_ESTIMATE_ENCODING", "cl100k_base")

# --- REST framework ----------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsVerifiedUser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.common.jsonbody.JSONParser"],  # depth and NUL checks
    "EXCEPTION_HANDLER": "config.common.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.common.schema.GatewayAutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LLM Gateway API",
    "DESCRIPTION": "Open WebUI-compatible REST API (see the README for the differences).",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.common.schema.object_bodies"],
}

# --- static files, i18n, logging ---------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"  # `manage.py collectstatic` target for a CDN or proxy
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve straight from the apps: no collectstatic step to forget
# Static files and admin downloads are file iterators, which Django's ASGI handler reads on a thread
# (as intended for small files); its warning about it would otherwise come with every one.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Every line carries the request id, user id and model of the request it was logged in
# (config/common/requestlog.py); LOG_FORMAT=json: one JSON object a line, uvicorn's own lines too.
LOG_FORMAT = env_str("LOG_FORMAT", "text").lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.common.requestlog.ContextFilter"}},
    "formatters": {
        "text": {"()": "config.common.requestlog.TextFormatter"},
        "json": {"()": "config.common.requestlog.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["context"],
                             "formatter": "json" if LOG_FORMAT == "json" else "text"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "procrastinate": {"level": "WARNING"},  # task registration lines on every command
        "httpx": {"level": "WARNING"},  # one INFO line per upstream request costs real time under load
        "httpcore": {"level": "WARNING"},
        **({name: {"handlers": ["console"], "propagate": False} for name in ("uvicorn", "uvicorn.access")}
           if LOG_FORMAT == "json" else {}),
    },
}

# --- upstream models ---------------------------------------------------------------------------

MODELS_CACHE_TTL = env_float("MODELS_CACHE_TTL", 60.0)  # seconds an upstream model list is reused
UPSTREAM_TIMEOUT = env_float("UPSTREAM_TIMEOUT", 120.0)  # a whole non-streamed answer, in seconds
UPSTREAM_STREAM_IDLE_TIMEOUT = env_float("UPSTREAM_STREAM_IDLE_TIMEOUT", 300.0)  # longest silence in a stream
UPSTREAM_STREAM_MAX_SECONDS = env_float("UPSTREAM_STREAM_MAX_SECONDS", 0.0)  # a whole stream (0: no limit)
UPSTREAM_CONNECT_TIMEOUT = env_float("UPSTREAM_CONNECT_TIMEOUT", 5.0)

# --- files and ingestion -----------------------------------------------------------------------

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "uploads"}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
INGEST_HEARTBEAT_SECONDS = env_float("INGEST_HEARTBEAT_SECONDS", 10.0)  # worker liveness signal
INGEST_STALLED_SECONDS = env_float("INGEST_STALLED_SECONDS", 30.0)  # silence after which its jobs are requeued
INGEST_RECOVERY_SECONDS = env_int("INGEST_RECOVERY_SECONDS", 15)  # how often workers look for such jobs
INGEST_ORPHAN_SECONDS = env_float("INGEST_ORPHAN_SECONDS", 60.0)  # a file pending/processing this long with no job is queued again
VECTOR_INDEX_BUILD_MEMORY = env_str("VECTOR_INDEX_BUILD_MEMORY", "512MB")  # maintenance_work_mem while an HNSW index is built
# A file of at least this many vectors, next to a dimension index holding at most twice as many, has
# the index dropped and built again over everything after it is written (files.vector_index.loading)
VECTOR_INDEX_REBUILD_MIN_ROWS = env_int("VECTOR_INDEX_REBUILD_MIN_ROWS", 2000)
# A file of at least this many chunks keeps its keyword-index entries pending until it says completed,
# then merges them at once (files.keyword_index)
KEYWORD_INDEX_DEFER_MIN_ROWS = env_int("KEYWORD_INDEX_DEFER_MIN_ROWS", 2000)
INGEST_CONCURRENCY = env_int("INGEST_CONCURRENCY", 2)  # files one worker processes at once: a big one never holds up the rest
# Files of at least INGEST_LARGE_FILE_MB go to a lane of their own (queue `ingest_large`), which a worker
# serving `ingest` runs beside it with INGEST_LARGE_CONCURRENCY jobs at once: big files never take the
# slots small ones need.
INGEST_LARGE_FILE_MB = env_float("INGEST_LARGE_FILE_MB", 2.0)
INGEST_LARGE_CONCURRENCY = env_int("INGEST_LARGE_CONCURRENCY", 1)
DRAIN_SECONDS = env_float("DRAIN_SECONDS", 30.0)  # on SIGTERM: how long running requests and streams may go on
PROCRASTINATE_WORKER_DEFAULTS = {"update_heartbeat_interval": INGEST_HEARTBEAT_SECONDS}
PROCRASTINATE_IMPORT_PATHS = ["config.events.tasks"]  # tasks outside an app's tasks.py
# Events (config/events): webhook deliveries are retried EVENTS_WEBHOOK_ATTEMPTS times in all, waiting
# EVENTS_RETRY_SECONDS × 2^attempt (at most EVENTS_RETRY_MAX_SECONDS) between them.
EVENTS_WEBHOOK_ATTEMPTS = env_int("EVENTS_WEBHOOK_ATTEMPTS", 8)
EVENTS_RETRY_SECONDS = env_float("EVENTS_RETRY_SECONDS", 5.0)
EVENTS_RETRY_MAX_SECONDS = env_float("EVENTS_RETRY_MAX_SECONDS", 600.0)
EVENTS_WEBHOOK_TIMEOUT = env_float("EVENTS_WEBHOOK_TIMEOUT", 10.0)  # seconds for a receiver to answer
EVENTS_RETENTION_HOURS = env_float("EVENTS_RETENTION_HOURS", 24.0)  # how far back GET /api/events can resume
EVENTS_POLL_SECONDS = env_float("EVENTS_POLL_SECONDS", 0.5)  # how often a process's feed looks for new events
