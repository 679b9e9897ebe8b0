"""A private Dovecot IMAPS server on 127.0.0.1 for the bounce tests: its own config,
certificate (self-signed, for 127.0.0.1), one user and a Maildir, started with
``dovecot -c FILE`` and stopped after. Needs dovecot-imapd and root."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.smtp_sink import make_tls_files

DOVECOT = Path("/usr/sbin/dovecot")
USER, PASSWORD = "digest", "imap-test-password"


@dataclass(frozen=True)
class Dovecot:
    port: int
    maildir: Path  # the user's INBOX
    ca_file: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def dovecot_instance() -> Iterator[Dovecot]:
    if not DOVECOT.exists():
        pytest.skip(f"Dovecot is not installed ({DOVECOT}): apt install dovecot-imapd")
    if os.geteuid() != 0:
        pytest.skip("starting a Dovecot instance needs root (it drops to its own users)")
    # Not pytest's tmp_path: its folders are root-only, and Dovecot's processes run as
    # 'nobody' and 'dovenull'. A private temporary folder, removed afterwards.
    root = Path(tempfile.mkdtemp(prefix="digest-dovecot-"))
    root.chmod(0o755)
    port = _free_port()
    conf = root / "dovecot.conf"
    try:
        tls = make_tls_files(root)
        for sub in ("run", "state"):
            (root / sub).mkdir()
        maildir = root / "mail" / USER
        for sub in ("new", "cur", "tmp"):
            (maildir / sub).mkdir(parents=True)
        (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n", encoding="utf-8")
        conf.write_text(
            f"""base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{tls.cert}
ssl_key = <{tls.key}
disable_plaintext_auth = yes
auth_mechanisms = plain
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/mail/%u
}}
mail_location = maildir:{root}/mail/%u
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
  }}
}}
service anvil {{
  chroot =
}}
""",
            encoding="utf-8",
        )
        # No pipes: the daemon keeps its inherited descriptors, and a pipe would never close.
        started = subprocess.run(
            [str(DOVECOT), "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
        log = root / "dovecot.log"
        assert started.returncode == 0, log.read_text() if log.exists() else "no log"
        deadline = time.monotonic() + 30  # a start-up wait, not a timing assertion
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        try:
            yield Dovecot(port, maildir, tls.cert)
        finally:
            subprocess.run(
                [str(DOVECOT), "-c", str(conf), "stop"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=60,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def hand_to_nobody(path: Path) -> None:
    """Messages written by the test (root) become the mail user's."""
    for item in [path, *path.rglob("*")]:
        shutil.chown(item, "nobody", "nogroup")
