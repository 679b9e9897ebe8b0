"""Story pictures that track nobody: copied once, re-encoded, served from our own address.

A picture hot-linked from a publisher's server tells that server the reader's address and
when they read, at every open. So when an edition is built, ``copy_pictures`` fetches each
story's picture once (through the caller's ``fetch``: the guarded client of
``digest.sources.http``; 15 s a download, 60 s for all of an edition's), decodes it with
Pillow under bounds (``MAX_PICTURE_BYTES`` of file, ``MAX_PICTURE_PIXELS`` decoded: a
decompression bomb is refused before it is decoded), turns it upright, drops every byte
of metadata (EXIF with its GPS position, XMP, ICC, comments: only the pixels are kept),
resizes it to the column at 1× and 2× and writes both as baseline JPEG into the
archive's ``pictures/`` folder. The story's picture
becomes ``<base_url>/archive/pictures/<name>-520.jpg`` (with the 2× file beside it), which
``digest serve`` answers (``digest.publish.archive.archive_file``). A picture that cannot
be copied (an SVG, a 1×1 tracker, an icon under 80 px, a broken file, a server that
fails) is left out, with one logged line; the edition goes on without it.

The renderer shows only pictures under ``own_pictures_url`` (``digest.publish.blocks``),
so a sent message never points at a publisher's server whatever the edition holds.
Copies need an https ``base_url`` (where ``digest serve`` answers the public); with the
shipped loopback one no subscriber could load them, and pictures are left out.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from digest.errors import DigestError, RenderError
from digest.models import Edition, LeadImage, Story
from digest.publish.blocks import (
    COLUMN_PX,
    MAX_IMAGE_HEIGHT_PX,
    MIN_IMAGE_PX,
    PICTURES_FOLDER,
    own_pictures_url,
)

__all__ = [
    "EDITION_PICTURE_SECONDS",
    "JPEG_QUALITY",
    "MAX_PICTURE_BYTES",
    "MAX_PICTURE_PIXELS",
    "CopiedPictures",
    "Fetch",
    "copy_pictures",
    "reencode",
]

log = logging.getLogger(__name__)

MAX_PICTURE_BYTES = 8 * 1024 * 1024  # the file as fetched
# Decoded pixels: past this a picture is refused before it is decoded (a 40 MP photo is
# the largest a news site serves; a decompression bomb claims far more).
MAX_PICTURE_PIXELS = 40_000_000
PICTURE_SECONDS = 15.0  # the deadline of one picture's download
EDITION_PICTURE_SECONDS = 60.0  # all of an edition's downloads: slow servers never stall a build
JPEG_QUALITY = 82
SCALES = (1, 2)  # the column's width at 1x and 2x
# The raster formats a publisher serves; anything else (SVG, a PDF, an ICO) is refused.
_ORIENTATION = 0x0112  # the EXIF tag
# MPO is how Pillow names a camera's JPEG that carries a second, preview picture.
_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF"})

# fetch(url, max_bytes, timeout) -> the body; raises DigestError (SourceError) on failure.
Fetch = Callable[[str, int, float], bytes]


@dataclass(frozen=True, slots=True)
class Encoded:
    """A picture re-encoded: the JPEG at each of ``SCALES``, and its 1x size."""

    files: tuple[bytes, ...]
    width: int
    height: int


def _shown_size(width: int, height: int) -> tuple[int, int]:
    """The 1x size: never wider than the column nor taller than the tallest shown."""
    shown = min(width, COLUMN_PX, width * MAX_IMAGE_HEIGHT_PX // height)
    shown = max(shown, 1)
    return shown, max(round(height * shown / width), 1)


def reencode(data: bytes) -> Encoded:
    """``data`` decoded and written again as JPEG at 1x and 2x the column, with nothing but
    its pixels; ``RenderError`` saying why for a picture that is refused."""
    if len(data) > MAX_PICTURE_BYTES:
        raise RenderError(f"{len(data):,} bytes, over the {MAX_PICTURE_BYTES:,} limit")
    try:
        with warnings.catch_warnings():
            # Pillow warns past its own limit and raises past twice it: both refuse.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                pixels = _pixels_of(opened)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise RenderError(f"refused as a decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise RenderError("not a raster picture (SVG and other formats are refused)") from None
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow's words for a broken file
        raise RenderError(f"broken picture ({' '.join(str(exc).split())[:120]})") from None
    width, height = _shown_size(*pixels.size)
    files = []
    for scale in SCALES:
        size = (min(width * scale, pixels.width), min(height * scale, pixels.height))
        resized = pixels if size == pixels.size else pixels.resize(size, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        # No exif=, icc_profile= or comment=: the file holds pixels and nothing else.
        resized.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        files.append(out.getvalue())
    return Encoded(tuple(files), width, height)


def _pixels_of(opened: Image.Image) -> Image.Image:
    """The upright pixels of a picture whose header ``Image.open`` has read, refused by its
    format or its declared size before anything is decoded."""
    if opened.format not in _FORMATS:
        raise RenderError(f"not a picture format we copy ({opened.format})")
    width, height = opened.size
    if width * height > MAX_PICTURE_PIXELS:
        raise RenderError(
            f"{width}x{height} px, over the {MAX_PICTURE_PIXELS:,} pixel limit"
            " (a decompression bomb?)"
        )
    if width < MIN_IMAGE_PX or height < MIN_IMAGE_PX:
        raise RenderError(f"{width}x{height} px: an icon or a tracking pixel, not a picture")
    opened.seek(0)  # an animated GIF or WebP: its first frame
    if opened.format in ("JPEG", "MPO"):
        # Decode a camera JPEG at 1/2, 1/4 or 1/8 scale where that is still at least the
        # 2x copy's size (the decoder's own scaling: far less work than full size).
        want = COLUMN_PX * max(SCALES)
        turned = opened.getexif().get(_ORIENTATION) in (5, 6, 7, 8)  # 90 degrees either way
        across, down = (height, width) if turned else (width, height)
        need = (want, math.ceil(want * down / across))
        opened.draft("RGB", need[::-1] if turned else need)
    return _flatten(ImageOps.exif_transpose(opened))


def _flatten(image: Image.Image) -> Image.Image:
    """The picture's pixels alone, in RGB (transparency laid on white): a new image, so
    that none of the source's metadata (``info``, EXIF, ICC) comes along."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    rgb = image.convert("RGB")
    return Image.frombytes("RGB", rgb.size, rgb.tobytes())


@dataclass(frozen=True)
class CopiedPictures:
    """The edition with each picture our own copy (or none), and a line per picture left
    out, for the run's report."""

    edition: Edition
    left_out: tuple[str, ...]


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` whole or not at all: a file served while half-written is broken."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".jpg")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _names(url: str) -> list[str]:
    stem = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
    return [f"{stem}-{COLUMN_PX * scale}.jpg" for scale in SCALES]


def _copied_size(paths: list[Path]) -> tuple[int, int] | None:
    """The 1x size of a picture copied before, or None when a copy is missing or broken."""
    if not all(p.is_file() for p in paths):
        return None
    try:
        with Image.open(paths[0]) as done:
            width, height = done.size
            return width, height
    except (OSError, ValueError, UnidentifiedImageError):
        return None


def _copy(image: LeadImage, folder: Path, own: str, fetch: Fetch, deadline: float) -> LeadImage:
    names = _names(image.url)
    paths = [folder / name for name in names]
    size = _copied_size(paths)
    if size is not None:  # copied for an earlier build: fetched once
        width, height = size
    else:
        left = deadline - time.monotonic()
        if left <= 1:
            raise RenderError(
                f"the edition's {EDITION_PICTURE_SECONDS:g} s for downloading pictures ran out"
            )
        encoded = reencode(fetch(image.url, MAX_PICTURE_BYTES, min(PICTURE_SECONDS, left)))
        folder.mkdir(parents=True, exist_ok=True)
        for path, data in zip(paths, encoded.files, strict=True):
            _write(path, data)
        width, height = encoded.width, encoded.height
    return LeadImage(f"{own}{names[0]}", width, height, image.alt, url_2x=f"{own}{names[1]}")


def copy_pictures(
    edition: Edition, *, archive: Path, base_url: str, fetch: Fetch
) -> CopiedPictures:
    """``edition`` with each story's picture copied into ``archive``/pictures and pointing
    there (see the module docstring); the edition as it is when ``base_url`` cannot serve
    copies (``own_pictures_url``: the renderer then shows no picture)."""
    own = own_pictures_url(base_url)
    if own is None:  # nothing can serve copies; the renderer shows no other picture
        return CopiedPictures(edition, ())
    folder = archive / PICTURES_FOLDER
    left_out: list[str] = []
    deadline = time.monotonic() + EDITION_PICTURE_SECONDS

    def copied(story: Story) -> Story:
        image = story.image
        if image is None or image.url.startswith(own):
            return story
        try:
            return replace(story, image=_copy(image, folder, own, fetch, deadline))
        except (DigestError, OSError) as exc:  # OSError: the archive folder is not writable
            line = f"{story.title[:60]}: picture {image.url[:100]} left out: {exc}"
            log.info("%s", line)
            left_out.append(line)
            return replace(story, image=None)

    sections = tuple(
        replace(section, stories=tuple(copied(s) for s in section.stories))
        for section in edition.sections
    )
    return CopiedPictures(replace(edition, sections=sections), tuple(left_out))
