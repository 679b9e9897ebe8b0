"""The subscriber's pages of ``digest serve``: sign-up with double opt-in, preferences.

``strings.py`` holds their words in each language (``newsletter.language``), ``pages.py``
the one small accessible page they share, ``signup.py`` and ``preferences.py`` the routes
that ``digest.web.app`` mounts.
"""
