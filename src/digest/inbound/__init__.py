"""Inbound mail: what comes back to the bounce and unsubscribe addresses, read under bounds.

    mailbox.py   the mailboxes ``digest bounces`` reads: a Maildir, or an IMAP folder
    bounces.py   what one message says: a bounce (RFC 3464 DSN and older formats), a
                 complaint (RFC 5965 ARF) or an unsubscribe mail, and whom it names
    shape.py     the bounds one message is read under, checked line by line before the
                 email package parses it (nesting, parts, header length, bytes, time)

Parsing only: ``digest.pipeline.bounces`` decides what to do with a report.
"""
