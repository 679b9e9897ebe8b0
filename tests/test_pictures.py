"""Pictures that track nobody (issue 20, part 4): each story's picture is fetched once from
a real server on loopback, re-encoded by Pillow without a byte of metadata, kept with the
archive and served by `digest serve`; a sent message shows no other picture."""

from __future__ import annotations

import email
import io
import time
from email import policy
from pathlib import Path

import lxml.html
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from digest.cli import main
from digest.config import NewsletterOptions, load_config
from digest.errors import RenderError
from digest.models import LeadImage
from digest.publish.pictures import MAX_PICTURE_PIXELS, copy_pictures, reencode
from digest.publish.render import render_edition
from digest.sources.http import fetch
from digest.store import open_database
from digest.store.subscribers import SubscriberStore
from tests.newsletter_sample import sample_edition
from tests.static_site import static_site
from tests.test_archive import serving
from tests.test_render import replace_story
from tools.smtp_sink import SmtpSink

BASE = "https://news.example.org"
OWN = f"{BASE}/archive/pictures/"
KEY = b"pictures-test-secret-0123"


# --- real picture files -----------------------------------------------------------------


def jpeg_with_exif_and_gps(width: int = 1600, height: int = 900) -> bytes:
    """A camera JPEG: maker, a GPS position, and orientation 6 (shown turned 90°)."""
    image = Image.new("RGB", (width, height), (30, 90, 160))
    image.paste((230, 200, 40), (0, 0, width // 4, height // 4))  # a mark in a corner
    exif = Image.Exif()
    exif[0x010F] = "SecretCamMaker"
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"shot at home")
    data = out.getvalue()
    # The test file really carries what must be stripped.
    reread = Image.open(io.BytesIO(data)).getexif()
    assert reread[0x0112] == 6 and reread.get_ifd(0x8825)[1] == "N"
    return data


def png_with_alpha(width: int = 800, height: int = 600) -> bytes:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste((10, 120, 60, 255), (100, 100, 700, 500))
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=_png_text("Author", "Someone at home"))
    return out.getvalue()


def _png_text(key: str, value: str) -> object:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text(key, value)
    return info


def webp(width: int = 1200, height: int = 675) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 30, 120)).save(out, "WEBP", quality=70)
    return out.getvalue()


def tracker_gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (1, 1), 0).save(out, "GIF")
    return out.getvalue()


def bomb_png() -> bytes:
    """A few kilobytes of PNG that would decode to 48 million pixels."""
    out = io.BytesIO()
    Image.new("1", (8000, 6000), 0).save(out, "PNG", optimize=True)
    return out.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="600" height="400"><rect/></svg>'


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- re-encoding ------------------------------------------------------------------------


def test_a_camera_jpeg_loses_every_byte_of_metadata_and_stands_upright() -> None:
    source = jpeg_with_exif_and_gps()
    encoded = reencode(source)
    # Orientation 6 applied: the landscape file is a portrait picture, 420 px tall at 1x.
    assert (encoded.width, encoded.height) == (236, 420)
    small, large = (_decoded(f) for f in encoded.files)
    assert small.size == (236, 420) and large.size == (472, 840)
    for data, image in zip(encoded.files, (small, large), strict=True):
        assert image.format == "JPEG"
        assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
        assert b"SecretCamMaker" not in data and b"Exif" not in data
        assert b"shot at home" not in data and "comment" not in image.info
    # The yellow mark of the top-left corner is now at the top right (turned 90°).
    r, g, b = small.convert("RGB").getpixel((small.width - 5, 5))
    assert r > 180 and g > 150 and b < 120


def test_png_and_webp_are_copied_at_one_and_two_times_the_column() -> None:
    png = reencode(png_with_alpha())
    assert (png.width, png.height) == (520, 390)
    # Never enlarged: the 800 px file is the 2x copy as it is.
    assert [_decoded(f).size for f in png.files] == [(520, 390), (800, 600)]
    assert b"Someone at home" not in png.files[0] + png.files[1]
    # Transparency laid on white, not black.
    assert _decoded(png.files[0]).getpixel((3, 3)) == pytest.approx((255, 255, 255), abs=3)
    shown = reencode(webp())
    assert (shown.width, shown.height) == (520, 292)
    assert [_decoded(f).size for f in shown.files] == [(520, 292), (1040, 584)]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (bomb_png(), f"over the {MAX_PICTURE_PIXELS:,} pixel limit"),
        (tracker_gif(), "1x1 px: an icon or a tracking pixel"),
        (SVG, "not a raster picture"),
        (jpeg_with_exif_and_gps()[:2000], "broken picture"),
        (b"", "not a raster picture"),
    ],
)
def test_refused_pictures_say_why(data: bytes, why: str) -> None:
    with pytest.raises(RenderError, match=why.replace("(", r"\(")):
        reencode(data)


# --- a real server on loopback ----------------------------------------------------------


def loopback_fetch(url: str, max_bytes: int, timeout: float) -> bytes:
    return fetch(url, timeout=timeout, max_bytes=max_bytes, allow_private=True).content


PICTURES = {
    "/photo.jpg": (jpeg_with_exif_and_gps(), "image/jpeg"),
    "/chart.png": (png_with_alpha(), "image/png"),
    "/pixel.gif": (tracker_gif(), "image/gif"),
    "/logo.svg": (SVG, "image/svg+xml"),
}


def test_pictures_are_copied_once_and_bad_ones_left_out(tmp_path: Path) -> None:
    with static_site(PICTURES) as server:
        edition = sample_edition()
        for i, path in enumerate(("/photo.jpg", "/chart.png", "/pixel.gif", "/missing.jpg")):
            if i < len(edition.stories):
                edition = replace_story(edition, i, image=LeadImage(server.url + path, alt=path))
        assert len(edition.stories) >= 4
        first = copy_pictures(edition, archive=tmp_path, base_url=BASE, fetch=loopback_fetch)
        again = copy_pictures(edition, archive=tmp_path, base_url=BASE, fetch=loopback_fetch)
        hits = dict(server.hits)
    images = [s.image for s in first.edition.stories[:4]]
    photo, chart, pixel, missing = images
    assert photo is not None and chart is not None and pixel is None and missing is None
    assert photo.url.startswith(OWN) and photo.url_2x is not None and photo.url_2x.startswith(OWN)
    assert (photo.width, photo.height, photo.alt) == (236, 420, "/photo.jpg")
    assert (chart.width, chart.height) == (520, 390)
    for image in (photo, chart):
        for url in (image.url, image.url_2x):
            assert url is not None
            assert (tmp_path / "pictures" / url.removeprefix(OWN)).is_file()
    assert [line.split(" left out: ")[1] for line in first.left_out] == [
        "1x1 px: an icon or a tracking pixel, not a picture",
        f"{server.url}/missing.jpg: HTTP 404 Not Found",
    ]
    # Fetched once: the second build found the copies (a refused one is asked again).
    assert hits["/photo.jpg"] == 1 and hits["/chart.png"] == 1
    assert again.edition.stories[0].image == photo


def test_without_an_https_base_url_nothing_is_fetched(tmp_path: Path) -> None:
    with static_site(PICTURES) as server:
        edition = replace_story(sample_edition(), 0, image=LeadImage(server.url + "/photo.jpg"))
        copied = copy_pictures(
            edition, archive=tmp_path, base_url="http://127.0.0.1:8025", fetch=loopback_fetch
        )
        assert server.hits == {}
    # The edition keeps what its source named; the renderer shows none of it (below).
    assert copied.edition == edition and not (tmp_path / "pictures").exists()


def test_a_message_shows_only_our_own_copies() -> None:
    options = NewsletterOptions(base_url=BASE)
    theirs = LeadImage("https://images.publisher.example/a.jpg", 1200, 800)
    ours = LeadImage(f"{OWN}{'a' * 24}-520.jpg", 520, 347, url_2x=f"{OWN}{'a' * 24}-1040.jpg")
    for image, shown in ((theirs, False), (ours, True)):
        edition = replace_story(sample_edition(), 0, image=image)
        html = render_edition(edition, options).html
        imgs = list(lxml.html.document_fromstring(html).iter("img"))
        assert bool(imgs) is shown
    (img,) = imgs
    assert img.get("src") == ours.url
    assert img.get("srcset") == f"{ours.url} 1x, {ours.url_2x} 2x"
    # Our copies with a loopback base_url (no subscriber could load them): no picture.
    loopback = replace_story(
        sample_edition(), 0, image=LeadImage("http://127.0.0.1:8025/archive/pictures/x.jpg")
    )
    assert "<img" not in render_edition(loopback, NewsletterOptions()).html


# --- end to end: digest run, the sent mail, digest serve --------------------------------

DAY = "2026-11-24"


def _item(n: int, title: str, body: str, picture: str, lang: str) -> str:
    return (
        f"<item><title>{title}</title><link>https://news.example.net/{lang}/{n}</link>"
        f"<guid>https://news.example.net/{lang}/{n}</guid>"
        f"<pubDate>Tue, 24 Nov 2026 0{n}:00:00 +0000</pubDate>"
        f"<description><![CDATA[{body}]]></description>"
        f'<media:content url="{picture}" medium="image" width="1600" height="900"/></item>'
    )


STORIES = [
    (
        "Bahn kündigt neuen Nachtzug nach Rom an",
        "Die Bahn fährt ab Dezember jede Nacht von München nach Rom. Der Zug hat neue"
        " Schlafwagen mit Duschen. Die Fahrt dauert dreizehn Stunden. Tickets kosten ab"
        " neunundvierzig Euro. Die Verbindung soll Flüge zwischen beiden Städten ersetzen.",
        "de",
    ),
    (
        "Porto inaugura nova linha de metro até Gaia",
        "A nova linha liga o centro do Porto a Vila Nova de Gaia em doze minutos. A obra"
        " custou trezentos milhões de euros. Os comboios passam a cada seis minutos. A"
        " câmara espera menos carros na ponte. A linha abre ao público no sábado.",
        "pt",
    ),
    (
        "高铁新线今天开通运营",
        "连接两座城市的高铁新线今天正式开通。全程只需要九十分钟。每天开行四十对列车。"
        "票价比飞机便宜一半。沿线的六个车站同时启用。",
        "zh",
    ),
    (
        "افتتاح محطة تحلية جديدة على الساحل",
        "افتتحت الحكومة محطة جديدة لتحلية مياه البحر. تنتج المحطة مئة ألف متر مكعب يوميا."
        " تعمل المحطة بالطاقة الشمسية. ستزود المحطة ثلاث مدن بالمياه. بدأ العمل فيها قبل عامين.",
        "ar",
    ),
]


@pytest.mark.slow  # a whole `digest run` with the real encoder
def test_sent_mail_shows_only_pictures_that_our_archive_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_SECRET", KEY.decode())
    pictures = ["/photo.jpg", "/chart.png", "/pixel.gif", "/logo.svg"]
    files = dict(PICTURES)
    with static_site(files) as server:
        items = "".join(
            _item(n + 1, title, body, server.url + pictures[n], lang)
            for n, (title, body, lang) in enumerate(STORIES)
        )
        files["/feed.xml"] = (
            (
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"'
                ' xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Welt</title>'
                f"<link>{server.url}/</link>{items}</channel></rss>"
            ).encode(),
            "application/rss+xml",
        )
        with SmtpSink() as sink:
            config_file = tmp_path / "config.yaml"
            config_file.write_text(
                yaml.safe_dump(
                    {
                        "data_dir": "data",
                        "sources": [
                            {
                                "name": "welt",
                                "location": f"{server.url}/feed.xml",
                                "allow_private": True,
                            }
                        ],
                        "newsletter": {"base_url": BASE},
                        "edition": {"min_stories": 1},
                        "delivery": {
                            "transport": "smtp",
                            "smtp": {"host": "127.0.0.1", "port": sink.port},
                        },
                    }
                ),
                encoding="utf-8",
            )
            config = load_config(config_file)
            with open_database(config.store_path) as db:
                SubscriberStore(db).upsert("leyla@example.org", name="Leyla")
            result = CliRunner().invoke(main, ["--config", str(config_file), "run", "--date", DAY])
            assert result.exit_code == 0, result.output
        hits = dict(server.hits)
    assert hits["/photo.jpg"] == 1 and hits["/chart.png"] == 1
    (sent,) = sink.messages
    message = email.message_from_bytes(sent.data, policy=policy.default)
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    doc = lxml.html.document_fromstring(html.get_content())
    sources = {img.get("src") for img in doc.iter("img")}
    sources |= {c.split()[0] for img in doc.iter("img") for c in img.get("srcset", "").split(",")}
    # The photo and the chart, at 1x and 2x; the tracker and the SVG were left out.
    assert len(sources) == 4, sources
    assert all(src.startswith(OWN) for src in sources), sources
    assert server.url not in html.get_content()
    with serving(config) as client:
        for src in sources:
            answer = client.get(src.removeprefix(BASE))
            assert answer.status_code == 200, src
            assert answer.headers["content-type"] == "image/jpeg"
            served = _decoded(answer.content)
            assert served.format == "JPEG" and not served.getexif()
        assert client.get("/archive/pictures/../config.yaml").status_code == 404


def test_a_broken_earlier_copy_is_fetched_again(tmp_path: Path) -> None:
    with static_site(PICTURES) as server:
        edition = replace_story(sample_edition(), 0, image=LeadImage(server.url + "/chart.png"))
        first = copy_pictures(edition, archive=tmp_path, base_url=BASE, fetch=loopback_fetch)
        image = first.edition.stories[0].image
        assert image is not None
        (tmp_path / "pictures" / image.url.removeprefix(OWN)).write_bytes(b"half a file")
        again = copy_pictures(edition, archive=tmp_path, base_url=BASE, fetch=loopback_fetch)
        assert server.hits["/chart.png"] == 2
    assert again.edition.stories[0].image == image
    assert _decoded((tmp_path / "pictures" / image.url.removeprefix(OWN)).read_bytes()).size == (
        520,
        390,
    )


def test_a_cameras_mpo_jpeg_is_copied() -> None:
    """Cameras write a JPEG with a second, preview picture (MPO): a picture like any."""
    first = Image.new("RGB", (1200, 800), (200, 60, 60))
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[Image.new("RGB", (160, 120))])
    assert Image.open(io.BytesIO(out.getvalue())).format == "MPO"
    encoded = reencode(out.getvalue())
    assert (encoded.width, encoded.height) == (520, 347)
    assert _decoded(encoded.files[0]).format == "JPEG"


def test_slow_servers_never_stall_a_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from digest.publish import pictures

    monkeypatch.setattr(pictures, "EDITION_PICTURE_SECONDS", 2.5)

    def slow(url: str, max_bytes: int, timeout: float) -> bytes:
        time.sleep(1.6)  # a server that answers slowly, within its own deadline
        return loopback_fetch(url, max_bytes, timeout)

    with static_site(PICTURES) as server:
        edition = replace_story(sample_edition(), 0, image=LeadImage(server.url + "/photo.jpg"))
        edition = replace_story(edition, 1, image=LeadImage(server.url + "/chart.png"))
        copied = copy_pictures(edition, archive=tmp_path, base_url=BASE, fetch=slow)
    first, second = (s.image for s in copied.edition.stories[:2])
    assert first is not None and second is None
    (line,) = copied.left_out
    assert line.endswith("the edition's 2.5 s for downloading pictures ran out")
