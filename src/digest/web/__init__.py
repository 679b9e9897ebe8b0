"""Every page ``digest serve`` answers: one-click unsubscribe, the archive, sign-up with
double opt-in, preferences.

    app.py          the Starlette app: one-click unsubscribe (RFC 8058), the archive, the
                    security headers on every response, and the routes below
    signup.py       sign-up: ``/subscribe`` and ``/subscribe/confirm/<token>``
    preferences.py  the preferences page behind every message's signed link,
                    ``/p/<token>``
    pages.py        the one small accessible page the subscriber's routes share

Their words come from ``digest.publish.strings`` (``newsletter.language``), their signed
links from ``digest.signed``. The web is a shell over the pipeline: nothing below imports it.
"""
