"""The production server: gunicorn serving ``web.app.create_app()``, run by ``eva serve``.

The master process reads the configuration once and builds the application once, only to check
it (a missing or weak ``EVA_SECRET_KEY`` in production, a bad ``EVA_*`` value) before any worker
starts and to settle the session key that every worker must share; that probe's database pool is
disposed before the first fork, so no connection crosses it. Each worker then builds its own
application, with its own engine and pool, after the fork (``preload_app`` stays off).

What several processes share lives outside them: the session key (the same ``Settings`` are
inherited by every worker), the login throttle's counters (in the database), the idempotency
keys, the audit chain and the outbox (in the database). The outbox worker is a process of its
own (``eva worker``), never a thread of a web worker.

Forwarded headers are believed only as ``EVA_TRUST_PROXY`` says (``ProxyFix`` in
``web.security``): gunicorn's own handling of ``X-Forwarded-Proto`` (which by default trusts any
client on loopback or a UNIX socket) is switched off, so there is one rule, not two.

Settings (the command's options win over the environment; anything else gunicorn knows can be
given in ``GUNICORN_CMD_ARGS``):

=============================== ================================================ =============
``EVA_WEB_WORKERS``             worker processes                                 2 × CPUs + 1,
                                                                                 at most 8
``EVA_WEB_THREADS``             threads per worker (each may hold a connection)  2
``EVA_WEB_TIMEOUT``             seconds a request may take before its worker is  30
                                killed and replaced
``EVA_WEB_GRACEFUL_TIMEOUT``    seconds a stopping worker has to finish what it  30
                                is serving (SIGTERM, SIGHUP, ``max_requests``)
``EVA_WEB_KEEPALIVE``           seconds an idle keep-alive connection is kept    5
``EVA_WEB_MAX_REQUESTS``        requests after which a worker is replaced        10000
                                (0: never)
``EVA_WEB_MAX_REQUESTS_JITTER`` random extra requests, so workers are not all    max/10
                                replaced at once
``EVA_WEB_ACCESS_LOG``          ``-`` (standard output), a file, or ``off``      ``-``
=============================== ================================================ =============
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from eva_engine.config import Settings, WebServerSettings
from eva_engine.errors import ConfigurationError

SHM = "/dev/shm"  # noqa: S108 - shared memory, not a temporary file anyone can plant
# The combined log format with the request's duration (ms) and the worker's pid at the end.
# Token parameters in the request line and the referrer are redacted by web.security's filter
# on gunicorn.access.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms %(p)s'
_OFF = ("off", "none", "0", "false", "no")


@dataclass(frozen=True)
class ServerOptions:
    """How gunicorn runs eva: read from ``EVA_WEB_*`` by ``from_env``; the command's options
    are put over them."""

    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    threads: int = 2
    timeout: int = 30
    graceful_timeout: int = 30
    keepalive: int = 5
    max_requests: int = 10000
    max_requests_jitter: int = 1000
    access_log: str | None = "-"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any) -> ServerOptions:
        """The environment's settings with ``given`` (the command's options; None: not given)
        put over them."""
        web = WebServerSettings.from_env(os.environ if environ is None else environ)
        log = web.access_log.strip() or "-"
        jitter = web.max_requests_jitter
        options = cls(
            workers=web.workers,
            threads=web.threads,
            timeout=web.timeout,
            graceful_timeout=web.graceful_timeout,
            keepalive=web.keepalive,
            max_requests=web.max_requests,
            max_requests_jitter=web.max_requests // 10 if jitter is None else jitter,
            access_log=None if log.lower() in _OFF else log,
        )
        return replace(options, **{k: v for k, v in given.items() if v is not None})

    def gunicorn_settings(self) -> dict[str, Any]:
        host = f"[{self.host}]" if ":" in self.host else self.host
        settings: dict[str, Any] = {
            "bind": [f"{host}:{self.port}"],
            "workers": self.workers,
            "worker_class": "gthread",  # keep-alive and threads; each thread one request
            "threads": self.threads,
            "timeout": self.timeout,
            "graceful_timeout": self.graceful_timeout,
            "keepalive": self.keepalive,
            "max_requests": self.max_requests,
            "max_requests_jitter": self.max_requests_jitter,
            "accesslog": self.access_log,
            "access_log_format": ACCESS_LOG_FORMAT,
            "errorlog": "-",
            "preload_app": False,  # every worker builds its own application after the fork
            # EVA_TRUST_PROXY alone decides which forwarded headers count (ProxyFix).
            "forwarded_allow_ips": "",
            "secure_scheme_headers": {},
            "proc_name": "eva",
        }
        if os.path.isdir(SHM):  # the workers' heartbeat files off the disk (gunicorn's advice)
            settings["worker_tmp_dir"] = SHM
        return settings


def checked_settings(settings: Settings | None = None) -> Settings:
    """The settings every worker will use, checked by building the application once here: a
    configuration error stops the server before any worker starts. The session key is fixed
    here, so all workers sign and read the same cookies (outside production without
    ``EVA_SECRET_KEY`` a key would otherwise be made per application, or per process). The
    probe's engine is disposed: the master process keeps no database connection."""
    from web.app import create_app  # noqa: PLC0415 - the master imports the app only here

    settings = settings or Settings.from_env()
    probe = create_app(settings)
    try:
        key = probe.config["SECRET_KEY"]
    finally:
        probe.extensions["eva"].database.dispose()
    return settings.model_copy(update={"secret_key": key})


class EvaServer(BaseApplication):
    """gunicorn's application for eva: the settings come from ``ServerOptions`` (and
    ``GUNICORN_CMD_ARGS``), the WSGI app from ``create_app`` in each worker."""

    def __init__(self, options: ServerOptions, settings: Settings) -> None:
        self.options = options
        self.settings = settings
        super().__init__(prog="eva serve")

    def load_config(self) -> None:
        for name, value in self.options.gunicorn_settings().items():
            self.cfg.set(name, value)
        extra = os.environ.get("GUNICORN_CMD_ARGS")
        if extra:
            import shlex  # noqa: PLC0415

            parsed = self.cfg.parser().parse_args(shlex.split(extra))
            for name, value in vars(parsed).items():
                if value is not None and name in self.cfg.settings:
                    self.cfg.set(name.lower(), value)

    def load(self) -> Flask:
        from web.app import create_app  # noqa: PLC0415 - in the worker, after the fork

        return create_app(self.settings)


def require_shared_state(options: ServerOptions, settings: Settings) -> None:
    """Refuse what would keep per-process state that several workers must share: the login
    throttle's counters in ``memory://`` would let each worker allow its own attempts."""
    uri = settings.throttle.storage_uri or ""
    if options.workers > 1 and uri.lower().startswith("memory"):
        raise ConfigurationError(
            f"EVA_RATELIMIT_STORAGE_URI={uri} keeps the login throttle's counters inside each "
            f"of the {options.workers} workers; unset it (the database is shared) or use a "
            "shared storage such as redis://"
        )


def serve(options: ServerOptions) -> None:
    """Run gunicorn in the foreground until SIGTERM (graceful) or SIGINT/SIGQUIT (quick)."""
    settings = checked_settings()
    require_shared_state(options, settings)
    EvaServer(options, settings).run()


def serve_development(host: str, port: int) -> None:
    """Flask's development server, on request only; refused in production."""
    from web.app import create_app  # noqa: PLC0415

    settings = Settings.from_env()
    if settings.environment == "production":
        raise ConfigurationError(
            "the development server is not for production (EVA_ENV=production); "
            "run `eva serve` without --dev"
        )
    create_app(settings).run(host=host, port=port)
