"""The editor's desk (``digest preview --serve``) over the sample edition, on a free port,
for the tests that drive it over HTTP or in Chromium."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from digest.config import Config, load_config
from digest.models import Edition
from digest.pipeline import load_edition
from digest.pipeline.act import act_on_form
from digest.publish.preview import PreviewServer
from digest.store import EditionStore, open_database
from tests.newsletter_sample import sample_edition

DAY = date(2026, 11, 24)


@contextmanager
def running_desk(folder: Path, editor: str) -> Iterator[tuple[PreviewServer, Config]]:
    """A store in ``folder`` holding the sample edition of ``DAY``, and the desk serving it
    with ``editor`` as the name its actions are recorded under."""
    path = folder / "config.yaml"
    path.write_text("data_dir: data\nsources: []\n", encoding="utf-8")
    config = load_config(path)
    with open_database(config.store_path) as db:
        EditionStore(db).save(sample_edition())

    def load() -> tuple[Edition, Mapping[str, Sequence[str]]]:
        loaded = load_edition(config, DAY)  # the preview server takes the pair
        return loaded.edition, loaded.sentences

    server = PreviewServer(
        config,
        load,
        port=0,
        act=lambda form: act_on_form(config, DAY, form, editor),
    )
    server.start()
    try:
        yield server, config
    finally:
        server.close()
