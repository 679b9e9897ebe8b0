"""Every page digest serves, on Starlette, rendered from the Jinja templates of
``templates/`` (package resources, autoescaped).

- ``app.py``          ``digest serve``: the app, its routes and security headers, the archive
- ``unsubscribe.py``  one-click unsubscribe (RFC 8058): ``/u/<token>``
- ``signup.py``       sign-up with double opt-in: ``/subscribe``, its rate limits and mail queue
- ``preferences.py``  the preferences page of every message's footer: ``/p/<token>``
- ``desk.py``         ``digest preview --serve``: the editor's desk, its forms and protections
- ``pages.py``        the templates, and the responses made of them (language, direction)
- ``forms.py``        reading a form's body under bounds (size, time, fields)
- ``links.py``        the subscriber a signed link names (unsubscribe, preferences)
- ``serving.py``      running an app with uvicorn on a socket opened first

Their words come from ``digest.publish.strings`` (``newsletter.language``), their signed
links from ``digest.signed``. The web is a shell over the pipeline: nothing below imports it.
"""
