"""A private Postfix instance on 127.0.0.1 for the bounce tests: its own config folder,
queue and Maildirs, started with ``postfix -c DIR start`` and stopped after.

Local delivery only (``mydestination = digest.test``): a recipient named in ``aliases``
is delivered to its Maildir, any other local recipient is accepted over SMTP and then
bounced by local(8) with a real RFC 3464 DSN to the envelope sender. Needs the postfix
binaries and root (master runs its daemons as the ``postfix`` user).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

POSTFIX = Path("/usr/sbin/postfix")
DAEMONS = Path("/usr/lib/postfix/sbin")
DOMAIN = "digest.test"


def skip_without_postfix() -> None:
    if not POSTFIX.exists() or not (DAEMONS / "master").exists():
        pytest.skip(
            f"Postfix is not installed ({POSTFIX}, {DAEMONS}/master): apt-get install postfix"
        )
    if os.geteuid() != 0:
        pytest.skip("starting a Postfix instance needs root (its master runs daemons as 'postfix')")
    try:
        import pwd

        pwd.getpwnam("postfix")
    except KeyError:
        pytest.skip("no 'postfix' user on this machine (the postfix package creates it)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Postfix:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.conf = root / "conf"
        self.log = root / "data" / "maillog"

    def maildir(self, name: str) -> Path:
        return self.root / "mail" / name

    def wait_for(self, name: str, count: int, timeout: float = 120.0) -> list[Path]:
        """The files of Maildir ``name`` once it holds ``count`` (a wait, not an assertion
        on timing: the caller checks what arrived)."""
        deadline = time.monotonic() + timeout
        while True:
            found = sorted((self.maildir(name) / "new").glob("*"))
            if len(found) >= count or time.monotonic() > deadline:
                return found
            subprocess.run(["postqueue", "-c", str(self.conf), "-f"], capture_output=True)
            time.sleep(0.2)


@contextmanager
def postfix_instance(aliases: Mapping[str, str]) -> Iterator[Postfix]:
    """Postfix on 127.0.0.1:<free port>; ``aliases`` maps a local name to a Maildir name."""
    skip_without_postfix()
    # Not pytest's tmp_path: its folders are root-only (0700), and the postfix user must
    # reach its queue. A private temporary folder, removed afterwards.
    root = Path(tempfile.mkdtemp(prefix="digest-postfix-"))
    root.chmod(0o755)
    port = _free_port()
    try:
        conf, data, queue = root / "conf", root / "data", root / "queue"
        for folder in (conf, data, queue):
            folder.mkdir()
        names = set(aliases.values())
        for name in names:
            for sub in ("new", "cur", "tmp"):
                (root / "mail" / name / sub).mkdir(parents=True)
        master = Path("/etc/postfix/master.cf").read_text(encoding="utf-8")
        # The smtp listener moves to 127.0.0.1:<port>; the rest is Debian's master.cf.
        listener = f"127.0.0.1:{port} inet n - n - - smtpd"
        lines = [
            listener if line.startswith("smtp ") and " inet " in line else line
            for line in master.splitlines()
        ]
        (conf / "master.cf").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (conf / "aliases").write_text(
            "".join(f"{local} {root / 'mail' / name}/\n" for local, name in aliases.items()),
            encoding="utf-8",
        )
        (conf / "main.cf").write_text(
            f"""compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
command_directory = /usr/sbin
daemon_directory = {DAEMONS}
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = {DOMAIN}
mydomain = {DOMAIN}
myorigin = {DOMAIN}
mydestination = {DOMAIN}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
alias_maps = texthash:{conf / "aliases"}
alias_database =
local_recipient_maps =
recipient_delimiter = +
default_privs = nobody
maillog_file = {data / "maillog"}
maillog_file_prefixes = {root}
smtputf8_enable = no
biff = no
""",
            encoding="utf-8",
        )
        shutil.chown(data, "postfix")
        for path in (root / "mail").rglob("*"):
            shutil.chown(path, "nobody")
        started = subprocess.run(
            [str(POSTFIX), "-c", str(conf), "start"], capture_output=True, text=True
        )
        log = (data / "maillog").read_text() if (data / "maillog").exists() else ""
        assert started.returncode == 0, f"postfix did not start: {started.stderr}\n{log[-2000:]}"
        try:
            yield Postfix(root, port)
        finally:
            subprocess.run([str(POSTFIX), "-c", str(conf), "stop"], capture_output=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
