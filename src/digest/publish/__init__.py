"""The publish stage group: an edition as the reader sees it.

    render.py    templates -> HTML (premailer, once per edition) and text, with slots
    messages.py  one ``OutgoingMessage`` per subscriber from the rendered edition
    tokens.py    signed unsubscribe tokens and the secret that signs them
    preview.py   the editor's preview: the mail with a panel (served by ``digest.web.desk``)
    archive.py   the public web archive of past editions

Nothing here sends: ``digest.deliver`` takes the messages from here.
"""
