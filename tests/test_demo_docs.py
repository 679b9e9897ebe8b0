"""What a newcomer needs after `make demo`, said where they read it (issue 23, items 13
and 14): the secret the demo signs with, how to serve its links, and where `send-test`
on the demo's config writes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from digest.config import load_config
from digest.signed import make_token, verify_token

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(ROOT / "tools"))  # demo.py imports its sink by path
    monkeypatch.delitem(sys.modules, "demo", raising=False)
    import demo as module  # the script, as `make demo` runs it

    yield module


def test_the_readme_names_the_demo_s_secret_beside_its_store(demo: ModuleType) -> None:
    line = f"export DIGEST_SECRET={demo.DEMO_SECRET}"
    assert line in README
    # Beside the line that points digest at the demo's store, in the same block.
    block = README[README.index("export DIGEST_CONFIG=.digest-demo/config.yaml") :]
    block = block[: block.index("```")]
    assert line in block and "digest serve" in block
    assert "answers 400" in README  # what another secret does


def test_the_demo_prints_the_same_lines(demo: ModuleType) -> None:
    said = demo.try_it(Path(".digest-demo/config.yaml"), demo.DEMO_SECRET)
    for line in said.strip().splitlines():
        assert line in README, line


def test_a_link_signed_as_the_demo_signs_verifies_only_with_its_secret(
    demo: ModuleType,
) -> None:
    # The point of the README's line: the server must hold the secret the mail was signed
    # with, or the link is refused as a forged one.
    secret = demo.DEMO_SECRET.encode("utf-8")
    token = make_token(secret, 7, "chidi@example.org")
    assert verify_token(secret, token, "chidi@example.org")
    assert not verify_token(b"another-secret-entirely", token, "chidi@example.org")


def test_the_demo_config_says_it_writes_to_the_outbox(demo: ModuleType, tmp_path: Path) -> None:
    config = replace(demo.demo_config(), data_dir=str(tmp_path / "demo-data"))
    written = demo.write_demo_config(config)
    text = written.read_text("utf-8")
    assert load_config(written).delivery.transport == "outbox"
    head = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    assert "transport is outbox" in head and "smtp_sink.py" in head
    assert f"DIGEST_SECRET={demo.DEMO_SECRET}" in head
    assert "`digest send-test` and `digest run`" in README and ".digest-demo/outbox/" in README
