"""The mailboxes ``digest bounces`` reads: a Maildir, or an IMAP folder over TLS.

Both hand out ``(key, bytes)`` for every message and can move one aside into the handled
folder (``delivery.bounces.handled_folder``); what is not moved stays where it was. The
IMAP source fetches with ``BODY.PEEK[]``, so reading marks nothing as seen, and moves with
``UID MOVE`` (RFC 6851) where the server has it, else copy, flag ``\\Deleted`` and expunge.
"""

from __future__ import annotations

import imaplib
import logging
import mailbox
import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from digest.config import ImapOptions
from digest.errors import DeliveryError

__all__ = ["ImapSource", "MailSource", "MaildirSource"]

log = logging.getLogger(__name__)

_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _folder_name(name: str) -> str:
    if not _FOLDER.fullmatch(name):
        raise DeliveryError(
            f"delivery.bounces.handled_folder: {name!r} must be letters, digits, '.', '_', '-'"
        )
    return name


class MailSource(Protocol):
    """Messages in, handled ones moved aside."""

    name: str

    def messages(self) -> Iterator[tuple[str, bytes]]: ...

    def move_aside(self, key: str) -> None: ...

    def close(self) -> None: ...


class MaildirSource:
    """A Maildir (``new/`` and ``cur/``); handled messages go to its ``.<handled>`` folder
    (a Maildir++ subfolder, which Dovecot shows as a folder of that name)."""

    def __init__(self, path: str | Path, handled_folder: str) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        if not all((self.path / sub).is_dir() for sub in ("new", "cur", "tmp")):
            raise DeliveryError(f"{self.path}: not a Maildir (no new/, cur/ and tmp/ folders)")
        self._folder = _folder_name(handled_folder)
        try:
            self._box = mailbox.Maildir(str(self.path), factory=None, create=False)
        except OSError as exc:
            raise DeliveryError(f"{self.path}: cannot open the Maildir ({exc})") from exc
        self._handled: mailbox.Maildir | None = None

    def messages(self) -> Iterator[tuple[str, bytes]]:
        try:
            keys = sorted(self._box.keys())
        except OSError as exc:
            raise DeliveryError(f"{self.path}: cannot list the Maildir ({exc})") from exc
        for key in keys:
            try:
                yield key, self._box.get_bytes(key)
            except (KeyError, OSError) as exc:  # gone meanwhile (another reader), unreadable
                log.warning("%s: skipped message %s: %s", self.path, key, exc)

    def move_aside(self, key: str) -> None:
        try:
            if self._handled is None:
                if self._folder in self._box.list_folders():
                    self._handled = self._box.get_folder(self._folder)
                else:
                    self._handled = self._box.add_folder(self._folder)
            message = self._box.get_message(key)
            self._handled.add(message)
            self._box.discard(key)
        except (KeyError, OSError, mailbox.Error) as exc:
            raise DeliveryError(f"{self.path}: cannot move message {key} aside ({exc})") from exc

    def close(self) -> None:
        self._box.close()


class ImapSource:
    """One IMAP folder over TLS (IMAPS); the password comes from the caller (an
    environment variable named by ``delivery.bounces.imap.password_env``)."""

    def __init__(
        self,
        options: ImapOptions,
        password: str,
        handled_folder: str,
        *,
        ca_file: str | None = None,
    ) -> None:
        if not options.host or not options.username:
            raise DeliveryError("delivery.bounces.imap: set host and username")
        self.name = f"imaps://{options.host}:{options.port}/{options.folder}"
        self._folder = _folder_name(handled_folder)
        context = ssl.create_default_context(cafile=ca_file)
        try:
            self._imap = imaplib.IMAP4_SSL(
                options.host, options.port, ssl_context=context, timeout=options.timeout
            )
        except (OSError, imaplib.IMAP4.error) as exc:
            raise DeliveryError(f"{self.name}: cannot connect ({exc})") from exc
        try:
            self._imap.login(options.username, password)
            status, _ = self._imap.select(_quoted(options.folder))
            if status != "OK":
                raise DeliveryError(f"{self.name}: no such folder")
        except (OSError, imaplib.IMAP4.error) as exc:
            self._imap.shutdown()
            raise DeliveryError(f"{self.name}: login or select failed ({exc})") from exc
        self._created = False
        self._expunge = False
        # What the server offers once logged in (MOVE, RFC 6851, is often only then).
        self._capabilities = self._read_capabilities()

    def _read_capabilities(self) -> frozenset[str]:
        try:
            status, data = self._imap.capability()
        except (OSError, imaplib.IMAP4.error):
            return frozenset(self._imap.capabilities)
        if status != "OK" or not data or not isinstance(data[0], bytes):
            return frozenset(self._imap.capabilities)
        return frozenset(data[0].decode("ascii", "replace").upper().split())

    def messages(self) -> Iterator[tuple[str, bytes]]:
        try:
            status, data = self._imap.uid("SEARCH", "ALL")
        except (OSError, imaplib.IMAP4.error) as exc:
            raise DeliveryError(f"{self.name}: search failed ({exc})") from exc
        uids = data[0].split() if status == "OK" and data and data[0] else []
        for uid in uids:
            try:
                status, parts = self._imap.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
            except (OSError, imaplib.IMAP4.error) as exc:
                raise DeliveryError(f"{self.name}: fetch failed ({exc})") from exc
            body = next((p[1] for p in parts if isinstance(p, tuple) and len(p) > 1), None)
            if status == "OK" and isinstance(body, bytes):
                yield uid.decode(), body

    def move_aside(self, key: str) -> None:
        try:
            if not self._created:
                self._imap.create(self._folder)  # "already exists" is a NO, and fine
                self._created = True
            if "MOVE" in self._capabilities:
                status, _ = self._imap.uid("MOVE", key, self._folder)
            else:
                status, _ = self._imap.uid("COPY", key, self._folder)
                if status == "OK":
                    self._imap.uid("STORE", key, "+FLAGS.SILENT", r"(\Deleted)")
                    self._expunge = True
        except (OSError, imaplib.IMAP4.error) as exc:
            raise DeliveryError(f"{self.name}: cannot move message {key} aside ({exc})") from exc
        if status != "OK":
            raise DeliveryError(f"{self.name}: cannot move message {key} to {self._folder}")

    def close(self) -> None:
        try:
            if self._expunge:
                self._imap.expunge()
            self._imap.logout()
        except (OSError, imaplib.IMAP4.error) as exc:
            log.warning("%s: logout failed: %s", self.name, exc)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
