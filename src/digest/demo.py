"""``python -m digest.demo`` (what ``make demo`` runs): the daily job on ``examples/``.

Uses the shipped ``config.yaml`` (the embedded defaults) with its data folder moved to
``.digest-demo/``, so that the demo never touches a real store.
"""

from __future__ import annotations

import sys
from pathlib import Path

from digest import pipeline
from digest.config import Config, load_config, with_overrides
from digest.store import ArticleStore

__all__ = ["demo_config", "main"]

ROOT = Path(__file__).resolve().parents[2]


def demo_config() -> Config:
    """The shipped config with its data folder at ``.digest-demo/``."""
    return with_overrides(load_config(ROOT / "config.yaml"), data_dir=".digest-demo")


def main() -> int:
    config = demo_config()
    with pipeline.open_store(config) as db:
        report = pipeline.ingest(config, db)
        for source in report.sources:
            status = (
                f"failed: {source.reason}"
                if source.failed
                else (f"{source.read} read, {source.new} new, {source.unchanged} unchanged")
            )
            print(f"ingest {source.name}: {status}")
        stored = ArticleStore(db).all()
    print(f"\n{len(stored)} articles stored:")
    for article in stored:
        when = article.published.strftime("%Y-%m-%d %H:%M") if article.published else "undated"
        print(f"  {when}  {article.category or '-':<10}  {article.title}  [{article.source}]")
    print(f"\nstore: {config.store_path}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
