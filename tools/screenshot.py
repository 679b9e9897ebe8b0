"""Screenshots of the newsletter for the README: docs/screenshot.png (600px, desktop),
docs/screenshot-mobile.png (375px) and docs/screenshot-dark.png (600px, dark mode).

    python tools/screenshot.py                      # the sample edition of the tests
    python tools/screenshot.py --config config.yaml --date 2026-11-24   # a stored edition
    python tools/screenshot.py --config config.yaml --data-dir .digest-demo   # make demo's

With --config, the edition of that day is loaded from the store (built first if needed,
as ``digest preview`` does). The page is the mail as a subscriber gets it, without the
editor panel.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from chromium import Browser, find_chromium

from digest import serialize
from digest.config import NewsletterOptions, load_config, with_overrides
from digest.models import Edition
from digest.publish.messages import archive_url
from digest.publish.render import Renderer, personalize

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "edition.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="config.yaml whose store has the edition")
    parser.add_argument("--data-dir", help="override the config's data_dir (.digest-demo)")
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 24))
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    if find_chromium() is None:
        print("no Chromium found (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    options = NewsletterOptions(base_url="https://news.example.org")
    if args.config:
        from digest.pipeline import load_edition

        config = load_config(args.config)
        if args.data_dir:
            config = with_overrides(config, data_dir=args.data_dir)
        options = config.newsletter
        edition = load_edition(config, args.date).edition
    else:
        edition = serialize.loads(Edition, SAMPLE.read_text(encoding="utf-8"))
    rendered = Renderer(options).render(edition)
    html = personalize(
        rendered,
        name="Ana",
        unsubscribe_url=f"{options.base_url.rstrip('/')}/u/1.example-token",
        browser_url=archive_url(options, rendered.edition_id),
    ).html
    args.out.mkdir(parents=True, exist_ok=True)
    page = args.out / ".screenshot.html"
    page.write_text(html, encoding="utf-8")
    try:
        with Browser() as browser:
            for name, width, height, dark in (
                ("screenshot.png", 600, 1500, False),
                ("screenshot-mobile.png", 375, 1200, False),
                ("screenshot-dark.png", 600, 1100, True),
            ):
                browser.open(page.resolve().as_uri(), width, dark=dark)
                shot = browser.screenshot(args.out / name, height=height)
                print(f"{shot} ({width}px{', dark' if dark else ''})")
    finally:
        page.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
