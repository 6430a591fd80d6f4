"""Settings shared by every environment.

Everything that differs between machines comes from environment variables; the defaults need
no server (SQLite, and Celery's filesystem transport) so the demo runs on a fresh machine.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

import dj_database_url
import pghistory
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("LINKAGE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "")
# The reverse proxies whose X-Forwarded-* headers are believed (addresses or networks).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "127.0.0.1,::1")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "django_htmx",
    "axes",
    "csp",
    "pgtrigger",
    "pghistory",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "linkage",
    # The sandbox: the simulated business systems and national side (SIMULATORS_ENABLED).
    "backbone",
    "intermediate",
]
SANDBOX_APPS = ("backbone", "intermediate")
# The simulators are not the product: their apps, screens (/backbone/), peers (/sim/) and
# sweeps exist only where the sandbox is switched on (demo, development, tests). Production
# settings switch it off unless SIMULATORS_ENABLED says otherwise, and `check --deploy`
# then reports an error.
SIMULATORS_ENABLED = env_bool("SIMULATORS_ENABLED", True)

MIDDLEWARE = [
    # Outermost: the request id and the request's log line (linkage.request_log).
    "linkage.request_log.RequestLogMiddleware",
    # Then every request's latency, the refused ones included (linkage.metrics).
    "linkage.metrics.RequestMetricsMiddleware",
    # Then: an API body over the limit is refused before anything reads it.
    "linkage.api.middleware.BoundedBodyMiddleware",
    # Before anything reads the scheme or the client address (linkage.proxy).
    "linkage.proxy.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "linkage.api.middleware.ApiLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "linkage.middleware.IdleSessionMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "linkage.context_processors.sandbox",
            ],
        },
    },
]


def database_from_env(default_sqlite: Path) -> dict[str, Any]:
    """The default database from DATABASE_URL, or a SQLite file that tolerates concurrency.

    SQLite: WAL lets readers run beside the writer; IMMEDIATE transactions take the write lock
    at BEGIN, so a writer waits up to `timeout` seconds for another instead of failing with
    "database is locked" when it tries to upgrade a read lock mid-transaction.
    """
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{default_sqlite}"
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    else:
        config["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
        config["CONN_HEALTH_CHECKS"] = True
        # A database that does not answer (a failover under way, a dropped route) costs a
        # request seconds and then a 503, not the system's TCP timeout with every gunicorn
        # thread held: a new connection waits DATABASE_CONNECT_TIMEOUT seconds; one already
        # open, whose query or health check the server no longer acknowledges, is given up
        # after DATABASE_TCP_USER_TIMEOUT seconds (the kernel would retransmit for about
        # 15 minutes). Keepalives find an idle connection that is gone, and keep firewalls
        # between the hosts from forgetting it. DATABASE_URL's own options win.
        options = config.setdefault("OPTIONS", {})
        options.setdefault("connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5")))
        options.setdefault(
            "tcp_user_timeout",
            int(float(os.environ.get("DATABASE_TCP_USER_TIMEOUT", "10")) * 1000),  # ms
        )
        for option, value in DATABASE_KEEPALIVES.items():
            options.setdefault(option, value)
    return config


# libpq's keepalives for an idle connection: probed after 30 s of silence, given up after
# three unanswered probes 10 s apart.
DATABASE_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


DATABASES = {"default": database_from_env(VAR_DIR / "linkage.sqlite3")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Each request's user and path go with the history rows its writes make (pghistory).
    MIDDLEWARE.append("pghistory.middleware.HistoryMiddleware")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# History rows are written with every change and read by the row they copy (pgh_obj) or by
# the request that made them (pgh_context): those two are indexed. The foreign keys a history
# row copies (its person, receipt, file...) are not: nothing looks history up by them, and
# each index would be one more insert for every change and one more build in an initial load.
PGHISTORY_FOREIGN_KEY_FIELD = pghistory.ForeignKey(db_index=False)
PGHISTORY_OBJ_FIELD = pghistory.ObjForeignKey(db_index=True)
PGHISTORY_CONTEXT_FIELD = pghistory.ContextForeignKey(db_index=True)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"

# Sign-in hardening (OWASP ASVS V2, V3). django-axes locks an account after
# AXES_FAILURE_LIMIT failed sign-ins in a row, for AXES_COOLOFF_TIME; a success resets it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "30")))
# By account, not by address: staff sign in from a few shared office addresses (LGWAN), and
# locking an address would lock a whole office out after one person's mistakes.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "linkage.views.locked_out"
AXES_VERBOSE = False
# A session ends after SESSION_IDLE_SECONDS without a request the user made (the dashboard's
# own refreshes do not count; linkage.middleware.IdleSessionMiddleware), and in any case
# after SESSION_COOKIE_AGE.
SESSION_IDLE_SECONDS = int(os.environ.get("SESSION_IDLE_SECONDS", "1800"))
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_MAX_SECONDS", str(12 * 3600)))
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Content Security Policy (django-csp): only this server's own scripts, styles and images;
# no inline script, no framing, forms post only here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
LOGOUT_REDIRECT_URL = "login"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"

# --- The municipality and its business systems --------------------------------------------

# The municipality's own local government code (団体コード), checked at start-up (linkage.checks).
LG_CODE = os.environ.get("LG_CODE", "141003")

# 番号体系: the business systems that may send address changes. More may be configured.
NUMBER_SYSTEMS: dict[str, str] = {
    "01": "住基",
    "02": "税",
    "03": "国保",
    "04": "福祉",
}

# The resident register (住基): receives code_request.serial_issued in the first embodiment.
RESIDENT_REGISTER_NUMBER_SYSTEM = os.environ.get("RESIDENT_REGISTER_NUMBER_SYSTEM", "01")
# Whose basic items are current (SPEC 10.5): for a person linked to one of these number
# systems, the first listed it is linked to; for other persons, the newest version.
CURRENT_ITEMS_PRECEDENCE = [
    number_system.strip()
    for number_system in os.environ.get(
        "CURRENT_ITEMS_PRECEDENCE", RESIDENT_REGISTER_NUMBER_SYSTEM
    ).split(",")
    if number_system.strip()
]

# Matching of persons without an individual number (SPEC 10.3, docs/matching.md): a
# candidate scores 0-100; at or above `review` it is a candidate (and a new person created
# while one exists gets a review item, with at most `review_candidates` of them); `blocking`
# bounds the persons compared per search. `mj_map`: the IPA's MJ縮退マップ file, where the
# municipality supplies it (CC BY-SA, not shipped).
MATCHING: dict[str, Any] = {
    "review": int(os.environ.get("MATCHING_REVIEW_THRESHOLD", "90")),
    "review_candidates": int(os.environ.get("MATCHING_REVIEW_CANDIDATES", "5")),
    "blocking": int(os.environ.get("MATCHING_BLOCKING_LIMIT", "500")),
    "mj_map": os.environ.get("MATCHING_MJ_MAP", ""),
}
# Each new person without a number is screened again once committed, so that two new persons
# of one file, or of two transactions side by side, are found to be one (linkage.services.
# screening); the sweep runs this often.
SCREENING_SWEEP_EVERY = float(os.environ.get("SCREENING_SWEEP_EVERY", "60"))

# The sandbox's simulated 住基全国サーバー knows every valid individual number except those
# marked unknown (`national_registry unknown`), so residents registered by hand reach
# `requested`; off, it knows only the numbers enrolled (the tests rehearse both).
NATIONAL_REGISTRY_OPEN = env_bool("NATIONAL_REGISTRY_OPEN", True)

# --- Revealing an individual number on screen (online function 40) -------------------------

# The purposes (利用目的) a supervisor picks before the number is shown, recorded with the
# access record: code -> label. REVEAL_PURPOSES in the environment: "code=label;code=label".
REVEAL_PURPOSES: dict[str, str] = dict(
    item.split("=", 1)
    for item in os.environ.get(
        "REVEAL_PURPOSES",
        "counter_identity=窓口での本人確認;"
        "registry_check=住民記録・個人番号の照合;"
        "inquiry=関係機関からの照会への対応;"
        "audit=監査・点検",
    ).split(";")
    if "=" in item
)
# The number hides itself again after this many seconds, and when the page is left.
REVEAL_SECONDS = int(os.environ.get("REVEAL_SECONDS", "30"))

# --- Code acquisition (request unit 38, confirmation 42) -----------------------------------

# Where S34 sends (processing serial number, individual number): "jyuki" for the 住基 system
# (first embodiment, as a code_request.serial_issued notice to its callback URL) or "gateway"
# for the 住基GW server (second embodiment).
CODE_REQUEST_ROUTE = os.environ.get("CODE_REQUEST_ROUTE", "jyuki")
# Persons per code acquisition request file, and how long to gather them before sending one.
CODE_REQUEST_FILE_MAX = int(os.environ.get("CODE_REQUEST_FILE_MAX", "1000"))
CODE_REQUEST_BATCH_WINDOW = float(os.environ.get("CODE_REQUEST_BATCH_WINDOW", "1.0"))
# A requesting row whose stage has not moved for this long is re-enqueued by the sweep. Longer
# than the queue's wait under the largest expected backlog (a shorter one enqueues rows that
# are only waiting, twice); short enough that a lost message costs minutes, not hours.
CODE_REQUEST_STALLED_AFTER = float(os.environ.get("CODE_REQUEST_STALLED_AFTER", "600"))
CODE_REQUEST_SWEEP_EVERY = float(os.environ.get("CODE_REQUEST_SWEEP_EVERY", "30"))
CODE_REQUEST_CONFIRM_EVERY = float(os.environ.get("CODE_REQUEST_CONFIRM_EVERY", "15"))
PEER_TIMEOUT = float(os.environ.get("PEER_TIMEOUT", "10"))

# --- Notices to business systems (SPEC 7, outbound) ----------------------------------------

# A notice that could not be delivered is tried again after 2, 4, 8... seconds, at most this
# long apart; it is never dropped. The sweep re-enqueues a due notice whose message was lost.
NOTICE_RETRY_MAX_SECONDS = float(os.environ.get("NOTICE_RETRY_MAX_SECONDS", "3600"))
NOTICE_STALLED_AFTER = float(os.environ.get("NOTICE_STALLED_AFTER", "120"))
NOTICE_SWEEP_EVERY = float(os.environ.get("NOTICE_SWEEP_EVERY", "30"))
# A delivered notice is kept this many days, then deleted by the daily prune: it is a copy of
# what the receiver has, and every change writes one per linked system (a city's nightly
# batch, hundreds of thousands). Pending notices are never pruned.
NOTICE_KEEP_DAYS = int(os.environ.get("NOTICE_KEEP_DAYS", "90"))

# --- The intermediate server's daily work (SPEC 11) -----------------------------------------

# The data sets (特定個人情報) this municipality registers copies of (副本登録), each with the
# number systems whose business systems may register it. A municipality keeps this list as its
# 番号法 別表 obligations say (docs/exchange.md).
EXCHANGE_DATA_SETS: dict[str, dict[str, Any]] = {
    "local_tax_income": {
        "label": "地方税関係情報（所得・課税）",
        "label_en": "local tax information (income and assessment)",
        "registered_by": ["02"],
    },
    "nhi_qualification": {
        "label": "国民健康保険関係情報（資格）",
        "label_en": "national health insurance information (eligibility)",
        "registered_by": ["03"],
    },
    "child_allowance": {
        "label": "児童手当関係情報",
        "label_en": "child allowance information",
        "registered_by": ["04"],
    },
}
# The procedures (事務) this municipality's business systems make inquiries for (情報照会), each
# with the number systems that may ask for it; the network checks each (procedure, data set)
# against its table of permitted exchanges (docs/exchange.md).
EXCHANGE_PROCEDURES: dict[str, dict[str, Any]] = {
    "child_allowance_payment": {
        "label": "児童手当の支給に関する事務",
        "label_en": "payment of child allowance",
        "asked_by": ["04"],
    },
    "public_assistance": {
        "label": "生活保護の決定及び実施に関する事務",
        "label_en": "decision and provision of public assistance",
        "asked_by": ["04"],
    },
    "nhi_benefit": {
        "label": "国民健康保険の保険給付の支給に関する事務",
        "label_en": "national health insurance benefits",
        "asked_by": ["03"],
    },
}
# Copies sent to the intermediate server in one request (its batch limit is 5,000), and how
# long copies and inquiries arriving one by one are gathered into one delivery.
COPY_BATCH = int(os.environ.get("COPY_BATCH", "500"))
COPY_BATCH_WINDOW = float(os.environ.get("COPY_BATCH_WINDOW", "1"))
# Inquiries asked in one request: each is answered while it is asked (the network and the
# provider in turn), so smaller batches let the workers ask in parallel.
INQUIRY_BATCH = int(os.environ.get("INQUIRY_BATCH", "25"))
# A copy due for delivery whose message was lost is enqueued again after this long.
COPY_STALLED_AFTER = float(os.environ.get("COPY_STALLED_AFTER", "120"))
COPY_SWEEP_EVERY = float(os.environ.get("COPY_SWEEP_EVERY", "30"))

# Individual numbers of persons with no change for this many days are deleted by
# `manage.py purge_expired` (5 years by default: set it to the municipality's rule).
INDIVIDUAL_NUMBER_RETENTION_DAYS = int(os.environ.get("INDIVIDUAL_NUMBER_RETENTION_DAYS", "1826"))

# A member of staff who opens more persons than this within an hour (their page, a reveal,
# the staff API's lookup) is shown to supervisors on the dashboard and logged at WARNING
# (linkage.selectors.heavy_readers). 0: never.
ACCESS_ALERT_PERSONS_PER_HOUR = int(os.environ.get("ACCESS_ALERT_PERSONS_PER_HOUR", "100"))

# The clerks' dashboard refreshes its figures this often, without reloading the page.
DASHBOARD_REFRESH_SECONDS = int(os.environ.get("DASHBOARD_REFRESH_SECONDS", "30"))
NOTICE_TIMEOUT = float(os.environ.get("NOTICE_TIMEOUT", "10"))
# Where the simulated business systems reach linkage's API (backbone app).
LINKAGE_API_URL = os.environ.get("LINKAGE_API_URL", "http://127.0.0.1:8000").rstrip("/")

# The peers. By default the simulators served by this project at SIMULATOR_BASE_URL; each can
# point at a real system instead.
SIMULATOR_BASE_URL = os.environ.get("SIMULATOR_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
PEER_URLS = {
    "intermediate": os.environ.get("INTERMEDIATE_URL") or f"{SIMULATOR_BASE_URL}/sim/intermediate",
    "gateway": os.environ.get("GATEWAY_URL") or f"{SIMULATOR_BASE_URL}/sim/gateway",
    "network": f"{SIMULATOR_BASE_URL}/sim/network",
    "national": f"{SIMULATOR_BASE_URL}/sim/national",
    "cs": f"{SIMULATOR_BASE_URL}/sim/cs",
}
# The key linkage presents to each peer (Authorization: Bearer), as the closed network
# authenticates each institution. Empty: no key is sent, except to the sandbox's simulators,
# which take a key derived from SECRET_KEY (config.sandbox).
PEER_KEYS = {
    "intermediate": os.environ.get("INTERMEDIATE_KEY", ""),
    "gateway": os.environ.get("GATEWAY_KEY", ""),
}
# The simulated peers' callers: institution (lg_code) -> key, as "141003=key,131016=key";
# empty: each configured institution's derived sandbox key. The simulated peers call each
# other with SIMULATOR_NETWORK_KEY (empty: derived).
SIMULATOR_INSTITUTION_KEYS = dict(
    item.split("=", 1) for item in env_list("SIMULATOR_INSTITUTION_KEYS") if "=" in item
)
SIMULATOR_NETWORK_KEY = os.environ.get("SIMULATOR_NETWORK_KEY", "")
# The simulated information provision network's secret for deriving codes (SPEC 4.4).
NETWORK_CODE_SECRET = os.environ.get("NETWORK_CODE_SECRET", "simulated-network-secret")
# How long a simulated "timeout" fault keeps the client waiting (longer than PEER_TIMEOUT).
SIMULATED_TIMEOUT_SECONDS = float(os.environ.get("SIMULATED_TIMEOUT_SECONDS", "15"))
SIMULATOR_STALLED_AFTER = float(os.environ.get("SIMULATOR_STALLED_AFTER", "600"))
SIMULATOR_SWEEP_EVERY = float(os.environ.get("SIMULATOR_SWEEP_EVERY", "30"))
# Rows per message when a simulator's sweep enqueues stalled work again (each hop otherwise
# passes on exactly the batch it received).
SIMULATOR_BATCH = int(os.environ.get("SIMULATOR_BATCH", "500"))

# --- Key material for the individual number -----------------------------------------------
# Each key is the urlsafe base64 of 32 random bytes, as `Fernet.generate_key()` prints.
# FIELD_ENCRYPTION_KEYS: newest first; the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")
# BLIND_INDEX_KEYS: newest first; the first indexes, all are looked up while
# `rotate_blind_index_key` re-indexes. BLIND_INDEX_KEY: a single key, as before.
BLIND_INDEX_KEYS = env_list("BLIND_INDEX_KEYS")
BLIND_INDEX_KEY = os.environ.get("BLIND_INDEX_KEY", "")
# AUDIT_LOG_KEY: keys the access records' chain and the request-body digests; never rotated.
AUDIT_LOG_KEY = os.environ.get("AUDIT_LOG_KEY", "")

# --- API ----------------------------------------------------------------------------------

API_MAX_BODY_BYTES = 64 * 1024
# Django refuses larger bodies before DRF sees them; the API answers 413 itself first.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# The default request rate of an API key (a key's own `rate_limit` overrides it).
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "12000/m")
# How long a web or worker process keeps the backbone clients it read (their keys and notice
# receivers) before reading them again: a key revoked, rotated or created by another process
# takes effect there within this many seconds, at once in the process that changed it.
# 0 reads them for every request.
BACKBONE_CLIENTS_CACHE_SECONDS = float(os.environ.get("BACKBONE_CLIENTS_CACHE_SECONDS", "2"))
# A Redis that does not answer costs a request a second, not the system's TCP timeout
# (minutes): the API goes on without it, and leaves it alone for a while (linkage.guards).
REDIS_CACHE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
if os.environ.get("CACHE_URL"):
    # Shared by every process: the rate limits count each key's requests across workers.
    CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": os.environ["CACHE_URL"],
            "OPTIONS": REDIS_CACHE_OPTIONS,
        }
    }

# --- Monitoring ---------------------------------------------------------------------------

# GET /metrics: served to these addresses or networks, or with `Bearer <METRICS_TOKEN>`.
METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES") or ["127.0.0.1", "::1"]
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# --- OAuth 2.0 (SPEC 12) ------------------------------------------------------------------

# Access tokens live minutes (at most an hour: a system check refuses more) and are never
# refreshed: a client asks again with a new assertion.
OAUTH_ACCESS_TOKEN_SECONDS = int(os.environ.get("OAUTH_ACCESS_TOKEN_SECONDS", "600"))
# A client assertion's `exp` may lie at most this far ahead (its `jti` is kept that long).
OAUTH_ASSERTION_MAX_SECONDS = int(os.environ.get("OAUTH_ASSERTION_MAX_SECONDS", "300"))
OAUTH_CLOCK_LEEWAY_SECONDS = int(os.environ.get("OAUTH_CLOCK_LEEWAY_SECONDS", "60"))
# The public base URL clients address (`aud` = OAUTH_ISSUER + /oauth/token), e.g.
# https://linkage.city.example.lg.jp; the host a request reached is accepted too.
OAUTH_ISSUER = os.environ.get("OAUTH_ISSUER", "").rstrip("/")

REST_FRAMEWORK = {
    "DEFAULT_THROTTLE_CLASSES": ["linkage.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "linkage.api.authentication.BackboneTokenAuthentication",
        "linkage.api.authentication.OAuthBearerAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["linkage.api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "linkage.api.exceptions.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Information linkage server API",
    "DESCRIPTION": (
        "The backbone-facing REST API, version 1 (SPEC section 7). Business systems send "
        "address changes and read the persons linked to their number system."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "linkage.api.schema.links_add",
        "linkage.api.schema.descriptions_add",
        "linkage.api.schema.unavailable_add",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set the strict fields publish (linkage.api.schema).
    "ENUM_NAME_OVERRIDES": {
        "SexEnum": ["0", "1", "2", "9"],
        "TextMatchEnum": ["exact", "partial"],
        "SexMatchEnum": ["exact"],
    },
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# --- Celery -------------------------------------------------------------------------------

# The host part means nothing to the filesystem transport; without one kombu warns in every
# process that it "reverts to localhost".
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://localhost/")


def filesystem_transport_options(folder: Path) -> dict[str, Any]:
    """Celery's filesystem transport (a broker without a server) in `folder`."""
    for name in ("queue", "processed", "control"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        # The exchange tables: kombu's default is ./control, the working directory.
        "control_folder": str(folder / "control"),
        # Kept only to inspect what went through the broker (the leak test reads them).
        "store_processed": env_bool("CELERY_FILESYSTEM_KEEP_PROCESSED", False),
        "polling_interval": 0.1,
    }


CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_transport_options(
        Path(os.environ.get("CELERY_FILESYSTEM_DIR", VAR_DIR / "celery-broker"))
    )
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A Redis that takes the connection and never answers must not hold the request that
    # enqueues work (nor a worker) for good: each command waits at most 2 s, more than the
    # consumer's 1 s BRPOP. The enqueueing then fails and is logged, and the sweep sends the
    # work later (linkage.services.enqueueing).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 2, "socket_connect_timeout": 2}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "linkage")
# A queue per stage, so no stage waits behind another's backlog: a million per-person hops of
# the simulated national side never delay linkage's own request unit, its confirmation or its
# notices. Every name derives from CELERY_QUEUE, so two installations (or linkage and a
# sandbox) on one broker never share a queue. A worker without --queues serves them all (the
# demo, the tests); production runs a worker per queue (deploy/, docs/operations.md).
CELERY_QUEUES_BY_STAGE = {
    # The intermediate server's work: unit 38, the code acquisition files, copies, inquiries.
    "request": f"{CELERY_TASK_DEFAULT_QUEUE}.request",
    "confirm": f"{CELERY_TASK_DEFAULT_QUEUE}.confirm",  # unit 42
    "notices": f"{CELERY_TASK_DEFAULT_QUEUE}.notices",
    "backbone": f"{CELERY_TASK_DEFAULT_QUEUE}.backbone",  # the simulated business systems
    "national": f"{CELERY_TASK_DEFAULT_QUEUE}.national",  # the simulated national side
}
SANDBOX_STAGES = ("backbone", "national")


def celery_queues(stages: dict[str, str]) -> list[Queue]:
    """Each queue bound to the one direct exchange by its own name: a message routed to a
    queue reaches that queue alone (a shared or empty routing key would copy it into each)."""
    return [
        Queue(name, Exchange(CELERY_TASK_DEFAULT_QUEUE, type="direct"), routing_key=name)
        for name in (CELERY_TASK_DEFAULT_QUEUE, *stages.values())
    ]


CELERY_TASK_QUEUES = celery_queues(CELERY_QUEUES_BY_STAGE)
CELERY_TASK_ROUTES = {
    "linkage.tasks.code_request_advance": {"queue": CELERY_QUEUES_BY_STAGE["request"]},
    "linkage.tasks.code_requests_advance": {"queue": CELERY_QUEUES_BY_STAGE["request"]},
    "linkage.tasks.code_requests_pending_drain": {"queue": CELERY_QUEUES_BY_STAGE["request"]},
    "linkage.tasks.code_acquisition_*": {"queue": CELERY_QUEUES_BY_STAGE["request"]},
    "linkage.tasks.code_requests_confirm": {"queue": CELERY_QUEUES_BY_STAGE["confirm"]},
    "linkage.tasks.copies_deliver": {"queue": CELERY_QUEUES_BY_STAGE["request"]},
    "linkage.tasks.inquiries_ask": {"queue": CELERY_QUEUES_BY_STAGE["request"]},
    "linkage.tasks.copies_drain": {"queue": CELERY_QUEUES_BY_STAGE["request"]},
    "linkage.tasks.notice_deliver": {"queue": CELERY_QUEUES_BY_STAGE["notices"]},
    "backbone.tasks.*": {"queue": CELERY_QUEUES_BY_STAGE["backbone"]},
    "intermediate.tasks.*": {"queue": CELERY_QUEUES_BY_STAGE["national"]},
    # Everything else (the sweeps, the daily jobs) goes to the default queue.
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A periodic run still queued when the next is due is dropped (`expires`): under a backlog
# the runs do not pile up behind each other, the next one does the work.
CELERY_BEAT_SCHEDULE = {
    "code-requests-confirm": {
        "task": "linkage.tasks.code_requests_confirm",
        "schedule": CODE_REQUEST_CONFIRM_EVERY,
        "options": {"expires": CODE_REQUEST_CONFIRM_EVERY},
    },
    "code-requests-sweep": {
        "task": "linkage.tasks.code_requests_sweep",
        "schedule": CODE_REQUEST_SWEEP_EVERY,
        "options": {"expires": CODE_REQUEST_SWEEP_EVERY},
    },
    "notices-sweep": {
        "task": "linkage.tasks.notices_sweep",
        "schedule": NOTICE_SWEEP_EVERY,
        "options": {"expires": NOTICE_SWEEP_EVERY},
    },
    "copies-sweep": {
        "task": "linkage.tasks.copies_sweep",
        "schedule": COPY_SWEEP_EVERY,
        "options": {"expires": COPY_SWEEP_EVERY},
    },
    "inquiries-sweep": {
        "task": "linkage.tasks.inquiries_sweep",
        "schedule": COPY_SWEEP_EVERY,
        "options": {"expires": COPY_SWEEP_EVERY},
    },
    "screening-due-sweep": {
        "task": "linkage.tasks.screening_due_sweep",
        "schedule": SCREENING_SWEEP_EVERY,
        "options": {"expires": SCREENING_SWEEP_EVERY},
    },
    # Daily, at night in Japan: the retention purge, and the check of the access records.
    "individual-numbers-purge": {
        "task": "linkage.tasks.individual_numbers_purge",
        "schedule": crontab(hour=2, minute=15),
    },
    "oauth-records-purge": {
        "task": "linkage.tasks.oauth_records_purge",
        "schedule": crontab(minute=40),
    },
    "audit-chain-verify": {
        "task": "linkage.tasks.audit_chain_verify",
        "schedule": crontab(hour=3, minute=15),
    },
    "notices-prune": {
        "task": "linkage.tasks.notices_prune",
        "schedule": crontab(hour=3, minute=45),
    },
    # Every quarter of an hour: staff who opened more persons than ACCESS_ALERT_PERSONS_PER_HOUR.
    "heavy-readers-report": {
        "task": "linkage.tasks.heavy_readers_report",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 15 * 60},
    },
    # The simulated peers' own recovery; harmless (empty tables) when real peers are used.
    "simulators-sweep": {
        "task": "intermediate.tasks.simulators_sweep",
        "schedule": SIMULATOR_SWEEP_EVERY,
        "options": {"expires": SIMULATOR_SWEEP_EVERY},
    },
    "business-systems-sweep": {
        "task": "backbone.tasks.business_systems_sweep",
        "schedule": SIMULATOR_SWEEP_EVERY,
        "options": {"expires": SIMULATOR_SWEEP_EVERY},
    },
}

# --- Logging ------------------------------------------------------------------------------

# Every record of every process is masked where it is made (linkage.logging.configure
# installs the mask before this configuration); our handlers mask again. Django's own
# loggers (the development server, request errors) write through the same handler.
LOGGING_CONFIG = "linkage.logging.configure"
DEFAULT_EXCEPTION_REPORTER_FILTER = "linkage.error_reports.MaskingExceptionReporterFilter"
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
# `json`: one JSON object per line with the request id, for the operators' log collectors
# (production's default); `plain`: lines a person reads (the demo's and the tests').
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")


def log_formatter(log_format: str) -> str:
    if log_format not in ("json", "plain"):
        raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {log_format!r}")
    return log_format


LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_individual_numbers": {"()": "linkage.logging.IndividualNumberMaskFilter"},
        "request_context": {"()": "primitives.request_context.RequestContextFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "linkage.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": log_formatter(LOG_FORMAT),
            "filters": ["mask_individual_numbers", "request_context"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replace Django's defaults (an unmasked console and mail_admins) with ours.
        **{
            name: {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}
            for name in ("django", "django.server")
        },
        # authlib's debug lines print the tokens it issues and the requests it validates
        # (found by the production attack test): never below INFO, whatever LOG_LEVEL says.
        "authlib": {"level": "INFO" if LOG_LEVEL.upper() == "DEBUG" else LOG_LEVEL},
    },
}
