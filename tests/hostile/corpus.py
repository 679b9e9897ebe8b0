"""The hostile corpus: each case a file (in ``cases/``, or written by a generator below when
it is large) and the outcome it must have. ``harness.py`` runs them; ``test_hostile.py``
and ``run.py`` (verdict counts) use this list.

Dates outside what a calendar can hold (year 9999 at -12:00, year 0000) are
``kept-or-noted``: no traceback, and the article is kept or skipped with a warning; which
date (or none) the reader keeps is decided in ``sources/dates.py`` and tested there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests import mail_samples
from tests.hostile.harness import Case

BODY = (
    "The harbour authority said on Monday that the new breakwater will protect the old "
    "fishing quarter from winter storms for the next forty years."
)
HEADLINE = "Breakwater Finished After Three Years"


def _writer(name: str, data: Callable[[], bytes | str]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        value = data()
        path.write_bytes(value.encode("utf-8") if isinstance(value, str) else value)
        return path

    return make


def _rss(items: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Harbour Wire</title><link>https://harbour.example/</link>{items}"
        "</channel></rss>\n"
    )


def _item(i: int, description: str = BODY) -> str:
    return (
        f"<item><title>Harbour story {i}</title><link>https://harbour.example/{i}</link>"
        f"<description>{description}</description></item>"
    )


def _cut(words: str, word: str, limit: int = 300) -> str:
    """What a title of repeated ``word`` becomes: cut at the last space within the limit."""
    head = words[: limit - 1]
    return head[: head.rfind(" ")] + "…" if " " in head else head + "…"


FORGED_TOKEN = "1.AAAAAAAAAAAAAAAAAAAAAAAA"  # the form of a token, signed by nobody


def _unreadable(reason: str) -> str:
    """The ``digest bounces`` output when the hostile message is set aside and the good
    one after it handled: the summary, then the one warning line naming the bound."""
    return (
        r"2 read, 1 handled, 0 left: .*, 1 unreadable \(moved to digest-unreadable\)\n"
        r"warning: \S+: message \S+ moved to digest-unreadable: " + reason
    )


def _paragraphs(article: dict[str, Any]) -> list[str]:
    """Every paragraph of an article of ``read --json``, in order."""
    return [p for section in article.get("sections", []) for p in section["paragraphs"]]


def _first_words(text: str) -> Callable[[dict[str, object]], bool]:
    return lambda a: str(a.get("title", "")).startswith(text)


NEST = 100_000


def _nest(tag: str, depth: int) -> str:
    return (
        "<item><title>Deep</title><description>x</description>"
        + f"<{tag}>" * depth
        + "y"
        + f"</{tag}>" * depth
        + "</item>"
    )


CASES: tuple[Case, ...] = (
    # --- feeds ---------------------------------------------------------------------------
    Case("atom year 9999 at -12:00", "read", "kept-or-noted", "atom-year-9999-minus-12.atom"),
    Case("rss year 9999 at -1200", "read", "kept-or-noted", "rss-year-9999-minus-1200.rss"),
    Case("atom year 0000", "read", "kept-or-noted", "atom-year-0000.atom"),
    Case(
        "rss German weekday and month",
        "read",
        "accept",
        "rss-date-localised-german.rss",
        title="Fernwärme für zwölftausend Haushalte",
    ),
    Case(
        "rss date in Arabic digits",
        "read",
        "accept",
        "rss-date-arabic-digits.rss",
        title="الميناء يفتتح كاسر الأمواج الجديد",
    ),
    Case(
        "rss date that is no date",
        "read",
        "accept",
        "rss-date-garbage.rss",
        title=HEADLINE,
        check=lambda a: a.get("published") is None,
    ),
    Case(
        "rss 60,000-character title",
        "read",
        "accept",
        "rss-title-60000.rss",
        title=_cut(" ".join(["Storm"] * 10000), "Storm"),
    ),
    Case(
        "rss 5,000-character CJK title",
        "read",
        "accept",
        "rss-title-cjk-5000.rss",
        title=("港湾当局は新しい防波堤が完成したと発表した" * 250)[:299] + "…",
    ),
    Case(
        "rss 10,000-character author",
        "read",
        "accept",
        "rss-author-10000.rss",
        check=lambda a: 0 < len(str(a.get("author"))) <= 200,
    ),
    Case(
        "rss 5,000-character category",
        "read",
        "accept",
        "rss-category-5000.rss",
        check=lambda a: 0 < len(str(a.get("category"))) <= 100,
    ),
    Case(
        "rss javascript: link",
        "read",
        "accept",
        "rss-link-javascript.rss",
        check=lambda a: a.get("url") is None,
        absent=("javascript:",),
    ),
    Case(
        "rss 8,000-character link",
        "read",
        "accept",
        "rss-link-8000.rss",
        check=lambda a: a.get("url") is None and a.get("canonical_url") is None,
    ),
    Case(
        "rss script, onerror and iframe in the description",
        "read",
        "accept",
        "rss-script-in-description.rss",
        absent=("alert", "evil.example", "onerror"),
    ),
    Case(
        "rss file that is a sentence",
        "read",
        "error",
        "rss-not-xml.rss",
        match="not an RSS or Atom feed",
    ),
    Case(
        "feed URL answered with an HTML error page",
        "read",
        "error",
        "rss-html-error-page.xml",
        match="an HTML page",
    ),
    Case("rss empty file", "read", "error", "rss-empty.rss"),
    Case(
        "rss billion laughs (XML entities)",
        "read",
        "clean",
        "rss-billion-laughs.rss",
        absent=("lollollollollollollollollollollollollollollollollollollollollollol",),
    ),
    Case(
        "rss external entity (XXE)",
        "read",
        "clean",
        "rss-external-entity.rss",
        absent=("root:x:0",),
    ),
    Case(
        "rss control characters in the title",
        "read",
        "accept",
        "rss-control-characters.rss",
        title="Breakwater Finished",
    ),
    Case(
        "rss NUL bytes in the title",
        "read",
        "accept",
        "rss-nul-bytes.rss",
        check=lambda a: "\x00" not in str(a.get("title")) and "Breakwater" in str(a.get("title")),
    ),
    Case(
        "rss Latin-1 without a declaration",
        "read",
        "accept",
        "rss-latin1-undeclared.rss",
        title="Café in São Paulo Reopens",
    ),
    Case("rss UTF-16 with a BOM", "read", "accept", "rss-utf16-bom.rss", title="防波堤が完成"),
    Case(
        "rss mojibake title", "read", "accept", "rss-mojibake-title.rss", check=_first_words("Caf")
    ),
    Case(
        "rss right-to-left override in the title",
        "read",
        "accept",
        "rss-bidi-override-title.rss",
        articles=1,
    ),
    Case(
        "rss entry with no title and no text",
        "read",
        "skip",
        "rss-empty-items.rss",
        articles=1,
        match="entry 1 skipped",
        title=HEADLINE,
    ),
    Case(
        "rss relative link",
        "read",
        "accept",
        "rss-relative-link.rss",
        check=lambda a: a.get("url") == "https://harbour.example/news/breakwater",
    ),
    Case(
        "rss 3,000 categories on one entry",
        "read",
        "accept",
        "rss-many-tags.rss",
        check=lambda a: a.get("category") == "tag0",
    ),
    Case(
        "atom title of spaces only",
        "read",
        "accept",
        "atom-only-whitespace-title.atom",
        check=_first_words("The harbour authority said on Monday"),
    ),
    Case(
        "rss of 5,000 items",
        "read",
        "skip",
        make=_writer("items-5000.rss", lambda: _rss("".join(_item(i) for i in range(5000)))),
        articles=1000,
        match="first 1,000 of 5,000",
    ),
    Case(
        "rss nested 100,000 elements deep",
        "read",
        "error",
        make=_writer("deep.rss", lambda: _rss(_nest("x", NEST))),
        match="XML nested more than 100 deep",
    ),
    Case(
        "rss of 9.8 MB nested 1,400,000 deep",
        "read",
        "error",
        make=_writer("deeper.rss", lambda: _rss(_nest("x", 1_400_000))),
        match="XML nested more than 100 deep",
    ),
    Case(
        "rss description of 200 nested divs",
        "read",
        "accept",
        make=_writer(
            "deep-html.rss",
            lambda: _rss(_item(1, "&lt;div&gt;" * 200 + BODY + "&lt;/div&gt;" * 200)),
        ),
        check=lambda a: BODY[:40] in json.dumps(a, ensure_ascii=False),
    ),
    Case(
        # Past libxml2's depth limit the entry is read flat: its text is all there.
        "rss description of 5,000 nested divs",
        "read",
        "accept",
        make=_writer(
            "deeper-html.rss",
            lambda: _rss(_item(1, "&lt;div&gt;" * 5000 + BODY + "&lt;/div&gt;" * 5000)),
        ),
        title="Harbour story 1",
        check=lambda a: _paragraphs(a) == [BODY],
    ),
    Case(
        "rss over 10 MiB",
        "read",
        "error",
        make=_writer("big.rss", lambda: _rss(_item(1, "x " * (6 << 20)))),
        match="over the 10,485,760",
    ),
    Case(
        "rss entry of 400,000 characters",
        "read",
        "skip",
        make=_writer(
            "long-entry.rss", lambda: _rss(_item(1, ("Storm surge. " * 31000)) + _item(2))
        ),
        articles=1,
        match="300,000",
    ),
    # --- JSON ----------------------------------------------------------------------------
    Case("json year 9999 at -12:00", "read", "kept-or-noted", "json-date-9999-minus-12.json"),
    Case("json year 0000", "read", "kept-or-noted", "json-date-0000.json"),
    Case(
        "json date 1e400 (infinity)",
        "read",
        "accept",
        "json-date-float-inf.json",
        title=HEADLINE,
        check=lambda a: a.get("published") is None,
    ),
    Case(
        "json date as an object",
        "read",
        "accept",
        "json-date-object.json",
        title=HEADLINE,
        check=lambda a: a.get("published") is None,
    ),
    Case(
        "json 5,000-digit number", "read", "error", "json-huge-integer.json", match="not valid JSON"
    ),
    Case(
        "json title as a list",
        "read",
        "accept",
        "json-title-list.json",
        check=lambda a: "[" not in str(a.get("title")),
    ),
    Case("json title as a number", "read", "accept", "json-title-number.json", title="12345"),
    Case(
        "json lone surrogate in the title",
        "read",
        "accept",
        "json-lone-surrogate.json",
        title="Harbour \ufffd News",
    ),
    Case(
        "json array of non-objects",
        "read",
        "skip",
        "json-not-objects.json",
        articles=0,
        match="must be a JSON object",
    ),
    Case("json null", "read", "skip", "json-null.json", articles=0, match="must be a JSON object"),
    Case(
        "json empty object",
        "read",
        "skip",
        "json-empty-object.json",
        articles=0,
        match="no headline and no text",
    ),
    Case("json cut off mid-string", "read", "error", "json-truncated.json", match="not valid JSON"),
    Case(
        "json sections and events of the wrong types",
        "read",
        "accept",
        "json-sections-wrong-types.json",
        title=HEADLINE,
    ),
    Case(
        "json related links of the wrong types",
        "read",
        "accept",
        "json-related-wrong-types.json",
        title=HEADLINE,
        check=lambda a: a.get("related") == [{"title": "42", "url": None}],
    ),
    Case("json body with a script", "read", "accept", "json-script-body.json", absent=("alert",)),
    Case(
        "json nested 100,000 deep",
        "read",
        "error",
        make=_writer("deep.json", lambda: "[" * NEST + "]" * NEST),
        match="nested",
    ),
    Case(
        "json field nested 5,000 deep",
        "read",
        "error",
        make=_writer(
            "deep-field.json",
            lambda: (
                json.dumps({"title": HEADLINE, "body": BODY})[:-1]
                + ', "extra": '
                + "[" * 5000
                + "]" * 5000
                + "}"
            ),
        ),
        match="nested",
    ),
    Case(
        "json of 12,000 articles",
        "read",
        "skip",
        make=_writer(
            "many.json",
            lambda: json.dumps(
                [{"title": f"Harbour story {i}", "body": BODY} for i in range(12000)]
            ),
        ),
        articles=1000,
        match="first 1,000 of 12,000",
    ),
    # --- Markdown ------------------------------------------------------------------------
    Case("markdown YAML alias bomb", "read", "error", "md-yaml-alias-bomb.md", match="alias"),
    Case(
        "markdown YAML python tag", "read", "error", "md-yaml-python-tag.md", match="front matter"
    ),
    Case(
        "markdown YAML 5,000-digit number",
        "read",
        "error",
        "md-yaml-huge-integer.md",
        match="front matter",
    ),
    Case("markdown year 9999 at -12:00", "read", "kept-or-noted", "md-yaml-date-9999-minus-12.md"),
    Case("markdown year 0000", "read", "kept-or-noted", "md-yaml-date-0000.md"),
    Case(
        "markdown front matter that is a list",
        "read",
        "error",
        "md-yaml-list-front-matter.md",
        match="mapping",
    ),
    Case(
        "markdown front matter that is not YAML",
        "read",
        "error",
        "md-yaml-invalid.md",
        match="front matter is not valid YAML",
    ),
    Case(
        "markdown 10,000-character heading",
        "read",
        "accept",
        "md-heading-10000.md",
        title=_cut(" ".join(["Harbour"] * 1250), "Harbour"),
    ),
    Case(
        "markdown 2,000 related lines",
        "read",
        "accept",
        "md-related-huge.md",
        check=lambda a: 0 < len(a.get("related") or []) <= 20,
    ),
    Case(
        "markdown Hindi and Urdu",
        "read",
        "accept",
        "md-hindi-urdu.md",
        title="बंदरगाह पर नया ब्रेकवाटर पूरा",
    ),
    Case(
        "markdown control characters in the title",
        "read",
        "accept",
        "md-control-chars-title.md",
        # ftfy (digest.text.clean) takes the whole terminal escape "\x1b[31m" out.
        title="Breakwater Finished Today",
    ),
    Case(
        "markdown front matter of 2 MiB",
        "read",
        "error",
        make=_writer(
            "big-front.md",
            lambda: "---\ntitle: x\nnote: " + "y" * (2 << 20) + "\n---\n\n" + BODY + "\n",
        ),
        match="front matter",
    ),
    Case(
        "markdown blockquote 10,000 deep",
        "read",
        "accept",
        make=_writer(
            "deep-quote.md",
            lambda: "# Deep\n\n" + ">" * 10000 + " " + BODY + "\n\nNachher: der Hafen.\n",
        ),
        title="Deep",
        check=lambda a: _paragraphs(a) == [BODY, "Nachher: der Hafen."],
    ),
    Case(
        # 25 MB of indentation: refused by its size, before any parsing.
        "markdown list nested 5,000 deep",
        "read",
        "error",
        make=_writer(
            "deep-list.md",
            lambda: "# Deep\n\n" + "".join("  " * i + "- item\n" for i in range(5000)),
        ),
        match=r"deep-list\.md: 25,030,008 bytes, over the 10,485,760 limit",
    ),
    Case(
        # 9 MB, under the limit: every item read, the deepest and what follows included.
        "markdown list nested 3,000 deep",
        "read",
        "accept",
        make=_writer(
            "deeper-list.md",
            lambda: (
                "# Tief\n\n"
                + "".join("  " * i + f"- Punkt {i}\n" for i in range(3000))
                + "\nSchluss.\n"
            ),
        ),
        title="Tief",
        check=lambda a: _paragraphs(a) == [*(f"Punkt {i}" for i in range(3000)), "Schluss."],
    ),
    # --- HTML pages ----------------------------------------------------------------------
    Case(
        "html page with only a script",
        "read",
        "error",
        "html-script-only.html",
        match="no article text found",
    ),
    Case(
        "html 50,000-character og:title",
        "read",
        "accept",
        "html-og-title-50000.html",
        title=_cut(" ".join(["Porto"] * 8000), "Porto"),
    ),
    Case("html meta date year 9999", "read", "kept-or-noted", "html-meta-date-9999.html"),
    Case(
        "html JSON-LD nested 5,000 deep",
        "read",
        "accept",
        "html-jsonld-broken.html",
        check=_first_words("Breakwater Finished"),
    ),
    Case(
        # HTML has no DTD entities: "&g;" stays as written (as a browser shows it).
        "html entity bomb in a DOCTYPE",
        "read",
        "accept",
        "html-entity-bomb.html",
        absent=("aaaaaaaaaa",),
        title="&g;",
        check=lambda a: any(
            "The harbour authority said on Monday that the breakwater is done and &g; more." in p
            for p in _paragraphs(a)
        ),
    ),
    Case(
        "html unknown charset",
        "read",
        "accept",
        "html-charset-bogus.html",
        check=lambda a: "Café" in json.dumps(a, ensure_ascii=False),
    ),
    Case(
        "html file of binary bytes",
        "read",
        "error",
        "html-binary.html",
        match=r"html-binary\.html: cannot tell the text encoding",
    ),
    Case(
        # The page extractor finds nothing this deep: said in one error line.
        "html divs nested 100,000 deep",
        "read",
        "error",
        make=_writer(
            "deep.html",
            lambda: "<html><body>" + "<div>" * NEST + BODY + "</div>" * NEST + "</body></html>",
        ),
        match=r"deep\.html: page: no article text found",
    ),
    Case(
        "html page of 9 MB of text",
        "read",
        "error",
        make=_writer(
            "text-heavy.html",
            lambda: (
                "<html><body><article><h1>Big</h1>"
                + f"<p>{BODY}</p>" * 60_000
                + "</article></body></html>"
            ),
        ),
        match="over the 1,000,000 limit of a page",
    ),
    # --- plain text ----------------------------------------------------------------------
    Case("text empty file", "read", "error", "txt-empty.txt", match="no headline and no text"),
    Case(
        "text of whitespace only",
        "read",
        "error",
        "txt-only-whitespace.txt",
        match="no headline and no text",
    ),
    Case(
        "text in Latin-1",
        "read",
        "accept",
        "txt-latin1.txt",
        title="Café in São Paulo Reopens After Renovation",
    ),
    Case("text with NUL bytes", "read", "accept", "txt-nul-bytes.txt", title="Harbour News"),
    Case(
        "text in Arabic",
        "read",
        "accept",
        "txt-arabic.txt",
        title="الميناء يفتتح كاسر الأمواج الجديد",
    ),
    Case(
        "text with a 5,600-character Chinese headline",
        "read",
        "accept",
        "txt-chinese-long-title.txt",
        title=("港口当局宣布新防波堤已经完工" * 400)[:87] + "…",
    ),
    Case(
        "text of one 500,000-character line",
        "read",
        "error",
        make=_writer("one-line.txt", lambda: "word " * 100_000),
        match="300,000",
    ),
    Case(
        "text of 10 MB of random bytes",
        "read",
        "error",
        make=_writer("random.txt", lambda: __import__("random").Random(7).randbytes(10_000_000)),
        match="cannot tell the text encoding",
    ),
    Case(
        "text from /dev/zero",
        "argv",
        "error",
        args=("read", "/dev/zero", "--kind", "text"),
        match="not a regular file",
    ),
    # --- config files --------------------------------------------------------------------
    Case("config not in UTF-8", "config", "error", "config-not-utf8.yaml", match="UTF-8"),
    Case("config of binary bytes", "config", "error", "config-binary.yaml"),
    Case("config 5,000-digit port", "config", "error", "config-port-5000-digits.yaml"),
    Case("config alias bomb", "config", "error", "config-alias-bomb.yaml", match="alias"),
    Case("config python tag", "config", "error", "config-python-tag.yaml"),
    Case("config infinite timeout", "config", "error", "config-timeout-inf.yaml", match="finite"),
    Case("config NaN weight", "config", "error", "config-weight-nan.yaml", match="finite"),
    Case(
        "config top level a list",
        "config",
        "error",
        "config-top-level-list.yaml",
        match="top level",
    ),
    Case("config key that is a list", "config", "error", "config-unhashable-key.yaml"),
    Case(
        "config indented with a tab", "config", "error", "config-tabs.yaml", match="not valid YAML"
    ),
    Case(
        "config unknown source kind",
        "config",
        "error",
        "config-source-bad-kind.yaml",
        match="'ftp' is not one of",
    ),
    Case(
        "config nested 20,000 deep",
        "config",
        "error",
        make=_writer("deep.yaml", lambda: "a: " + "[" * 20000 + "]" * 20000 + "\n"),
        match="deep",
    ),
    Case(
        "config of 2 MiB",
        "config",
        "error",
        make=_writer("big.yaml", lambda: "# " + "x" * (2 << 20) + "\n"),
        match="limit",
    ),
    # --- subscriber CSV ------------------------------------------------------------------
    Case(
        "csv cell of 200,000 characters",
        "import",
        "skip",
        "subscribers-cell-200000.csv",
        match=r"line \d+: .*131,072.*\n?.*|2 added",
    ),
    Case(
        # The row with the NUL is refused and named; the clean one is added.
        "csv NUL byte in a cell",
        "import",
        "skip",
        "subscribers-nul.csv",
        match=r"1 added, 0 updated, 0 unchanged, 1 rejected\n"
        r".*subscribers-nul\.csv: line 2: name 'An\\x00n': control characters",
    ),
    Case("csv not in UTF-8", "import", "error", "subscribers-not-utf8.csv", match="UTF-8"),
    Case(
        "csv header injection in address and name",
        "import",
        "skip",
        "subscribers-header-injection.csv",
        match="1 added",
    ),
    Case(
        "csv without a header line",
        "import",
        "error",
        "subscribers-no-header.csv",
        match="name the columns",
    ),
    Case("csv formula in a name", "import", "accept", "subscribers-formula.csv", match="1 added"),
    # --- fetching --------------------------------------------------------------------------
    Case(
        "url on loopback",
        "argv",
        "error",
        args=("read", "{server}/feed.xml"),
        match="loopback",
        untouched=("/feed.xml",),
    ),
    Case(
        "url on localhost by name",
        "argv",
        "error",
        args=("read", "http://localhost:{port}/feed.xml"),
        match="loopback",
        untouched=("/feed.xml",),
    ),
    Case(
        "url on IPv4-mapped loopback",
        "argv",
        "error",
        args=("read", "http://[::ffff:127.0.0.1]:{port}/feed.xml"),
        match="loopback",
        untouched=("/feed.xml",),
    ),
    Case(
        "url on 0.0.0.0",
        "argv",
        "error",
        args=("read", "http://0.0.0.0:{port}/feed.xml"),
        match="unspecified",
        untouched=("/feed.xml",),
    ),
    Case(
        "url on a metadata address",
        "argv",
        "error",
        args=("read", "http://169.254.169.254/latest/meta-data/"),
        match="link-local",
    ),
    Case(
        "url on a private address",
        "argv",
        "error",
        args=("read", "http://10.0.0.1/feed.xml"),
        match="private",
    ),
    Case(
        "feed entries linking to loopback and metadata pages",
        "ingest",
        "skip",
        make=_writer(
            "teasers.rss",
            lambda: _rss(
                _item(1).replace("https://harbour.example/1", "{server}/admin")
                + _item(2).replace("https://harbour.example/2", "{server}/to-admin")
                + _item(3).replace("https://harbour.example/3", "http://169.254.169.254/")
            ),
        ),
        source={"fetch_full_text": True},
        match="3 read",
        untouched=("/admin", "/to-admin"),
    ),
    Case(
        "url sending a byte every half second",
        "ingest",
        "error",
        make=_writer("drip.url", lambda: ""),
        source={"location": "{server}/drip", "allow_private": True, "fetch_timeout": 2},
        match="timed out after 2 s",
    ),
    Case(
        "url redirecting to itself",
        "ingest",
        "error",
        make=_writer("loop.url", lambda: ""),
        source={"location": "{server}/loop", "allow_private": True},
        match="redirect",
    ),
    Case(
        "url redirecting to a file: URL",
        "ingest",
        "error",
        make=_writer("to-file.url", lambda: ""),
        source={"location": "{server}/to-file", "allow_private": True},
        absent=("root:x:0",),
    ),
    Case(
        "url gzip bomb",
        "ingest",
        "error",
        make=_writer("bomb.url", lambda: ""),
        source={"location": "{server}/gzip-bomb", "allow_private": True},
        match="limit",
    ),
    Case(
        "url declaring 10^12 bytes",
        "ingest",
        "error",
        make=_writer("huge.url", lambda: ""),
        source={"location": "{server}/huge-length", "allow_private": True},
        match="limit",
    ),
    Case(
        "url on loopback with allow_private",
        "ingest",
        "accept",
        make=_writer("ok.url", lambda: ""),
        source={"location": "{server}/feed.xml", "allow_private": True},
        match="1 read, 1 new",
    ),
    # --- the bounce mailbox: the hostile message, then a good one -------------------------
    Case(
        "mail header of 500 nested comments",
        "bounces",
        "accept",
        make=_writer("comments.eml", mail_samples.nested_comments),
        match=_unreadable("header comments nested more than 16 deep"),
    ),
    Case(
        "mail of 1,000 nested message/rfc822 parts",
        "bounces",
        "accept",
        make=_writer("rfc822.eml", mail_samples.nested_messages),
        match=_unreadable("MIME parts nested more than 16 deep"),
    ),
    Case(
        "mail of 1,000 nested multiparts",
        "bounces",
        "accept",
        make=_writer("multiparts.eml", mail_samples.nested_multiparts),
        match=_unreadable("MIME parts nested more than 16 deep"),
    ),
    Case(
        "mail of 100,000 parts in 3.8 MB",
        "bounces",
        "accept",
        make=_writer("parts.eml", mail_samples.many_parts),
        match=_unreadable("more than 500 MIME parts"),
    ),
    Case(
        "mail of 50 MB",
        "bounces",
        "accept",
        make=_writer("huge.eml", mail_samples.huge),
        match=_unreadable("larger than 10,000,000 bytes"),
    ),
    Case(
        "mail header field of 100 KB",
        "bounces",
        "accept",
        make=_writer("long-header.eml", mail_samples.long_header),
        match=_unreadable("a header field longer than 64,000 bytes"),
    ),
    Case(
        "mail with malformed headers",
        "bounces",
        "accept",
        # An unsubscribe request with a token that verifies for nobody: read, and left.
        make=_writer(
            "malformed.eml", lambda: mail_samples.malformed_headers("1.AAAAAAAAAAAAAAAAAAAAAAAA")
        ),
        match=r"2 read, 1 handled, 1 left: 0 hard and 0 soft bounces",
        absent=("unreadable", "WARNING"),
    ),
    Case(
        "mail not in UTF-8",
        "bounces",
        "accept",
        make=_writer("not-utf8.eml", lambda: mail_samples.not_utf8(FORGED_TOKEN)),
        match=r"2 read, 1 handled, 1 left: 0 hard and 0 soft bounces",
        absent=("unreadable", "WARNING"),
    ),
)


def case_ids() -> list[str]:
    return [c.name for c in CASES]
