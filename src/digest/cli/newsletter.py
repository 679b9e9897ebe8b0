"""``digest preview`` and ``digest archive``: the draft for editors, the static archive."""

from __future__ import annotations

import webbrowser
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from digest.cli.base import count, date_option, edition_day, main, pass_config
from digest.cli.desk import editor_option, login_name
from digest.config import Config
from digest.pipeline import LoadedEdition, load_edition
from digest.pipeline.archive import archive_stored
from digest.pipeline.options import page_settings
from digest.pipeline.personal import load_personal_edition
from digest.publish.preview import write_preview

__all__ = ["archive_command", "preview_command"]

PREVIEW_PORT = 8030


@main.command("preview")
@date_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the HTML (default: <data_dir>/previews/<date>.html); text beside it.",
)
@click.option("--text", "as_text", is_flag=True, help="Print the plain-text version.")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a browser.")
@click.option(
    "--as", "as_email", default=None, metavar="EMAIL", help="The edition as EMAIL gets it."
)
@click.option(
    "--serve",
    "serve_port",
    type=click.IntRange(0, 65535),
    is_flag=False,
    flag_value=PREVIEW_PORT,
    default=None,
    metavar="[PORT]",
    help=f"Serve the preview on 127.0.0.1 (port {PREVIEW_PORT}) and reload on changes.",
)
@editor_option
@pass_config
def preview_command(
    config: Config,
    day: Any,
    out: Path | None,
    as_text: bool,
    open_browser: bool,
    serve_port: int | None,
    editor: str | None,
    as_email: str | None,
) -> None:
    """Render the edition as subscribers will get it, with an editor-only panel.

    The panel (ranking, the sources of each key point, what was left out) is only in the
    preview, never in the mail.
    """
    when = edition_day(config, day)

    def loaded() -> LoadedEdition:
        if as_email is not None:
            return load_personal_edition(config, when, as_email)
        return load_edition(config, when)

    if serve_port is not None:
        _serve_desk(config, when, loaded, serve_port, editor or login_name(), open_browser)
        return
    found = loaded()
    edition = found.edition
    out = out if out is not None else config.data_path / "previews" / f"{edition.id}.html"
    written = write_preview(
        page_settings(config),
        edition,
        out,
        sentences=found.sentences,
        source_alarms=found.source_alarms,
        teaser_notes=found.teaser_notes,
    )
    if as_text:
        click.echo(written.text.read_text(encoding="utf-8"), nl=False)
    click.echo(f"preview of {edition.id}: {written.html}", err=as_text)
    click.echo(f"text version: {written.text}", err=as_text)
    click.echo(f"subject: {written.rendered.subject}", err=as_text)
    if open_browser:
        _open(written.html.resolve().as_uri())


def _serve_desk(
    config: Config,
    when: date,
    load: Callable[[], LoadedEdition],
    port: int,
    who: str,
    open_browser: bool,
) -> None:
    """``--serve``: the editor's desk on 127.0.0.1 until Ctrl+C."""
    # Deferred: the desk pulls in starlette and uvicorn, which no other preview needs.
    from digest.web.desk import Desk, act_on_form, create_desk_app
    from digest.web.serving import listen, run  # as above: uvicorn

    listener = listen("127.0.0.1", port)
    desk = Desk(config, load, act=lambda form: act_on_form(config, when, form, who))

    def ready(url: str) -> None:
        click.echo(
            f"previewing {when} at {url} (the editor's desk, acting as {who};"
            " reloads on changes; Ctrl+C stops)"
        )
        if open_browser:
            _open(url)

    # uvicorn's start and stop lines would bury the one line above: warnings only.
    run(create_desk_app(desk), listener, on_ready=ready, log_level="warning")


def _open(url: str) -> None:
    """Open ``url`` in the desktop's browser, or say that there is none (a server)."""
    if not webbrowser.open(url):
        click.echo(f"warning: no browser to open here; open {url} yourself", err=True)


@main.command("archive")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write (default: <data_dir>/archive, what `digest serve` serves).",
)
@pass_config
def archive_command(config: Config, out: Path | None) -> None:
    """Write the static archive: an index and one page per stored edition."""
    written = archive_stored(config, out)
    click.echo(
        f"{count(len(written.pages), 'edition')} in {written.folder} (index: {written.index})"
    )
