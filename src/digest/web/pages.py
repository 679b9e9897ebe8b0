"""The one page the subscriber's routes share: small, accessible, no script, no outside
resource (nothing is loaded from anywhere: no fonts, no analytics, no tracking)."""

from __future__ import annotations

import html

from starlette.responses import HTMLResponse

from digest.publish.i18n import localizer

__all__ = ["MAX_FORM_BYTES", "page"]

MAX_FORM_BYTES = 8_192  # a sign-up or preferences form is a few hundred bytes

_PAGE = """<!doctype html>
<html lang="{lang}" dir="{dir}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>
body {{ font: 18px/1.5 system-ui, sans-serif; max-width: 34rem; margin: 3rem auto;
       padding: 0 1rem; color: #1a1a1a; background: #fff; }}
label {{ display: block; font-weight: 600; margin-top: 1rem; }}
input[type=email], input[type=text] {{ font: inherit; width: 100%; box-sizing: border-box;
       padding: .5rem; border: 2px solid #555; border-radius: .3rem; }}
fieldset {{ border: 0; padding: 0; margin: 1rem 0 0; }}
legend {{ font-weight: 600; }}
.hint, .small {{ color: #444; font-size: .9rem; margin: .25rem 0 0; }}
.error {{ color: #a00000; font-weight: 600; }}
button {{ font: inherit; margin-top: 1rem; padding: .6rem 1.2rem; border: 0;
         border-radius: .3rem; background: #1a1a1a; color: #fff; cursor: pointer; }}
:focus-visible {{ outline: 3px solid #1d5fd6; outline-offset: 2px; }}
.trap {{ position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden; }}
@media (prefers-color-scheme: dark) {{ body {{ background: #111; color: #eee; }}
  .hint, .small {{ color: #bbb; }} .error {{ color: #ff8080; }}
  input[type=email], input[type=text] {{ background: #222; color: #eee; border-color: #aaa; }}
  button {{ background: #eee; color: #111; }} }}
</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>
"""


def page(
    language: str, title: str, body: str, status: int = 200, direction: str = "auto"
) -> HTMLResponse:
    """A page in ``language`` (``newsletter.language``), its direction the newsletter's
    (``newsletter.direction``; ``auto``: the locale's, ``rtl`` for Arabic and Urdu);
    ``body`` is HTML the caller escaped."""
    loc = localizer(language, direction)
    return HTMLResponse(
        _PAGE.format(
            lang=html.escape(loc.tag, quote=True),
            dir=loc.direction,
            title=html.escape(title),
            body=body,
        ),
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline';"
            " form-action 'self'; frame-ancestors 'none'",
        },
    )
