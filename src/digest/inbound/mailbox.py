"""The mailboxes ``digest bounces`` reads: a Maildir, or an IMAP folder over TLS.

Both hand out an ``InboundMail`` for every message (its bytes, or none when it is larger
than the source's ``max_bytes``: such a message is never read into memory) and can move
one aside into a folder: the handled folder (``delivery.bounces.handled_folder``) or
``digest-unreadable``; what is not moved stays where it was. A Maildir message moves by
renaming its file (never parsed); the IMAP source fetches with ``BODY.PEEK[]``, so reading
marks nothing as seen, after asking for the size (``RFC822.SIZE``), and moves with
``UID MOVE`` (RFC 6851) where the server has it, else copy, flag ``\\Deleted`` and expunge.
"""

from __future__ import annotations

import imaplib
import logging
import mailbox
import os
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from digest.config import ImapOptions
from digest.errors import DeliveryError

__all__ = ["UNREADABLE_FOLDER", "ImapSource", "InboundMail", "MailSource", "MaildirSource"]

log = logging.getLogger(__name__)

UNREADABLE_FOLDER = "digest-unreadable"  # messages past a bound, or that cannot be parsed
_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_SIZE = re.compile(rb"RFC822\.SIZE\s+(\d{1,15})", re.IGNORECASE)
_DEFAULT_MAX_BYTES = 10_000_000


@dataclass(frozen=True)
class InboundMail:
    """One message of a mailbox: ``data`` is None when it is larger than ``max_bytes``
    (``size`` is then at least that), and it was not read."""

    key: str
    data: bytes | None
    size: int


def _folder_name(name: str) -> str:
    if not _FOLDER.fullmatch(name):
        raise DeliveryError(
            f"delivery.bounces.handled_folder: {name!r} must be letters, digits, '.', '_', '-'"
        )
    return name


class MailSource(Protocol):
    """Messages in, handled ones moved aside."""

    name: str

    def messages(self) -> Iterator[InboundMail]: ...

    def move_aside(self, key: str, folder: str | None = None) -> None: ...

    def close(self) -> None: ...


class MaildirSource:
    """A Maildir (``new/`` and ``cur/``); handled messages go to its ``.<handled>`` folder
    (a Maildir++ subfolder, which Dovecot shows as a folder of that name)."""

    def __init__(
        self, path: str | Path, handled_folder: str, *, max_bytes: int = _DEFAULT_MAX_BYTES
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.name = str(self.path)
        if not all((self.path / sub).is_dir() for sub in ("new", "cur", "tmp")):
            raise DeliveryError(f"{self.path}: not a Maildir (no new/, cur/ and tmp/ folders)")
        self._folder = _folder_name(handled_folder)
        try:
            self._box = mailbox.Maildir(str(self.path), factory=None, create=False)
        except OSError as exc:
            raise DeliveryError(f"{self.path}: cannot open the Maildir ({exc})") from exc
        self._folders: set[str] = set()  # the subfolders known to exist
        self._files: dict[str, Path] = {}  # message key -> its file, listed once

    def messages(self) -> Iterator[InboundMail]:
        try:
            keys = sorted(self._box.keys())
        except OSError as exc:
            raise DeliveryError(f"{self.path}: cannot list the Maildir ({exc})") from exc
        for key in keys:
            try:
                with self._box.get_file(key) as handle:
                    handle.seek(0, os.SEEK_END)
                    size = handle.tell()
                    handle.seek(0)
                    data = handle.read() if size <= self.max_bytes else None
            except (KeyError, OSError) as exc:  # gone meanwhile (another reader), unreadable
                log.warning("%s: skipped message %s: %s", self.path, key, exc)
                continue
            yield InboundMail(key, data, size)

    def _file_of(self, key: str) -> Path:
        """The file of message ``key``: ``new/<key>`` or ``cur/<key>:2,<flags>`` (the
        folders listed once, again for a message that arrived since)."""
        if key not in self._files:
            for sub in ("new", "cur"):
                for name in os.listdir(self.path / sub):
                    self._files[name.partition(self._box.colon)[0]] = self.path / sub / name
        if key not in self._files:
            raise KeyError(key)
        return self._files.pop(key)

    def move_aside(self, key: str, folder: str | None = None) -> None:
        """Move message ``key`` into ``folder`` (the handled folder by default) by renaming
        its file: the message is not parsed, whatever it holds."""
        name = _folder_name(folder) if folder is not None else self._folder
        try:
            if name not in self._folders:
                if name not in self._box.list_folders():
                    self._box.add_folder(name)
                self._folders.add(name)
            source = self._file_of(key)
            os.rename(source, self.path / f".{name}" / source.parent.name / source.name)
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
        max_bytes: int = _DEFAULT_MAX_BYTES,
    ) -> None:
        if not options.host or not options.username:
            raise DeliveryError("delivery.bounces.imap: set host and username")
        self.name = f"imaps://{options.host}:{options.port}/{options.folder}"
        self._folder = _folder_name(handled_folder)
        self.max_bytes = max_bytes
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
        self._created: set[str] = set()
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

    def _size(self, uid: str) -> int | None:
        """The size the server gives for message ``uid`` (``RFC822.SIZE``), if any."""
        status, parts = self._imap.uid("FETCH", uid, "(RFC822.SIZE)")
        for part in parts if status == "OK" else []:
            line = part[0] if isinstance(part, tuple) else part
            found = _SIZE.search(line) if isinstance(line, bytes) else None
            if found:
                return int(found.group(1))
        return None

    def messages(self) -> Iterator[InboundMail]:
        try:
            status, data = self._imap.uid("SEARCH", "ALL")
        except (OSError, imaplib.IMAP4.error) as exc:
            raise DeliveryError(f"{self.name}: search failed ({exc})") from exc
        uids = data[0].split() if status == "OK" and data and data[0] else []
        for raw_uid in uids:
            uid = raw_uid.decode("ascii", "replace")
            try:
                size = self._size(uid)
                if size is not None and size > self.max_bytes:
                    yield InboundMail(uid, None, size)
                    continue
                status, parts = self._imap.uid("FETCH", uid, "(BODY.PEEK[])")
            except (OSError, imaplib.IMAP4.error) as exc:
                raise DeliveryError(f"{self.name}: fetch failed ({exc})") from exc
            body = next((p[1] for p in parts if isinstance(p, tuple) and len(p) > 1), None)
            if status == "OK" and isinstance(body, bytes):
                # A server that gave no size: the bound still holds, after the fact.
                too_large = len(body) > self.max_bytes
                yield InboundMail(uid, None if too_large else body, len(body))

    def move_aside(self, key: str, folder: str | None = None) -> None:
        name = _folder_name(folder) if folder is not None else self._folder
        try:
            if name not in self._created:
                self._imap.create(name)  # "already exists" is a NO, and fine
                self._created.add(name)
            if "MOVE" in self._capabilities:
                status, _ = self._imap.uid("MOVE", key, name)
            else:
                status, _ = self._imap.uid("COPY", key, name)
                if status == "OK":
                    self._imap.uid("STORE", key, "+FLAGS.SILENT", r"(\Deleted)")
                    self._expunge = True
        except (OSError, imaplib.IMAP4.error) as exc:
            raise DeliveryError(f"{self.name}: cannot move message {key} aside ({exc})") from exc
        if status != "OK":
            raise DeliveryError(f"{self.name}: cannot move message {key} to {name}")

    def close(self) -> None:
        try:
            if self._expunge:
                self._imap.expunge()
            self._imap.logout()
        except (OSError, imaplib.IMAP4.error) as exc:
            log.warning("%s: logout failed: %s", self.name, exc)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
