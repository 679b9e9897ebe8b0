"""The publish stage group: an edition as the reader sees it.

    render.py    templates -> HTML (premailer, once per edition) and text, with slots
    blocks.py    each story's block: its language, direction and picture
    bidi.py      text direction: invisible controls out, each mixed part isolated
    i18n.py      the newsletter's language: message catalogs, CLDR dates
    trim.py      an edition fitted under the mail's HTML size limit, least loss first
    messages.py  one ``OutgoingMessage`` per subscriber from the rendered edition
    signing.py   DKIM signatures (rsa-sha256, ed25519-sha256)
    public.py    the mail as a public web page, its slots filled for no one
    preview.py   the editor's preview: the mail with a panel (served by ``digest.web.desk``)
    archive.py   the writer of the public web archive of past editions (handed its editions)
    pictures.py  story pictures copied once, re-encoded without metadata, served by us
    strings.py   the words of the sign-up and preferences pages and the confirmation mail

The signed links a message carries come from ``digest.signed``. Nothing here sends:
``digest.deliver`` takes the messages from here.
"""
