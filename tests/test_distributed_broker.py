"""`digest run --distributed` when the broker is down or refuses us (issue 22, fault 5):
one `error:` line that names the broker and never its password, the README's exit
status (1: the work failed; 2: the configuration is wrong), in bounded time. The command
runs as a user runs it (a subprocess), against a real redis-server on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from digest.config import load_config
from digest.distributed.app import (
    DistributedError,
    broker_lost,
    check_broker,
    make_app,
    shown_broker,
)
from digest.distributed.dispatch import CeleryStages
from digest.errors import ConfigError
from tools.services import RedisServer, free_port

pytest.importorskip("redis", reason="redis is not installed (the distributed extra)")

PASSWORD = "s3cret-Passwort-كلمة-密码"
HANG_GUARD_S = 120  # a hang fails the test; the command is not timed


def _config(folder: Path, broker: str) -> Path:
    path = folder / "config.yaml"
    raw = {
        "data_dir": str(folder / "data"),
        # Never opened: the broker is checked before the store.
        "store": f"postgresql://nobody@/none?host={folder}&port=1",
        "server": {"secret_env": "DIGEST_TEST_SECRET"},
        "distributed": {"broker": broker, "broker_password_env": "DIGEST_TEST_BROKER_PASSWORD"},
    }
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _run(config: Path, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIGEST_TEST_SECRET": "a test secret of thirty-two bytes"}
    env.pop("DIGEST_TEST_BROKER_PASSWORD", None)
    if password is not None:
        env["DIGEST_TEST_BROKER_PASSWORD"] = password
    digest = str(Path(sys.executable).parent / "digest")
    return subprocess.run(
        [digest, "--config", str(config), "run", "--distributed", "--date", "2026-11-24"],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG_GUARD_S,
    )


@pytest.fixture(scope="module")
def guarded_redis() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary: apt-get install redis-server")
    with RedisServer.start(password=PASSWORD) as server:
        yield server


def test_an_unreachable_broker_is_one_error_line_and_status_1(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    done = _run(_config(tmp_path, f"redis://127.0.0.1:{port}/0"))
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: cannot reach the broker redis://127.0.0.1:{port}/0: ")
    assert "Connection refused" in line
    assert "Traceback" not in done.stdout


def test_a_password_in_the_broker_url_is_never_shown(tmp_path: Path) -> None:
    port = free_port()
    done = _run(_config(tmp_path, f"redis://worker:{PASSWORD}@127.0.0.1:{port}/3"))
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: cannot reach the broker redis://worker:***@127.0.0.1:{port}/3")
    assert PASSWORD not in done.stderr + done.stdout


def test_a_wrong_broker_password_is_one_error_line_and_status_2(
    tmp_path: Path, guarded_redis: RedisServer
) -> None:
    wrong = "falsch-خطأ-错误"
    done = _run(_config(tmp_path, guarded_redis.url), password=wrong)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    shown = guarded_redis.url.replace("redis://", "redis://:***@")  # a password was sent
    assert line.startswith(f"error: the broker {shown} refused the password")
    assert line.endswith("check $DIGEST_TEST_BROKER_PASSWORD")
    assert wrong not in done.stderr + done.stdout and PASSWORD not in done.stderr


def test_a_broker_that_wants_a_password_and_gets_none(
    tmp_path: Path, guarded_redis: RedisServer
) -> None:
    done = _run(_config(tmp_path, guarded_redis.url))
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: the broker {guarded_redis.url} refused the password")


def test_the_right_password_passes_the_check(tmp_path: Path, guarded_redis: RedisServer) -> None:
    os.environ["DIGEST_TEST_BROKER_PASSWORD"] = PASSWORD
    try:
        check_broker(load_config(_config(tmp_path, guarded_redis.url)))  # no error
    finally:
        del os.environ["DIGEST_TEST_BROKER_PASSWORD"]
    # ... and with it, the run goes past the broker to the store (which is not there).
    done = _run(_config(tmp_path, guarded_redis.url), password=PASSWORD)
    assert "broker" not in done.stderr and "cannot connect to PostgreSQL" in done.stderr


def test_a_broker_that_accepts_and_never_answers_is_given_up_on(tmp_path: Path) -> None:
    """A port that takes the connection and says nothing (a firewall, a wrong service):
    the check gives up after its timeout instead of waiting for ever."""
    silent = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = silent.getsockname()[1]
    try:
        config = load_config(_config(tmp_path, f"redis://127.0.0.1:{port}/0"))
        with pytest.raises(DistributedError, match=rf"cannot reach the broker .*:{port}/0: .*"):
            check_broker(config, timeout=0.5)
        assert held, "the check never connected"
    finally:
        stop.set()
        thread.join(5)
        for connection in held:
            connection.close()
        silent.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("rediss://user:p%40ss@broker.example:6380/1", "rediss://user:***@broker.example:6380/1"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock"),
    ],
)
def test_the_broker_is_shown_without_its_password(url: str, shown: str) -> None:
    assert shown_broker(url) == shown


def test_a_broker_that_is_not_redis_is_a_config_error(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, "amqp://guest:Gäste-Passwort@127.0.0.1//"))
    with pytest.raises(ConfigError, match="is not a redis:// URL") as refused:
        check_broker(config)
    assert "Gäste-Passwort" not in str(refused.value) and "guest:***@" in str(refused.value)


def test_a_password_with_url_characters_reaches_the_broker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``broker_password_env`` goes into the URL quoted: "@", ":" and "/" in it do not
    cut the URL short."""
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary: apt-get install redis-server")
    awkward = "p@ss:wo/rd#ü"
    with RedisServer.start(password=awkward) as server:
        monkeypatch.setenv("DIGEST_TEST_BROKER_PASSWORD", awkward)
        check_broker(load_config(_config(tmp_path, server.url)))  # no error


def test_a_broker_lost_during_the_run_is_one_error_line(tmp_path: Path) -> None:
    """Redis answers the check, then goes away: the stage that sends tasks ends in one
    ``DistributedError`` that names the broker, not Celery's RuntimeError chain."""
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary: apt-get install redis-server")
    (tmp_path / "feeds").mkdir()
    path = _config(tmp_path, "redis://127.0.0.1:1/0")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    with RedisServer.start() as server:
        raw["distributed"] |= {"broker": server.url, "poll_seconds": 0.05}
        raw["sources"] = [{"name": "Notícias", "location": str(tmp_path / "feeds")}]
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        config = load_config(path)
        check_broker(config)
        app = make_app(config)
        # Fewer of Celery's reconnection tries than its 20, a second apart: a quick test.
        app.conf.result_backend_transport_options = {"retry_policy": {"max_retries": 2}}
        stages = CeleryStages(config, app)
    with pytest.raises(DistributedError) as lost, broker_lost(config):
        stages.ingest(None)  # type: ignore[arg-type]  # the stage never opens the store
    assert str(lost.value).startswith(f"lost the broker {server.url}: ")
    assert "Connection refused" in str(lost.value) and "\n" not in str(lost.value)


def test_other_errors_pass_through_broker_lost(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, "redis://127.0.0.1:1/0"))
    with pytest.raises(KeyError), broker_lost(config):
        raise KeyError("not the broker's")
