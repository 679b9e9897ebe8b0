"""DKIM signatures (RFC 6376), rsa-sha256 and ed25519-sha256 (RFC 8463), made fast.

dkimpy's own ``dkim.sign`` parses the PEM key and runs RSA in pure Python for every
message: about 19 ms each, 52 msgs/s. Here the key is parsed once (``cryptography``) and
the private-key operation runs in OpenSSL (about 0.4 ms for RSA-2048, 0.05 ms for
Ed25519), while everything DKIM-specific that is easy to get subtly wrong stays dkimpy's:
parsing the header (``rfc822_parse``), canonicalisation of body and headers
(``CanonicalizationPolicy``), choosing the signed header instances and hashing them with
the signature header minus its ``b=`` value (``hash_headers``), folding (``fold``). What is
ours is the tag list and where ``b=`` goes: on a line of its own, so that adding the
signature value never changes how the tags before it are folded.

An ``ed25519-sha256`` signature can be added beside the RSA one (a second selector): RFC
8463 recommends signing with both while receivers catch up.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from digest.config import DkimOptions
from digest.errors import ConfigError, DeliveryError

__all__ = ["DkimSigner", "KeySigner", "load_signing_key"]

CRLF = b"\r\n"
HEADER = b"DKIM-Signature"
# Headers relaxed (they are re-folded in transit); the body simple: it is quoted-printable
# with CRLF lines of at most 76 characters and no trailing white space (encoded as =20),
# so nothing on the way has a reason to touch it, and simple costs a hash where relaxed
# costs three regular-expression passes over ~50 kB (12 ms a message, the old bottleneck).
CANONICALIZATION = b"relaxed/simple"
B64_LINE = 72  # signature value folded into lines this long
MIN_RSA_BITS = 1024  # RFC 8301: shorter RSA keys must not be used


@dataclass(frozen=True, slots=True)
class KeySigner:
    """A parsed private key: the DKIM algorithm name and a function that signs a digest."""

    algorithm: bytes  # b"rsa-sha256" or b"ed25519-sha256"
    sign_digest: Callable[[bytes], bytes]


def load_signing_key(pem: bytes, where: str) -> KeySigner:
    """An RSA (PKCS#1 or PKCS#8) or Ed25519 (PKCS#8) PEM key, parsed once."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils

    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: not an unencrypted PEM private key ({exc})") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise ConfigError(f"{where}: an RSA key of {key.key_size} bits is too short for DKIM")
        rsa_key = key
        pad, prehashed = padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())
        return KeySigner(b"rsa-sha256", lambda digest: rsa_key.sign(digest, pad, prehashed))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        # RFC 8463: the Ed25519 signature is over the SHA-256 of the signed headers.
        return KeySigner(b"ed25519-sha256", key.sign)
    raise ConfigError(f"{where}: DKIM keys are RSA or Ed25519, not {type(key).__name__}")


class DkimSigner:
    """Signs whole messages with one or two keys (relaxed/simple canonicalisation)."""

    def __init__(
        self,
        domain: str,
        keys: Sequence[tuple[str, KeySigner]],
        headers: Sequence[bytes],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        import dkim
        from dkim.canonicalization import CanonicalizationPolicy

        self._dkim = dkim
        self._policy = CanonicalizationPolicy.from_c_value(CANONICALIZATION)
        self.domain = domain.encode("ascii")
        self.keys = [(selector.encode("ascii"), key) for selector, key in keys]
        self.headers = tuple(h.lower() for h in headers)
        self._clock = clock

    @classmethod
    def from_options(
        cls, options: DkimOptions, headers: Sequence[bytes], base_dir: str | Path
    ) -> DkimSigner | None:
        given = [options.domain, options.selector, options.key_path]
        if not any(given):
            return None
        if not all(given):
            raise ConfigError("delivery.dkim: set domain, selector and key_path together")
        assert options.domain and options.selector and options.key_path
        keys = [(options.selector, _read_key(options.key_path, "key_path", base_dir))]
        if options.ed25519_key_path or options.ed25519_selector:
            if not (options.ed25519_key_path and options.ed25519_selector):
                raise ConfigError(
                    "delivery.dkim: set ed25519_selector and ed25519_key_path together"
                )
            second = _read_key(options.ed25519_key_path, "ed25519_key_path", base_dir)
            if second.algorithm != b"ed25519-sha256":
                raise ConfigError("delivery.dkim.ed25519_key_path: not an Ed25519 key")
            keys.append((options.ed25519_selector, second))
        return cls(options.domain, keys, headers)

    def sign(self, data: bytes) -> bytes:
        """``data`` with a ``DKIM-Signature`` header per key in front (CRLF line endings)."""
        try:
            # Only the header goes through the parser: the body is already CRLF text.
            end = data.find(b"\r\n\r\n")
            if end < 0:
                raise DeliveryError("DKIM signing failed: the message has no body")
            head, _ = self._dkim.rfc822_parse(data[: end + 4])
            body = data[end + 4 :]
            body_hash = base64.b64encode(
                hashlib.sha256(self._policy.canonicalize_body(body)).digest()
            )
            canonical = self._policy.canonicalize_headers(head)
            present = {name.lower() for name, _ in head}
            signed = [h for h in self.headers if h in present]
            if b"from" not in signed:
                raise DeliveryError("DKIM signing failed: the message has no From header")
            stamp = str(int(self._clock())).encode("ascii")
            out = [self._signature(canonical, signed, body_hash, stamp, s, k) for s, k in self.keys]
        except self._dkim.DKIMException as exc:
            raise DeliveryError(f"DKIM signing failed: {exc}") from exc
        return b"".join(out) + data

    def _signature(
        self,
        canonical: list[tuple[bytes, bytes]],
        signed: list[bytes],
        body_hash: bytes,
        stamp: bytes,
        selector: bytes,
        key: KeySigner,
    ) -> bytes:
        tags = [
            (b"v", b"1"),
            (b"a", key.algorithm),
            (b"c", CANONICALIZATION),
            (b"d", self.domain),
            (b"s", selector),
            (b"t", stamp),
            (b"h", b" : ".join(signed)),
            (b"bh", body_hash),
        ]
        folded: bytes = self._dkim.fold(
            b"; ".join(b"=".join(t) for t in tags) + b";", namelen=len(HEADER) + 2
        )
        # b= on a line of its own: the signed form (b= empty) and the sent form fold alike.
        unsigned = b" " + folded + CRLF + b" b="
        hasher = hashlib.sha256()
        self._dkim.hash_headers(
            hasher, self._policy, canonical, signed, (HEADER, unsigned), dict(tags)
        )
        value = base64.b64encode(key.sign_digest(hasher.digest()))
        lines = [value[i : i + B64_LINE] for i in range(0, len(value), B64_LINE)]
        return HEADER + b":" + unsigned + (CRLF + b"  ").join(lines) + CRLF


def _read_key(path: str, key: str, base_dir: str | Path) -> KeySigner:
    where = Path(base_dir, path).expanduser()
    try:
        pem = where.read_bytes()
    except OSError as exc:
        raise ConfigError(f"delivery.dkim.{key}: cannot read {where} ({exc.strerror})") from exc
    return load_signing_key(pem, f"delivery.dkim.{key} ({where})")
