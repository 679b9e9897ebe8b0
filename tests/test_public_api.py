from __future__ import annotations

import digest
from digest import errors


def test_public_names_are_exported_and_exist() -> None:
    assert sorted(digest.__all__) == digest.__all__
    for name in digest.__all__:
        assert hasattr(digest, name), name


def test_every_error_derives_from_digest_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.DigestError), name
