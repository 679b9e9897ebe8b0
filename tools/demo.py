"""``python tools/demo.py`` (what ``make demo`` runs): the daily job on ``examples/``.

Uses the shipped ``config.yaml`` (the embedded defaults: SQLite store, bundled encoder,
extractive summaries) with its data folder moved to ``.digest-demo/``, so that the demo
never touches a real store, and delivery pointed at a local SMTP sink (aiosmtpd on
127.0.0.1) that this process starts in the background and that writes what it receives
as ``.eml`` files. Nothing leaves the machine.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import yaml

from digest import pipeline
from digest.config import Config, load_config, with_overrides
from digest.errors import DigestError
from digest.pipeline import load_edition
from digest.pipeline.archive import archive_stored
from digest.pipeline.options import page_settings
from digest.publish.preview import write_preview
from digest.store.subscribers import SubscriberStore
from digest.subscribers import add_subscriber
from smtp_sink import SmtpSink  # tools/smtp_sink.py, beside this script

__all__ = ["DEMO_DAY", "DEMO_SECRET", "demo_config", "main", "try_it", "write_demo_config"]

ROOT = Path(__file__).resolve().parents[1]
# The examples are dated 22-24 November 2026; the demo edition is the last of those days.
DEMO_DAY = date(2026, 11, 24)
# Unsubscribe links are HMAC-signed with $DIGEST_SECRET: `digest serve` must run with the
# same secret for the demo mail's links to answer (README.md says so). A real deployment
# sets its own.
DEMO_SECRET = "demo-secret-not-for-production"
DEMO_SUBSCRIBERS = (
    ("ana@example.org", "Ana"),
    ("bo@example.org", "Bo"),
    ("chidi@example.org", "Chidi"),
)


def demo_config(smtp_port: int | None = None) -> Config:
    """The shipped config with its data folder at ``.digest-demo/`` and, given a port,
    delivery over plain SMTP to a sink on 127.0.0.1."""
    overrides: dict[str, object] = {"data_dir": ".digest-demo"}
    if smtp_port is not None:
        overrides |= {
            "delivery.transport": "smtp",
            "delivery.smtp.host": "127.0.0.1",
            "delivery.smtp.port": smtp_port,
            "delivery.smtp.security": "none",
        }
    return with_overrides(load_config(ROOT / "config.yaml"), **overrides)


def write_demo_config(config: Config) -> Path:
    """``.digest-demo/config.yaml``: the shipped config with its data folder the demo's and
    its sources' paths made absolute, so that ``digest --config .digest-demo/config.yaml``
    works on the demo's store afterwards (delivery back to the default outbox folder)."""
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8")) or {}
    raw["data_dir"] = "."
    for source in raw.get("sources") or []:
        source["location"] = load_config(ROOT / "config.yaml").resolve(str(source["location"]))
    path = config.data_path / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    head = (
        "# Written by `make demo`: the shipped config.yaml on the demo's store (.digest-demo/).\n"
        "# delivery.transport is outbox: the demo's SMTP sink stopped when the demo ended, so\n"
        "# `digest send-test` and `digest run` write .eml files to .digest-demo/outbox/. To\n"
        "# send over SMTP, start a sink (python tools/smtp_sink.py --dir .digest-demo/sink,\n"
        "# on 127.0.0.1:2525 as delivery.smtp says) and set delivery.transport: smtp.\n"
        f"# Links in the demo's mail are signed with DIGEST_SECRET={DEMO_SECRET}:\n"
        "# `digest serve` answers them when it runs with that secret.\n"
    )
    path.write_text(head + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def _progress(stage: str, done: int, total: int, detail: str) -> None:
    if done == total:
        print(f"  {stage:<10} {detail or 'done'}", flush=True)


def main() -> int:
    os.environ.setdefault("DIGEST_SECRET", DEMO_SECRET)
    sink_dir = ROOT / ".digest-demo" / "sink"
    sink = SmtpSink(folder=sink_dir, keep=False).start()
    try:
        config = demo_config(sink.port)
        print(f"SMTP sink listening on 127.0.0.1:{sink.port}, writing to {sink_dir}")
        with pipeline.open_store(config) as db:
            subscribers = SubscriberStore(db)
            for email, name in DEMO_SUBSCRIBERS:
                add_subscriber(subscribers, email, name=name)
        print(f"\ndigest run --date {DEMO_DAY} (store: {config.store_path})")
        report = pipeline.run_daily(config, DEMO_DAY, progress=_progress)
        print(report.summary())
        loaded = load_edition(config, DEMO_DAY)
        edition = loaded.edition
        out = config.data_path / "previews" / f"{edition.id}.html"
        preview = write_preview(page_settings(config), edition, out, sentences=loaded.sentences)
        archive = archive_stored(config)
        own_config = write_demo_config(config)
    except DigestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        sink.stop()
    print("\nThe edition:")
    for story in edition.stories:
        n = len(story.also_reported)
        also = f"  (+{n} more outlet{'s' if n != 1 else ''})" if n else ""
        print(f"  [{story.section}] {story.title}{also}")
    print(f"\npreview (HTML):  {preview.html}")
    print(f"preview (text):  {preview.text}")
    print(f"archive:         {archive.index}")
    kept = len(list(sink_dir.glob("*.eml")))  # this run's and earlier runs'
    print(f"received mail:   {sink_dir}  ({sink.count} now, {kept} in the folder)")
    relative = own_config.relative_to(ROOT) if own_config.is_relative_to(ROOT) else own_config
    print(try_it(relative, os.environ["DIGEST_SECRET"]))
    return 0 if report.failed == 0 else 1


def try_it(config: Path, secret: str) -> str:
    """What the demo prints last: the commands that use its store, sign as it signed, and
    serve its mail's links."""
    return (
        "\nTry digest on the demo's store (in this folder; the first line puts .venv's"
        " digest on your PATH):\n  . .venv/bin/activate\n"
        f"  export DIGEST_CONFIG={config}\n"
        f"  export DIGEST_SECRET={secret}   # the demo mail's links are signed with it\n"
        f"  digest edition --date {DEMO_DAY}\n"
        f"  digest preview --serve --date {DEMO_DAY}   # the editor's desk on 127.0.0.1:8030\n"
        "  digest serve   # the mail's unsubscribe and archive links, on 127.0.0.1:8025\n"
        "  digest send-test --to you@example.org   # an .eml in .digest-demo/outbox/"
    )


if __name__ == "__main__":
    sys.exit(main())
