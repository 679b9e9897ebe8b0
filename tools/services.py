"""Throwaway PostgreSQL and Redis servers for the tests and the benchmarks.

Both run from Debian's binaries (``postgresql``: /usr/lib/postgresql/<major>/bin,
``redis-server``) in a temporary folder, listen only where this machine alone can reach
them (PostgreSQL: a unix socket in that folder, no TCP; Redis: 127.0.0.1 on a free port),
and are stopped and deleted on ``close()``. PostgreSQL refuses to run as root, so as root
the cluster is made and run by the unprivileged ``nobody`` user (``runuser``).

    with PostgresServer.start() as pg:
        url = pg.create_database("t1")       # postgresql://postgres@/t1?host=/tmp/...
    with RedisServer.start() as redis:
        redis.url                            # redis://127.0.0.1:PORT/0
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["PostgresServer", "RedisServer", "free_port", "postgres_bin", "why_no_postgres"]

START_TIMEOUT_S = 60.0
UNPRIVILEGED_USER = "nobody"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin folder, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[-3])
    )
    return Path(found[-1]).parent if found else None


def why_no_postgres() -> str | None:
    """Why a PostgreSQL server cannot be started here (None when it can)."""
    if postgres_bin() is None:
        return (
            "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin): apt-get install postgresql"
        )
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: PostgreSQL will not run as root"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (the postgresql extra)"
    return None


class PostgresServer:
    """One PostgreSQL cluster in a temp folder, reached over its unix socket as ``postgres``."""

    def __init__(self, folder: Path, bin_dir: Path, process_user: str | None) -> None:
        self.folder = folder
        self.bin = bin_dir
        self.user = process_user
        self.data = folder / "data"
        self.socket_dir = folder / "socket"
        self.port = free_port()  # names the socket file; no TCP listener

    @classmethod
    def start(cls, settings: dict[str, str] | None = None) -> PostgresServer:
        reason = why_no_postgres()
        if reason:
            raise RuntimeError(reason)
        bin_dir = postgres_bin()
        assert bin_dir is not None
        folder = Path(tempfile.mkdtemp(prefix="digest-pg-"))
        user = UNPRIVILEGED_USER if os.geteuid() == 0 else None
        server = cls(folder, bin_dir, user)
        try:
            server._init(settings or {})
        except BaseException:
            server.close()
            raise
        return server

    def _as_user(self, *argv: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *argv] if self.user else list(argv)

    def _init(self, settings: dict[str, str]) -> None:
        self.socket_dir.mkdir()
        if self.user:
            shutil.chown(self.folder, self.user)
            shutil.chown(self.socket_dir, self.user)
        subprocess.run(
            self._as_user(
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
        )
        options = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "port": str(self.port),
            "fsync": "off",  # a throwaway cluster: durability buys nothing here
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            **settings,
        }
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            for key, value in options.items():
                conf.write(f"{key} = {value}\n")
        subprocess.run(
            self._as_user(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.folder / "server.log"),
                "-w",
                "-t",
                str(int(START_TIMEOUT_S)),
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(statement)

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new empty database (or a copy of ``template``); its URL."""
        extra = f' TEMPLATE "{template}"' if template else ""
        self.admin(f'CREATE DATABASE "{name}"{extra}')
        return self.url(name)

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                self._as_user(
                    str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
                ),
                capture_output=True,
                check=False,
            )
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class RedisServer:
    """One redis-server on 127.0.0.1 and a free port, no persistence, in a temp folder."""

    def __init__(self, folder: Path, process: subprocess.Popen[bytes], port: int) -> None:
        self.folder = folder
        self.process = process
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"

    @classmethod
    def start(cls, password: str | None = None) -> RedisServer:
        """``password``: the server requires it (``requirepass``)."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("no redis-server binary: apt-get install redis-server")
        folder = Path(tempfile.mkdtemp(prefix="digest-redis-"))
        port = free_port()
        process = subprocess.Popen(
            [
                binary,
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(folder),
                "--protected-mode", "yes",
                *(["--requirepass", password] if password else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        server = cls(folder, process, port)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                server.close()
                raise RuntimeError(f"redis-server exited with status {process.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                return server
            time.sleep(0.05)
        server.close()
        raise RuntimeError(f"redis-server did not listen on port {port} in {START_TIMEOUT_S} s")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
