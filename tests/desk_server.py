"""The editor's desk (``digest preview --serve``) over the sample edition, on a free port,
for the tests that drive it over HTTP or in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from digest.config import Config, load_config
from digest.pipeline import load_edition
from digest.store import EditionStore, open_database
from digest.web.desk import Desk, act_on_form, create_desk_app
from tests.app_server import serving
from tests.newsletter_sample import sample_edition
from tools.smtp_sink import free_port

DAY = date(2026, 11, 24)


@dataclass(frozen=True)
class DeskServer:
    """A desk being served: its base URL (``http://127.0.0.1:<port>/``), its port, the
    CSRF token of its forms and its config."""

    url: str
    port: int
    csrf: str
    config: Config


@contextmanager
def serving_desk(desk: Desk) -> Iterator[DeskServer]:
    """``desk``'s app on real uvicorn, 127.0.0.1 and a free port."""
    port = free_port()
    with serving(create_desk_app(desk), port=port):
        yield DeskServer(f"http://127.0.0.1:{port}/", port, desk.csrf, desk.config)


@contextmanager
def running_desk(folder: Path, editor: str) -> Iterator[tuple[DeskServer, Config]]:
    """A store in ``folder`` holding the sample edition of ``DAY``, and the desk serving it
    with ``editor`` as the name its actions are recorded under."""
    path = folder / "config.yaml"
    path.write_text("data_dir: data\nsources: []\n", encoding="utf-8")
    config = load_config(path)
    with open_database(config.store_path) as db:
        EditionStore(db).save(sample_edition())
    desk = Desk(
        config,
        lambda: load_edition(config, DAY),
        act=lambda form: act_on_form(config, DAY, form, editor),
    )
    with serving_desk(desk) as server:
        yield server, config
