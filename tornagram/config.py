"""Settings: one frozen object built from flags and ``TORNAGRAM_*`` environment variables.

Every flag has an environment twin (``--data-dir`` ↔ ``TORNAGRAM_DATA_DIR``) so the same build
runs under systemd, in a container or by hand. The cookie secret is never a constant in the
repository: it comes from ``TORNAGRAM_COOKIE_SECRET`` or is generated once into the data dir.
"""

from __future__ import annotations

import os
import re
import secrets
import urllib.parse
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

ENV_PREFIX = "TORNAGRAM_"
COOKIE_SECRET_FILE = "cookie_secret"  # noqa: S105 - a file name, not a secret
# A signed cookie is only as strong as its key; refuse anything a person could type from memory.
MIN_COOKIE_SECRET_CHARS = 32
DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024
LOG_FORMATS = ("text", "json")
# A single Redis (redis-py's URL forms) or a cluster (tornagram/redis_client.py).
SESSION_STORES = ("database", "redis")
REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+cluster")
DEFAULT_MAIL_FROM = "Tornagram <tornagram@localhost>"
DEFAULT_SIGNUP_IP_BURST = 10
DEFAULT_SIGNUP_IP_EVERY_SECS = 360.0


class ConfigError(Exception):
    """A setting that cannot work; the message says which and why."""


@dataclass(frozen=True, slots=True)
class PasswordHashParams:
    """argon2id cost. The defaults are argon2-cffi's (RFC 9106 low-memory profile)."""

    time_cost: int = 3
    memory_cost_kib: int = 65536
    parallelism: int = 4


# Tests hash hundreds of passwords; they use this so the suite stays quick. Never used by `serve`.
FAST_TEST_HASH_PARAMS = PasswordHashParams(time_cost=1, memory_cost_kib=1024, parallelism=1)


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    cookie_secret: str
    host: str = "127.0.0.1"
    port: int = 8888
    database_url: str = ""
    debug: bool = False
    # Restart when a source file changes (``serve --debug`` on one process only).
    autoreload: bool = False
    redis_url: str = ""
    processes: int = 1
    # Behind nginx, trust the right-most X-Forwarded-For hop and X-Forwarded-Proto (web/proxy.py).
    behind_proxy: bool = False
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    # Lets the URL import reach 127.0.0.0/8: for tests that fetch from a local server only.
    allow_loopback_fetch: bool = False
    password_hash: PasswordHashParams = field(default_factory=PasswordHashParams)
    # Threads that may hash passwords at once; more logins wait their turn off the loop.
    password_hash_threads: int = 2
    session_max_age_days: int = 30
    # Where sessions live: "database" (the sessions table) or "redis" (on redis_url; see
    # tornagram/accounts/redis_sessions.py).
    session_store: str = "database"
    # The in-memory caches (tornagram/cache/). Off: every answer is read from the database,
    # for comparing, or for ruling the caches out when something looks stale.
    caches: bool = True
    # Where the site is reached, e.g. "https://photos.example.org" (no trailing slash): the
    # host of absolute URLs (og:url, og:image). Empty: only --debug falls back to the request.
    site_url: str = ""
    # Prometheus /metrics on its own port (0: off), on metrics_host; worker i of --processes N
    # listens on metrics_port + i (tornagram/metrics.py).
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    # "text" (one human-readable line a record) or "json" (one JSON object a line).
    log_format: str = "text"
    # Outgoing mail (tornagram/mail): empty writes .eml files to <data-dir>/outbox instead.
    smtp_url: str = ""
    mail_from: str = DEFAULT_MAIL_FROM
    # New accounts may post only once they have followed the link mailed to them.
    require_email_confirmation: bool = False
    # Where media is stored: "" for files in the data dir, or s3://bucket/prefix (storage/).
    media_url: str = ""
    # Where public media is fetched from when not through this site's /media/, e.g. a CDN.
    media_public_url: str = ""
    # How long a private photo's signed URL works (storage/urls.py).
    signed_url_ttl_secs: int = 3600
    # Sign-ups per address (ratelimit.py, "signup-ip"): this many at once, then one more every
    # signup_ip_every_secs. A school or office behind one address may need a larger burst.
    signup_ip_burst: int = DEFAULT_SIGNUP_IP_BURST
    signup_ip_every_secs: float = DEFAULT_SIGNUP_IP_EVERY_SECS

    @property
    def media_dir(self) -> Path:
        """The local backend's folder; only tornagram/storage/ reads it."""
        return self.data_dir / "media"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def exports_dir(self) -> Path:
        # Not media storage: an export is private, served only to its owner.
        return self.data_dir / "exports"

    @property
    def uses_default_sqlite(self) -> bool:
        return self.database_url == default_database_url(self.data_dir)


DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://", "mysql+asyncmy://")


def default_database_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'tornagram.db').resolve()}"


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(ENV_PREFIX + name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_cookie_secret(data_dir: Path) -> str:
    """The secret from the environment, else the one stored in the data dir (made on first run)."""
    from_env = env("COOKIE_SECRET")
    if from_env is not None:
        if len(from_env) < MIN_COOKIE_SECRET_CHARS:
            raise ConfigError(
                f"TORNAGRAM_COOKIE_SECRET must be at least {MIN_COOKIE_SECRET_CHARS} characters; "
                'generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        return from_env
    path = data_dir / COOKIE_SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting together must not each write a different secret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text().strip()
        if len(secret) < MIN_COOKIE_SECRET_CHARS:
            raise ConfigError(
                f"{path} holds a secret that is too short; delete it to make a new one"
            ) from None
        return secret
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    return secret


def build_settings(
    *,
    data_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 8888,
    database_url: str = "",
    debug: bool = False,
    redis_url: str = "",
    processes: int = 1,
    behind_proxy: bool = False,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    allow_loopback_fetch: bool = False,
    cookie_secret: str | None = None,
    password_hash: PasswordHashParams | None = None,
    caches: bool = True,
    site_url: str = "",
    metrics_port: int = 0,
    metrics_host: str = "127.0.0.1",
    log_format: str = "text",
    smtp_url: str = "",
    mail_from: str = DEFAULT_MAIL_FROM,
    require_email_confirmation: bool = False,
    media_url: str = "",
    media_public_url: str = "",
    signed_url_ttl_secs: int = 3600,
    signup_ip_burst: int = DEFAULT_SIGNUP_IP_BURST,
    signup_ip_every_secs: float = DEFAULT_SIGNUP_IP_EVERY_SECS,
    session_store: str = "database",
) -> Settings:
    data = Path(data_dir).expanduser().resolve()
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port must be between 1 and 65535, not {port}")
    if processes < 1:
        raise ConfigError("--processes must be at least 1")
    if processes > 1 and not redis_url:
        raise ConfigError(
            "--processes greater than 1 needs --redis-url: live events must reach sockets "
            "held by every process, and Redis is what carries them between processes"
        )
    if metrics_port and not 1 <= metrics_port <= 65535 - (processes - 1):
        raise ConfigError(
            f"--metrics-port must be between 1 and {65535 - (processes - 1)} "
            f"(worker i of {processes} listens on it plus i), not {metrics_port}"
        )
    if metrics_port and metrics_host == host and port in range(
        metrics_port, metrics_port + processes
    ):
        raise ConfigError("--metrics-port must differ from --port: metrics have their own port")
    if log_format not in LOG_FORMATS:
        raise ConfigError(
            f"--log-format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}"
        )
    if redis_url and redis_url.split("://", 1)[0].lower() not in REDIS_SCHEMES:
        raise ConfigError(
            "--redis-url must start with redis://, rediss://, unix:// or, for a Redis Cluster, "
            "redis+cluster://host:port[,host:port…]"
        )
    if session_store not in SESSION_STORES:
        raise ConfigError(
            f"--session-store must be one of {', '.join(SESSION_STORES)}, not {session_store!r}"
        )
    if session_store == "redis" and not redis_url:
        raise ConfigError(
            "--session-store redis needs --redis-url: the sessions live on that Redis "
            "(or Redis Cluster)"
        )
    if max_upload_bytes < 1024:
        raise ConfigError("--max-upload-bytes must be at least 1024")
    data.mkdir(parents=True, exist_ok=True)
    url = database_url or default_database_url(data)
    if not url.startswith(DATABASE_SCHEMES):
        raise ConfigError(
            "--database-url must start with sqlite+aiosqlite://, postgresql+asyncpg:// "
            "or mysql+asyncmy://"
        )
    site_url = check_site_url(site_url)
    mail_from = check_mail_from(mail_from)
    if smtp_url and not (smtp_url.startswith("smtp://") or smtp_url.startswith("smtps://")):
        raise ConfigError("--smtp-url must start with smtp:// (STARTTLS) or smtps:// (TLS)")
    media_url = check_media_url(media_url)
    media_public_url = check_media_public_url(media_public_url)
    if signed_url_ttl_secs < 60:
        raise ConfigError("--signed-url-ttl-secs must be at least 60")
    if signup_ip_burst < 1 or signup_ip_every_secs <= 0:
        raise ConfigError(
            "--signup-ip-burst must be at least 1 and --signup-ip-every-secs more than 0"
        )
    secret = cookie_secret if cookie_secret is not None else load_cookie_secret(data)
    return Settings(
        data_dir=data,
        cookie_secret=secret,
        host=host,
        port=port,
        database_url=url,
        debug=debug,
        redis_url=redis_url,
        session_store=session_store,
        processes=processes,
        behind_proxy=behind_proxy,
        max_upload_bytes=max_upload_bytes,
        allow_loopback_fetch=allow_loopback_fetch,
        password_hash=password_hash or PasswordHashParams(),
        caches=caches,
        site_url=site_url,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        log_format=log_format,
        smtp_url=smtp_url,
        mail_from=mail_from,
        require_email_confirmation=require_email_confirmation,
        media_url=media_url,
        media_public_url=media_public_url,
        signed_url_ttl_secs=signed_url_ttl_secs,
        signup_ip_burst=signup_ip_burst,
        signup_ip_every_secs=signup_ip_every_secs,
    )


def check_mail_from(raw: str) -> str:
    """``--mail-from``: an address, or ``Name <address>``, on one line."""
    raw = (raw or "").strip() or DEFAULT_MAIL_FROM
    _name, address = parseaddr(raw)
    if re.search(r"[\x00-\x1f\x7f]", raw) or not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", address):
        raise ConfigError(
            f"--mail-from must be an address such as 'Tornagram <photos@example.org>', not {raw!r}"
        )
    return raw


def check_media_url(raw: str) -> str:
    """``--media-url``: "" (files in the data dir) or ``s3://bucket[/prefix]`` with optional
    ``?endpoint=…&region=…`` (docs/media.md)."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    parts = urllib.parse.urlsplit(raw)
    if (
        parts.scheme != "s3"
        or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", parts.hostname or "")
        or parts.fragment
        or re.search(r"[\x00-\x20\x7f]", raw)
        or ".." in parts.path.split("/")
    ):
        raise ConfigError(
            f"--media-url must look like s3://bucket/prefix (a lower-case bucket name), "
            f"not {raw!r}"
        )
    return raw


def check_media_public_url(raw: str) -> str:
    raw = (raw or "").strip()
    if not raw:
        return ""
    parts = urllib.parse.urlsplit(raw)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or re.search(r"[\x00-\x20\x7f]", raw)
    ):
        raise ConfigError(
            f"--media-public-url must look like https://cdn.example.org/media/, not {raw!r}"
        )
    return raw.rstrip("/") + "/"


def check_site_url(raw: str) -> str:
    """``--site-url`` as ``scheme://host[:port][/path]`` without a trailing slash, or ""."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        parts = urllib.parse.urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
        or re.search(r"[\x00-\x20\x7f]", raw)
    ):
        raise ConfigError(
            f"--site-url must look like https://photos.example.org (http or https, a host, "
            f"an optional path, no query), not {raw!r}"
        )
    return raw.rstrip("/")
