"""The editor's preview: the draft as subscribers will see it, plus an editor-only panel.

``preview_page`` renders an edition exactly as the mail is rendered (one premailer run),
fills the slots with neutral values, and inserts into a *copy* of the finished HTML the
editor panel (ranking, the source sentences behind each key point, what was left out and
why). It never reaches a subscriber: it is added after ``render`` is done, to the preview
only. ``write_preview`` writes it to a file; ``digest.web.desk`` serves it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from digest.errors import RenderError
from digest.models import Edition, RenderedEdition
from digest.publish.public import PageSettings, for_no_one, public_html

__all__ = ["PreviewPage", "PreviewWritten", "preview_page", "preview_text", "write_preview"]


def _insert_after_body(document: str, fragment: str) -> str:
    lower = document.lower()
    start = lower.find("<body")
    end = lower.find(">", start)
    if start < 0 or end < 0:
        raise RenderError("the rendered HTML has no <body> to put the editor panel in")
    return document[: end + 1] + fragment + document[end + 1 :]


@dataclass(frozen=True, slots=True)
class PreviewPage:
    html: str  # the mail and the editor panel
    rendered: RenderedEdition


def preview_page(
    settings: PageSettings,
    edition: Edition,
    *,
    sentences: Mapping[str, Sequence[str]] | None = None,
    source_alarms: Sequence[str] = (),
    teaser_notes: Mapping[str, str] | None = None,
) -> PreviewPage:
    """The preview HTML (the mail and the editor panel) and the rendered edition;
    ``source_alarms``: the sources to look at, a line each, shown in the panel."""
    renderer = settings.renderer()
    rendered = renderer.render(edition)
    panel = renderer.editor_panel(
        edition,
        sentences,
        trimmed=rendered.trimmed,
        source_alarms=source_alarms,
        teaser_notes=teaser_notes,
    )
    page = _insert_after_body(public_html(settings.newsletter, rendered), panel)
    return PreviewPage(page, rendered)


@dataclass(frozen=True, slots=True)
class PreviewWritten:
    html: Path
    text: Path
    rendered: RenderedEdition


def write_preview(
    settings: PageSettings,
    edition: Edition,
    html_path: Path,
    *,
    sentences: Mapping[str, Sequence[str]] | None = None,
    source_alarms: Sequence[str] = (),
    teaser_notes: Mapping[str, str] | None = None,
) -> PreviewWritten:
    """Write the preview HTML to ``html_path`` and the text version beside it (``.txt``)."""
    preview = preview_page(
        settings,
        edition,
        sentences=sentences,
        source_alarms=source_alarms,
        teaser_notes=teaser_notes,
    )
    page, rendered = preview.html, preview.rendered
    text_path = html_path.with_suffix(".txt")
    filled_text = for_no_one(settings.newsletter, rendered).text
    try:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(page, encoding="utf-8")
        text_path.write_text(filled_text, encoding="utf-8")
    except OSError as exc:
        raise RenderError(f"cannot write the preview to {html_path}: {exc.strerror}") from exc
    return PreviewWritten(html_path, text_path, rendered)


def preview_text(settings: PageSettings, edition: Edition) -> str:
    """The text version of the preview: the mail's, its slots filled for no one."""
    return for_no_one(settings.newsletter, settings.renderer().render(edition)).text
