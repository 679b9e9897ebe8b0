"""The Celery application: its settings, the three tasks, and ``start_worker``.

Each process builds the app from its own config (``make_app``): the worker runs the tasks
with that config, the dispatcher sends them by name with the same one. Tasks carry only
names, ids and dates; the store holds the rest. Their answers are JSON: ``fetch_source``
answers its ``SourceReport`` as ``digest.serialize.to_jsonable`` writes it.

Settings that matter for a worker that dies mid-task: ``task_acks_late`` (a task is
acknowledged when it finishes, so a killed worker's task is handed out again),
``task_reject_on_worker_lost``, a prefetch of one (a worker holds no queue of tasks it is
not running), and the broker's ``visibility_timeout`` (how long Redis waits before handing
an unacknowledged task to another worker). None of them is what keeps a message from
going out twice: the store's batch claim and ledger do that (``digest.store.batches``).

``check_broker`` asks the broker once, within ``BROKER_TIMEOUT_S``, before anything is
sent: a broker that cannot be reached or refuses the password is one ``DigestError``
line that names it (without the password), not Celery's minutes of retries and
tracebacks; ``broker_lost`` does the same for a broker lost in the middle of a run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from digest.config import Config, secret
from digest.distributed import work
from digest.errors import ConfigError, DigestError
from digest.serialize import to_jsonable

__all__ = [
    "BROKER_TIMEOUT_S",
    "FETCH_TASK",
    "SEND_TASK",
    "SUMMARIZE_TASK",
    "DistributedError",
    "broker_lost",
    "broker_url",
    "check_broker",
    "make_app",
    "shown_broker",
    "start_worker",
]

log = logging.getLogger(__name__)

FETCH_TASK = "digest.fetch_source"
SUMMARIZE_TASK = "digest.summarize_articles"
SEND_TASK = "digest.send_batches"
QUEUE = "digest"
BROKER_TIMEOUT_S = 10.0  # connecting to the broker, and its answer, when it is checked


class DistributedError(DigestError):
    """A distributed stage failed (the broker is unreachable, a task raised, or no worker
    answered in time)."""


def broker_url(config: Config) -> str:
    """The broker URL with the password from ``broker_password_env``, if one is set."""
    url = config.distributed.broker
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"distributed.broker: {shown_broker(url)!r} is not a redis:// URL")
    password = secret(config.distributed.broker_password_env)
    if password and url.startswith(("redis://", "rediss://")):
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        user = parts.netloc.rpartition("@")[0].partition(":")[0]
        # Quoted: a password with "@", ":" or "/" in it must not end the netloc early.
        url = urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))
    return url


def shown_broker(url: str) -> str:
    """``url`` as it may be shown: its password, if it has one, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, _ = parts.netloc.rpartition("@")[0].partition(":")
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def check_broker(config: Config, *, timeout: float = BROKER_TIMEOUT_S) -> None:
    """Ask the broker once (Redis ``PING``) within ``timeout`` seconds: ``ConfigError``
    when it refuses the password (or wants one), ``DistributedError`` when it cannot be
    reached or does not answer. The messages name the broker, never its password."""
    url = broker_url(config)
    try:
        import redis
    except ImportError as exc:
        raise ConfigError(
            "distributed work needs Celery: pip install 'digest[distributed]'"
        ) from exc
    shown = shown_broker(url)
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except redis.AuthenticationError as exc:  # before ConnectionError: it is one
        raise ConfigError(
            f"the broker {shown} refused the password ({_reason(exc, url)}):"
            f" check ${config.distributed.broker_password_env}"
        ) from exc
    except redis.RedisError as exc:
        raise DistributedError(f"cannot reach the broker {shown}: {_reason(exc, url)}") from exc
    finally:
        client.close()


@contextmanager
def broker_lost(config: Config) -> Iterator[None]:
    """Turn the broker lost in the middle of a run (after Celery's own retries: 20, a
    second apart, for the result store) into one ``DistributedError`` line that names it,
    instead of Celery's ``RuntimeError`` and its chain of tracebacks."""
    try:
        yield
    except Exception as exc:
        cause = _broker_failure(exc)
        if cause is None:
            raise
        url = broker_url(config)
        raise DistributedError(
            f"lost the broker {shown_broker(url)}: {_reason(cause, url)}"
        ) from exc


def _broker_failure(exc: BaseException) -> BaseException | None:
    """The Redis or kombu connection error in ``exc``'s chain of causes, if there is one."""
    import redis
    from kombu.exceptions import OperationalError

    seen = 0
    found: BaseException | None = exc
    while found is not None and seen < 10:  # a chain is short; a cycle must not loop
        if isinstance(found, (redis.RedisError, OperationalError)):
            return found
        found, seen = found.__cause__ or found.__context__, seen + 1
    return None


def _reason(exc: BaseException, url: str) -> str:
    """``exc`` as one line, without the broker's password should the library name it."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    password = urlsplit(url).password
    for written in {password, unquote(password)} if password else ():
        text = text.replace(written, "***")
    return text


def make_app(config: Config) -> Any:
    """The Celery app for ``config`` with digest's tasks registered."""
    try:
        from celery import Celery
    except ImportError as exc:
        raise ConfigError(
            "distributed work needs Celery: pip install 'digest[distributed]'"
        ) from exc
    url = broker_url(config)
    app = Celery("digest", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=24 * 3600,
        broker_transport_options={"visibility_timeout": config.distributed.visibility_timeout},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_track_started=False,
    )
    polite = _polite_claim(url)

    @app.task(name=FETCH_TASK)  # type: ignore[untyped-decorator]
    def fetch_source(name: str) -> dict[str, Any]:
        # JSON on the wire: the dispatcher rebuilds the SourceReport (from_jsonable).
        answer: dict[str, Any] = to_jsonable(work.fetch_source(config, name, polite))
        return answer

    @app.task(name=SUMMARIZE_TASK)  # type: ignore[untyped-decorator]
    def summarize_articles(article_ids: list[str]) -> int:
        return work.summarize_articles(config, article_ids)

    @app.task(name=SEND_TASK)  # type: ignore[untyped-decorator]
    def send_batches(day: str, limit: int | None = None) -> dict[str, int]:
        totals = work.send_batches(config, date.fromisoformat(day), limit=limit)
        return dict(vars(totals))

    return app


def _polite_claim(url: str) -> Any:
    """``claim(key, ms)``: Redis ``SET key 1 NX PX ms``, shared by every worker."""
    client: Any = None

    def claim(key: str, ms: int) -> bool:
        nonlocal client
        if client is None:
            import redis  # Celery's Redis transport depends on it

            client = redis.Redis.from_url(url)
        return bool(client.set(key, b"1", nx=True, px=ms))

    return claim


def start_worker(config: Config, *, name: str | None = None, concurrency: int = 1) -> None:
    """Run a worker in this process until it is stopped (SIGTERM: finish the task, then
    exit). ``concurrency`` > 1 forks that many processes (Celery's prefork pool)."""
    app = make_app(config)
    argv = [
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        "--pool=solo" if concurrency == 1 else "--pool=prefork",
        "--without-gossip",
        "--without-mingle",
        f"--queues={QUEUE}",
    ]
    if name:
        argv.append(f"--hostname={name}")
    app.worker_main(argv)
