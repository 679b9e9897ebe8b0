"""The newsletter's message catalogs: extract the messages, check every translation.

The templates (``src/digest/templates/*.j2``), the publishing code
(``src/digest/publish/*.py``) and the subscriber's pages (``src/digest/web/*.py``) mark
their fixed strings with ``_()``, ``gettext()`` and ``ngettext()`` (``N_()`` marks one
translated later, by value). This script extracts them
with Babel (Jinja2's extractor for templates) into ``src/digest/locale/digest.pot``, and
checks that each shipped catalog (``src/digest/locale/<lang>/LC_MESSAGES/digest.po``)
translates every one of them, with the same placeholders and every plural form its
language has, and nothing obsolete.

    python tools/messages.py           # write digest.pot, then check the catalogs
    python tools/messages.py --check   # only check (tests/test_i18n.py runs this)

To add a language: copy a catalog to ``src/digest/locale/<lang>/LC_MESSAGES/digest.po``,
set its ``Language`` and ``Plural-Forms`` headers, translate every ``msgstr``, run this.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_python
from babel.messages.pofile import read_po, write_po
from jinja2.ext import babel_extract

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "digest"
LOCALE = PACKAGE / "locale"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
# The templates' Environment options that change how they parse.
JINJA_OPTIONS = {"trim_blocks": "true", "lstrip_blocks": "true"}

__all__ = ["check_catalogs", "extract", "main"]

Message = tuple[str, str | tuple[str, ...], str]  # (location, message id(s), comments)


def _sources() -> Iterator[tuple[Path, str]]:
    for path in sorted((PACKAGE / "templates").glob("*.j2")):
        yield path, "jinja2"
    for path in sorted((PACKAGE / "publish").glob("*.py")):
        yield path, "python"
    # The sign-up and preferences pages and the confirmation mail (publish/strings.py).
    for path in sorted((PACKAGE / "web").glob("*.py")):
        yield path, "python"


def extract() -> Catalog:
    """Every marked message of the templates and the publishing code."""
    catalog = Catalog(project="digest", domain="digest", charset="utf-8")
    for path, kind in _sources():
        with path.open("rb") as file:
            if kind == "jinja2":
                found = babel_extract(file, list(KEYWORDS), [], JINJA_OPTIONS)
            else:
                found = extract_python(file, list(KEYWORDS), [], {})
            for lineno, funcname, message, comments in found:
                if funcname not in KEYWORDS:
                    continue
                if isinstance(message, tuple | list):
                    strings = tuple(m for m in message if m is not None)
                    msgid: str | tuple[str, ...] = strings[0] if len(strings) == 1 else strings
                else:
                    msgid = message
                if not msgid:
                    continue
                where = (str(path.relative_to(ROOT)), lineno)
                catalog.add(msgid, locations=[where], auto_comments=comments)
    return catalog


def check_catalogs(template: Catalog) -> list[str]:
    """What is wrong with the shipped catalogs against ``template`` (empty: nothing)."""
    problems: list[str] = []
    wanted = {m.id if isinstance(m.id, str) else m.id[0]: m for m in template if m.id}
    for po in sorted(LOCALE.glob("*/LC_MESSAGES/digest.po")):
        language = po.parent.parent.name
        with po.open("rb") as file:
            catalog = read_po(file, locale=language)
        have = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
        for key in sorted(set(wanted) - set(have)):
            problems.append(f"{language}: missing {key!r}")
        for key in sorted(set(have) - set(wanted)):
            problems.append(f"{language}: obsolete {key!r}")
        for key, message in have.items():
            if message.fuzzy:
                problems.append(f"{language}: fuzzy {key!r}")
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if isinstance(message.id, tuple) and len(strings) != catalog.num_plurals:
                problems.append(f"{language}: {key!r} has {len(strings)} plural forms, not"
                                f" {catalog.num_plurals}")  # fmt: skip
            if not all(strings):
                problems.append(f"{language}: untranslated {key!r}")
            if key in wanted and isinstance(message.id, tuple) != isinstance(wanted[key].id, tuple):
                problems.append(f"{language}: {key!r} singular/plural differs from the source")
        for message, errors in catalog.check():
            for error in errors:
                problems.append(f"{language}: {message.id!r}: {error}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check the catalogs")
    args = parser.parse_args(argv)
    template = extract()
    if not args.check:
        with (LOCALE / "digest.pot").open("wb") as file:
            write_po(file, template, omit_header=False, sort_output=True, width=100)
        print(f"{len(template)} messages written to {LOCALE / 'digest.pot'}")
    problems = check_catalogs(template)
    for problem in problems:
        print(problem)
    languages = sorted(p.parent.parent.name for p in LOCALE.glob("*/LC_MESSAGES/digest.po"))
    print(f"catalogs: {', '.join(languages)}; {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
