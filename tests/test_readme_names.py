"""The README names every config key the code reads and every environment variable, so a
newcomer meets each one on the page they read (issue 23, item 16); the other docs agree
with the code on the figures they quote."""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Iterator
from pathlib import Path

from digest.config import Config, SourceOptions
from tests.test_docs import undocumented_keys

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")
SRC = ROOT / "src" / "digest"


def keys(cls: type, prefix: str = "") -> Iterator[str]:
    """Every key of the config, as a dotted path, from the dataclasses the YAML becomes."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name == "base_dir":  # set from the file's place, never written
            continue
        path = f"{prefix}{field.name}"
        yield path
        inner = [hints[field.name], *typing.get_args(hints[field.name])]
        for kind in inner:
            if isinstance(kind, type) and dataclasses.is_dataclass(kind):
                yield from keys(kind, f"{path}.")
                break


def environment_variables() -> set[str]:
    """The variables the code reads: the defaults of the ``*_env`` keys, and the names
    read directly (``os.environ.get``, ``os.getenv``, click's ``envvar=``)."""
    found: set[str] = set()

    def walk(value: object) -> None:
        for field in dataclasses.fields(value):  # type: ignore[arg-type]
            item = getattr(value, field.name)
            if field.name.endswith("_env") and isinstance(item, str):
                found.add(item)
            elif dataclasses.is_dataclass(item):
                walk(item)

    walk(Config(sources=(SourceOptions(name="x", location="x"),)))
    read = re.compile(
        r"""(?:environ\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']|envvar=["']([A-Z][A-Z0-9_]+)["']"""
    )
    for path in SRC.rglob("*.py"):
        for match in read.finditer(path.read_text("utf-8")):
            found.add(match.group(1) or match.group(2))
    return found


def test_the_walks_find_what_they_look_for() -> None:
    every = set(keys(Config))
    assert {"distributed.broker_password_env", "delivery.bounces.limits.depth"} <= every
    assert "sources.allow_private" in every and "server.signup.confirm_hours" in every
    names = environment_variables()
    assert {"DIGEST_SECRET", "DIGEST_BROKER_PASSWORD", "DIGEST_CONFIG", "USER"} <= names


def test_every_config_key_is_named_in_the_readme() -> None:
    assert undocumented_keys(list(keys(Config)), README) == []


def test_every_environment_variable_is_named_in_the_readme() -> None:
    missing = [n for n in sorted(environment_variables()) if f"`{n}`" not in README]
    assert missing == []


def test_the_readme_counts_the_secrets_it_lists() -> None:
    table = README[README.index("environment variables hold them") :]
    table = table[: table.index("\n\n", table.index("| variable"))]
    rows = [line for line in table.splitlines() if line.startswith("| `DIGEST_")]
    secrets = {
        Config().store_password_env,
        Config().server.secret_env,
        Config().delivery.smtp.password_env,
        Config().delivery.bounces.imap.password_env,
        Config().distributed.broker_password_env,
    }
    assert {row.split("`")[1] for row in rows} == secrets
    words = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
    assert f"{words[len(rows)]} environment variables hold them" in README


def test_health_check_is_named() -> None:
    app = (SRC / "web" / "app.py").read_text("utf-8")
    assert 'Route("/healthz"' in app and "`/healthz`" in README


def test_the_fetch_timeout_quoted_is_the_default() -> None:
    seconds = SourceOptions(name="x", location="x").fetch_timeout
    text = (ROOT / "docs" / "how-it-works.md").read_text("utf-8")
    quoted = re.findall(r"httpx, (?:a )?(\d+) s\b", text)
    assert quoted and all(float(q) == seconds for q in quoted)


def test_the_clustering_figures_name_the_shipped_threshold() -> None:
    shipped = Config().edition.cluster_threshold
    text = (ROOT / "docs" / "benchmarks.md").read_text("utf-8")
    rows = re.findall(r"^\| (?:digest clustering|encoder cosine alone) \(([^)]*)\)", text, re.M)
    assert rows
    for row in rows:
        [value] = re.findall(r"\d\.\d+", row)
        assert float(value) == shipped, row
