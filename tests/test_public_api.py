from __future__ import annotations

import digest
from digest import errors

# The public face, spelled out: changing it is a decision, not an accident.
EXPECTED = {
    # pipeline entry points
    "build_edition",
    "ingest",
    "load_config",
    "open_store",
    "rank_candidates",
    "run_daily",
    "send_test",
    # values passed between stages
    "Article",
    "Config",
    "Edition",
    "KeyPoint",
    "OutgoingMessage",
    "RenderedEdition",
    "Story",
    "Subscriber",
    "Summary",
    # errors
    "ConfigError",
    "DeliveryError",
    "DigestError",
    "EditionError",
    "ErrorBudgetExceeded",
    "LockError",
    "MessageRefused",
    "ModelError",
    "RelayRefusesEveryone",
    "RenderError",
    "SourceError",
    "StoreError",
    "SubscriberError",
    "SummaryError",
}


def test_public_names_are_exactly_the_expected_ones() -> None:
    assert set(digest.__all__) == EXPECTED
    assert sorted(digest.__all__) == digest.__all__
    for name in digest.__all__:
        assert hasattr(digest, name), name


def test_every_error_derives_from_digest_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.DigestError), name


def test_importing_digest_does_not_load_torch() -> None:
    import subprocess
    import sys

    code = "import sys, digest; print('torch' in sys.modules or 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
