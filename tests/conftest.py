"""Shared fixtures. Tests that need ../shared skip, with the reason, only where it is absent."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples"


@pytest.fixture
def shared() -> Path:
    """The project's ../shared folder of real data."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"{SHARED} is absent: the real-data tests need ../shared beside the project")
    return SHARED


@pytest.fixture
def seed_article(shared: Path) -> Path:
    return shared / "seed" / "000_da945747c3871653.txt"


def load_bench(name: str) -> ModuleType:
    """A benchmark script of bench/ as a module, for the quality gates that reuse its code."""
    path = ROOT / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"digest_bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# --- stores: every store test runs on SQLite and on a real PostgreSQL -----------------------


class PostgresForTests:
    """The session's PostgreSQL server and a migrated template: each test gets a fresh copy."""

    TEMPLATE = "digest_template"

    def __init__(self) -> None:
        from digest.store import open_database
        from tools.services import PostgresServer

        self.server = PostgresServer.start()
        self._count = 0
        url = self.server.create_database(self.TEMPLATE)
        with open_database(url):  # migrated once; CREATE DATABASE ... TEMPLATE copies it
            pass

    def fresh_url(self) -> str:
        self._count += 1
        return self.server.create_database(f"test_{self._count}", template=self.TEMPLATE)

    def empty_url(self) -> str:
        """A database with no schema at all (migrations run when it is opened)."""
        self._count += 1
        return self.server.create_database(f"empty_{self._count}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresForTests]:
    """One throwaway PostgreSQL server for the whole session (skips, with the reason, only
    where the server binaries or psycopg are absent)."""
    from tools.services import why_no_postgres

    reason = why_no_postgres()
    if reason:
        pytest.skip(f"PostgreSQL store tests: {reason}")
    pg = PostgresForTests()
    try:
        yield pg
    finally:
        pg.server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store's location: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "digest.sqlite3")
    pg: PostgresForTests = request.getfixturevalue("postgres")
    return pg.fresh_url()
