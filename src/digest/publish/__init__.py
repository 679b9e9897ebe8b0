"""The publish stage group: an edition as the reader sees it.

    render.py     templates -> HTML (premailer, once per edition) and text, with slots
    trim.py       an edition over the mail's size limit cut to fit, least loss first
    blocks.py     each story block's language, direction and picture
    bidi.py       text direction: invisible controls out, each mixed part isolated
    i18n.py       the newsletter's language: message catalogs, CLDR dates, direction
    strings.py    the words of the sign-up and preferences pages and of the confirmation
                  mail, from the same catalogs
    messages.py   one ``OutgoingMessage`` per subscriber from the rendered edition
    signing.py    DKIM signatures, rsa-sha256 and ed25519-sha256 (RFC 8463)
    public.py     the mail as a public web page: its slots filled for no one in particular
    preview.py    the editor's preview: the mail with a panel, as a file or a local page
    desk.py       the served preview as the editor's desk: the actions as buttons
    archive.py    the public web archive of past editions

The signed links a message carries come from ``digest.signed``. Nothing here sends:
``digest.deliver`` takes the messages from here.
"""
