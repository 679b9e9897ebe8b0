"""A distributed-sending rig for the kill test and the scale benchmark: PostgreSQL, Redis,
an SMTP sink and ``digest worker`` processes, all local and throwaway.

    with SendRig.start(tmp, subscribers=600, send_batch=25) as rig:
        rig.start_workers(3)
        outcome = rig.send()                 # digest.distributed.send_distributed
        rig.kill(0); rig.restart(0)          # SIGKILL a worker, start it again

Subscribers are loaded with PostgreSQL's ``COPY`` (a million in seconds). The edition is
``tests/data/edition.json``, saved under its own date. Workers are separate processes
(``digest --config rig.yaml worker``), each a Celery worker with the solo pool.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from tools.services import PostgresServer, RedisServer

ROOT = Path(__file__).resolve().parent.parent
SECRET_ENV = "DIGEST_RIG_SECRET"
SECRET = "rig secret: thirty-two bytes long"
WORKER_START_TIMEOUT_S = 60.0
NAMES = ["Ana Lima", "王芳", "محمد علي", "अनीता शर्मा", "Jürgen Groß", "Zoë O'Neil", "山田 花子"]

__all__ = ["Copies", "KillReport", "SendRig", "kill_during_send"]


def _src_on_path() -> None:
    for path in (str(ROOT / "src"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)


class SendRig:
    def __init__(
        self,
        folder: Path,
        postgres: PostgresServer,
        redis: RedisServer,
        smtp_host: str,
        smtp_port: int,
        *,
        send_batch: int,
        connections: int = 1,
        visibility_timeout: int = 10,
        own_servers: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> None:
        _src_on_path()
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.postgres = postgres
        self.redis = redis
        self.own_servers = own_servers
        self.store_url = postgres.create_database(f"rig_{os.getpid()}_{int(time.time() * 1000)}")
        self.config_path = folder / "rig.yaml"
        raw = {
            "data_dir": str(folder / "data"),
            "store": self.store_url,
            "delivery": {
                "transport": "smtp",
                "connections": connections,
                "max_attempts": 5,
                "backoff_seconds": 0.05,
                "backoff_max_seconds": 0.5,
                "smtp": {"host": smtp_host, "port": smtp_port, "timeout": 30},
            },
            "server": {"secret_env": SECRET_ENV},
            "newsletter": {"base_url": "https://news.example.org"},
            "distributed": {
                "broker": redis.url,
                "send_batch": send_batch,
                "visibility_timeout": visibility_timeout,
                "poll_seconds": 0.2,
            },
        }
        raw.update(extra or {})  # more top-level keys (sources, ...)
        self.config_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        os.environ[SECRET_ENV] = SECRET
        from digest.config import load_config

        self.config = load_config(self.config_path)
        self.workers: list[subprocess.Popen[bytes] | None] = []
        self.logs: list[Path] = []

    @classmethod
    def start(
        cls,
        folder: Path,
        smtp_host: str,
        smtp_port: int,
        *,
        send_batch: int = 25,
        connections: int = 1,
        visibility_timeout: int = 10,
        postgres_settings: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> SendRig:
        postgres = PostgresServer.start(postgres_settings)
        try:
            redis = RedisServer.start()
        except BaseException:
            postgres.close()
            raise
        return cls(
            folder,
            postgres,
            redis,
            smtp_host,
            smtp_port,
            send_batch=send_batch,
            connections=connections,
            visibility_timeout=visibility_timeout,
            extra=extra,
        )

    # --- data ---------------------------------------------------------------------------

    def load(self, subscribers: int, *, edition_day: str | None = None) -> Any:
        """``subscribers`` active subscribers (COPY) and the sample edition; the edition."""
        from digest import serialize
        from digest.models import Edition
        from digest.pipeline import open_store
        from digest.store import EditionStore
        from digest.store.pg import PostgresDatabase, reset_identities

        edition = serialize.loads(Edition, (ROOT / "tests/data/edition.json").read_text("utf-8"))
        if edition_day:
            edition = replace(edition, date=datetime.fromisoformat(edition_day).date())
        now = datetime.now(UTC).isoformat()
        with open_store(self.config) as db:
            assert isinstance(db, PostgresDatabase)
            EditionStore(db).save(edition)
            conn = db.connection
            with (
                conn.cursor() as cursor,
                cursor.copy(
                    "COPY subscribers (id, email, email_key, name, topics, state, created_at,"
                    " updated_at) FROM STDIN"
                ) as copy,
            ):
                for i in range(1, subscribers + 1):
                    email = f"reader{i}@example.com"
                    name = NAMES[i % len(NAMES)]
                    copy.write_row((i, email, email, name, "[]", "active", now, now))
            reset_identities(db)
        return edition

    # --- workers ------------------------------------------------------------------------

    def _worker_argv(self, index: int) -> list[str]:
        code = "import sys; from digest.cli import main; sys.exit(main())"
        return [
            sys.executable,
            "-c",
            code,
            "--config",
            str(self.config_path),
            "worker",
            "--name",
            f"w{index}@rig",
        ]

    def _spawn(self, index: int) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
        env[SECRET_ENV] = SECRET
        log = (self.folder / f"worker{index}.log").open("ab")
        try:
            return subprocess.Popen(
                self._worker_argv(index),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.folder,
            )
        finally:
            log.close()

    def start_workers(self, n: int) -> None:
        for i in range(n):
            self.workers.append(self._spawn(i))
            self.logs.append(self.folder / f"worker{i}.log")

    def wait_ready(self, count: int, timeout: float = WORKER_START_TIMEOUT_S) -> None:
        """Block until ``count`` workers answer a Celery ping."""
        from digest.distributed.app import make_app

        app = make_app(self.config)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(app.control.ping(timeout=0.5) or []) >= count:
                return
        raise RuntimeError(f"{count} workers did not answer in {timeout:.0f} s; see {self.logs}")

    def kill(self, index: int) -> None:
        """SIGKILL worker ``index`` (no warm shutdown: whatever it was doing is cut)."""
        process = self.workers[index]
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
        self.workers[index] = None

    def restart(self, index: int) -> None:
        self.workers[index] = self._spawn(index)

    def kill_random(self, rng: random.Random) -> int:
        index = rng.randrange(len(self.workers))
        self.kill(index)
        return index

    def worker_pids(self) -> list[int]:
        return [p.pid for p in self.workers if p is not None and p.poll() is None]

    def stop_workers(self) -> None:
        for process in self.workers:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.workers:
            if process is None:
                continue
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.workers = []

    # --- sending ------------------------------------------------------------------------

    def send(self, day: Any, progress: Any = None) -> Any:
        from digest.distributed.dispatch import send_distributed

        return send_distributed(self.config, day, progress=progress)

    def ledger_counts(self, edition_id: str) -> dict[str, int]:
        from digest.pipeline import open_store
        from digest.store.ledger import DeliveryLedger

        with open_store(self.config) as db:
            return DeliveryLedger(db).counts(edition_id)

    def ambiguous_rows(self, edition_id: str) -> dict[str, int]:
        """Email -> times its row was resent as ambiguous."""
        from digest.pipeline import open_store

        with open_store(self.config) as db:
            rows = db.query(
                "SELECT s.email, d.ambiguous FROM deliveries d JOIN subscribers s"
                " ON s.id = d.subscriber_id WHERE d.edition_id = :e AND d.ambiguous > 0",
                {"e": edition_id},
            )
        return {r["email"]: int(r["ambiguous"]) for r in rows}

    def close(self) -> None:
        self.stop_workers()
        if self.own_servers:
            self.redis.close()
            self.postgres.close()

    def __enter__(self) -> SendRig:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Copies:
    """A sink's ``on_message``: copies received per recipient and their Message-IDs, without
    keeping the messages (a full-size run would hold gigabytes)."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}
        self.ids: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def __call__(self, received: Any) -> None:
        with self._lock:
            for rcpt in received.rcpt_tos:
                key = rcpt.lower()
                self.count[key] = self.count.get(key, 0) + 1
                self.ids.setdefault(key, set()).add(received.message_id)


@dataclass
class KillReport:
    subscribers: int
    kills: list[tuple[float, int]]  # (share sent when killed, worker index)
    outcome: Any  # digest.distributed.dispatch.SendOutcome
    lost: list[str]
    doubled: dict[str, int]  # email -> copies, for those over one
    unreported: dict[str, int]  # doubled beyond the ledger's ambiguous count
    mixed_ids: list[str]  # recipients whose copies carry different Message-IDs
    elapsed: float

    def summary(self) -> str:
        moments = ", ".join(f"{s:.0%} (w{v})" for s, v in self.kills)
        return (
            f"{len(self.kills)} SIGKILLs at {moments}; {self.subscribers:,} subscribers in"
            f" {self.elapsed:.1f} s: lost {len(self.lost)}, doubled {len(self.doubled)}"
            f" (ambiguous rows reported {self.outcome.ambiguous}), doubled beyond the reported"
            f" {len(self.unreported)}, resends with another Message-ID {len(self.mixed_ids)}"
        )


def kill_during_send(
    rig: SendRig,
    edition: Any,
    subscribers: int,
    copies: Copies,
    kills_wanted: int,
    rng: random.Random,
    *,
    timeout: float = 3600.0,
) -> KillReport:
    """Send ``edition`` through the rig's workers, SIGKILLing a random worker (and starting
    it again) when the share sent passes each of ``kills_wanted`` random moments."""
    moments = sorted(rng.uniform(0.05, 0.85) for _ in range(kills_wanted))
    outcome: dict[str, Any] = {}

    def dispatch() -> None:
        try:
            outcome["result"] = rig.send(edition.date)
        except BaseException as exc:  # re-raised below, in the caller's thread
            outcome["error"] = exc

    started = time.monotonic()
    dispatcher = threading.Thread(target=dispatch, daemon=True)
    dispatcher.start()
    kills: list[tuple[float, int]] = []
    while dispatcher.is_alive() and time.monotonic() - started < timeout:
        share = rig.ledger_counts(edition.id)["sent"] / subscribers
        if len(kills) < kills_wanted and share >= moments[len(kills)]:
            victim = rig.kill_random(rng)
            kills.append((share, victim))
            rig.restart(victim)
        time.sleep(0.05)
    dispatcher.join(5)
    if "error" in outcome:
        raise outcome["error"]
    if dispatcher.is_alive():
        raise RuntimeError(f"the edition did not finish in {timeout:.0f} s")
    ambiguous = rig.ambiguous_rows(edition.id)
    emails = [f"reader{i}@example.com" for i in range(1, subscribers + 1)]
    doubled = {e: n for e, n in copies.count.items() if n > 1}
    return KillReport(
        subscribers=subscribers,
        kills=kills,
        outcome=outcome["result"],
        lost=[e for e in emails if e not in copies.count],
        doubled=doubled,
        unreported={e: n for e, n in doubled.items() if n - 1 > ambiguous.get(e, 0)},
        mixed_ids=[e for e in doubled if len(copies.ids[e]) > 1],
        elapsed=time.monotonic() - started,
    )
