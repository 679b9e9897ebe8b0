"""The words of the pages ``digest serve`` shows a subscriber (sign-up, preferences,
one-click unsubscribe, the archive's answers) and of the confirmation mail.

They are gettext messages of the package's catalogs (``digest/locale``, extracted by
``tools/messages.py`` with the newsletter's own), so the pages and the mail speak
``newsletter.language`` as the newsletter does, through the same ``Localizer``: a
language without a catalog falls back as the newsletter's does (``pt-BR`` to ``pt``, else
English). ``MESSAGES`` names each by a key; placeholders are ``%(title)s``,
``%(email)s``, ``%(hours)s``, ``%(link)s``, ``%(reason)s``, ``%(topics)s`` and
``%(source)s``.
"""

from __future__ import annotations

from digest.publish.i18n import N_, localizer

__all__ = ["MESSAGES", "text"]

MESSAGES: dict[str, str] = {
    "subscribe_title": N_("Subscribe to %(title)s"),
    "email_label": N_("Email address"),
    "topics_label": N_("Topics (optional)"),
    "topics_hint": N_("Comma-separated, such as: climate, space. Stories on these come first."),
    "subscribe_button": N_("Subscribe"),
    "privacy": N_(
        "We first send you a mail with a confirmation link; nothing is sent before you "
        "confirm. No tracking: no open or click tracking, no tracking pixels, no "
        "redirected links. Your address is used only to send this newsletter, and every "
        "issue has a one-click unsubscribe link."
    ),
    "check_title": N_("Check your inbox"),
    "check_body": N_(
        "If %(email)s can receive %(title)s, a confirmation link is on its way. It "
        "works for %(hours)s hours."
    ),
    "invalid_email": N_("That does not look like an email address: %(reason)s"),
    "too_many": N_("Too many requests from your network. Please try again later."),
    "confirm_title": N_("Confirm your subscription"),
    "confirm_body": N_("Subscribe %(email)s to %(title)s?"),
    "confirm_button": N_("Confirm"),
    "confirm_topics": N_("Topics: %(topics)s"),
    "confirm_all_topics": N_("Topics: all"),
    "confirm_source": N_("Asked for on: %(source)s"),
    "confirmed_title": N_("You are subscribed"),
    "confirmed_body": N_("%(email)s will receive %(title)s."),
    "bad_link_title": N_("This link does not work"),
    "bad_link_body": N_("The link is not valid or has expired. You can sign up again."),
    "bad_request": N_("Bad request."),
    "mail_subject": N_("Confirm your subscription to %(title)s"),
    "mail_body": N_(
        "Someone, hopefully you, asked to subscribe %(email)s to %(title)s.\n\nTo "
        "confirm, open this link and press the button:\n\n%(link)s\n\nThe link works "
        "for %(hours)s hours. If it was not you, ignore this mail: nothing is sent "
        "without a confirmation.\n"
    ),
    "prefs_title": N_("Your subscription to %(title)s"),
    "prefs_for": N_("Preferences of %(email)s"),
    "frequency_label": N_("How often"),
    "daily": N_("Every day"),
    "weekly": N_("Once a week: the week's top stories"),
    "save_button": N_("Save"),
    "saved": N_("Saved."),
    "leave_title": N_("Or leave"),
    "unsubscribe_button": N_("Unsubscribe"),
    "unsubscribed": N_("Done: %(email)s will no longer receive %(title)s."),
    # One-click unsubscribe (RFC 8058) and the archive's own answers.
    "invalid_link_title": N_("Invalid link"),
    "invalid_link_body": N_("This unsubscribe link is not valid."),
    "unsubscribed_title": N_("Unsubscribed"),
    "no_longer_body": N_("You no longer receive %(title)s."),
    "stop_sending": N_("Stop sending %(title)s to %(email)s?"),
    "nothing_changed_title": N_("Nothing changed"),
    "nothing_changed_body": N_(
        "This request did not ask to unsubscribe: open the link and use the Unsubscribe button."
    ),
    "archive_title": N_("%(title)s: archive"),
    "no_editions": N_("No editions yet."),
    "not_found_title": N_("Not found"),
    "not_found_body": N_("There is no such page in the archive."),
}


def text(language: str, key: str, direction: str = "auto", **values: object) -> str:
    """The message ``key`` in ``language`` (``newsletter.language``), filled in."""
    return localizer(language, direction).gettext(MESSAGES[key], **values)
