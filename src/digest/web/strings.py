"""The words of the sign-up and preferences pages and of the confirmation mail, per
language (``newsletter.language``; a language not here falls back to English, a key
missing from a language too). Placeholders: ``{title}``, ``{email}``, ``{hours}``,
``{link}``."""

from __future__ import annotations

__all__ = ["RTL", "STRINGS", "text"]

RTL = frozenset({"ar", "fa", "he", "ur"})

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "subscribe_title": "Subscribe to {title}",
        "email_label": "Email address",
        "topics_label": "Topics (optional)",
        "topics_hint": "Comma-separated, such as: climate, space. Stories on these come first.",
        "subscribe_button": "Subscribe",
        "privacy": (
            "We first send you a mail with a confirmation link; nothing is sent before you"
            " confirm. No tracking: no open or click tracking, no tracking pixels, no"
            " redirected links. Your address is used only to send this newsletter, and every"
            " issue has a one-click unsubscribe link."
        ),
        "check_title": "Check your inbox",
        "check_body": (
            "If {email} can receive {title}, a confirmation link is on its way. It works"
            " for {hours} hours."
        ),
        "invalid_email": "That does not look like an email address: {reason}",
        "too_many": "Too many requests from your network. Please try again later.",
        "confirm_title": "Confirm your subscription",
        "confirm_body": "Subscribe {email} to {title}?",
        "confirm_button": "Confirm",
        "confirmed_title": "You are subscribed",
        "confirmed_body": "{email} will receive {title}.",
        "bad_link_title": "This link does not work",
        "bad_link_body": "The link is not valid or has expired. You can sign up again.",
        "mail_subject": "Confirm your subscription to {title}",
        "mail_body": (
            "Someone, hopefully you, asked to subscribe {email} to {title}.\n\n"
            "To confirm, open this link and press the button:\n\n{link}\n\n"
            "The link works for {hours} hours. If it was not you, ignore this mail:"
            " nothing is sent without a confirmation.\n"
        ),
        "prefs_title": "Your subscription to {title}",
        "prefs_for": "Preferences of {email}",
        "frequency_label": "How often",
        "daily": "Every day",
        "weekly": "Once a week: the week's top stories",
        "save_button": "Save",
        "saved": "Saved.",
        "leave_title": "Or leave",
        "unsubscribe_button": "Unsubscribe",
        "unsubscribed": "Done: {email} will no longer receive {title}.",
    },
    "de": {
        "subscribe_title": "{title} abonnieren",
        "email_label": "E-Mail-Adresse",
        "topics_label": "Themen (freiwillig)",
        "topics_hint": "Durch Kommas getrennt, etwa: Klima, Raumfahrt. Diese kommen zuerst.",
        "subscribe_button": "Abonnieren",
        "privacy": (
            "Sie bekommen zuerst eine E-Mail mit einem Bestätigungslink; vorher senden wir"
            " nichts. Kein Tracking: keine Öffnungs- oder Klickmessung, keine Zählpixel,"
            " keine umgeleiteten Links. Ihre Adresse dient nur dem Versand dieses"
            " Newsletters, und jede Ausgabe lässt sich mit einem Klick abbestellen."
        ),
        "check_title": "Sehen Sie in Ihr Postfach",
        "check_body": (
            "Wenn {email} {title} empfangen kann, ist ein Bestätigungslink unterwegs. Er"
            " gilt {hours} Stunden."
        ),
        "invalid_email": "Das sieht nicht nach einer E-Mail-Adresse aus: {reason}",
        "too_many": "Zu viele Anfragen aus Ihrem Netz. Bitte versuchen Sie es später.",
        "confirm_title": "Abonnement bestätigen",
        "confirm_body": "{email} für {title} eintragen?",
        "confirm_button": "Bestätigen",
        "confirmed_title": "Sie sind eingetragen",
        "confirmed_body": "{email} bekommt ab jetzt {title}.",
        "bad_link_title": "Dieser Link funktioniert nicht",
        "bad_link_body": "Der Link ist ungültig oder abgelaufen. Sie können sich neu anmelden.",
        "mail_subject": "Bitte bestätigen Sie Ihr Abonnement von {title}",
        "mail_body": (
            "Jemand, hoffentlich Sie, möchte {email} für {title} eintragen.\n\n"
            "Zum Bestätigen öffnen Sie diesen Link und drücken Sie den Knopf:\n\n{link}\n\n"
            "Der Link gilt {hours} Stunden. Waren Sie es nicht, ignorieren Sie diese"
            " E-Mail: ohne Bestätigung wird nichts versandt.\n"
        ),
        "prefs_title": "Ihr Abonnement von {title}",
        "prefs_for": "Einstellungen für {email}",
        "frequency_label": "Wie oft",
        "daily": "Jeden Tag",
        "weekly": "Einmal pro Woche: das Wichtigste der Woche",
        "save_button": "Speichern",
        "saved": "Gespeichert.",
        "leave_title": "Oder abbestellen",
        "unsubscribe_button": "Abbestellen",
        "unsubscribed": "Erledigt: {email} bekommt {title} nicht mehr.",
    },
    "fr": {
        "subscribe_title": "S’abonner à {title}",
        "email_label": "Adresse e-mail",
        "topics_label": "Sujets (facultatif)",
        "topics_hint": "Séparés par des virgules, par exemple : climat, espace.",
        "subscribe_button": "S’abonner",
        "privacy": (
            "Nous vous envoyons d’abord un lien de confirmation ; rien n’est envoyé avant."
            " Aucun pistage : ni mesure d’ouverture ou de clic, ni pixel espion, ni lien"
            " redirigé. Votre adresse ne sert qu’à l’envoi de cette lettre, et chaque numéro"
            " contient un lien de désabonnement en un clic."
        ),
        "check_title": "Consultez votre boîte de réception",
        "check_body": (
            "Si {email} peut recevoir {title}, un lien de confirmation est en route. Il est"
            " valable {hours} heures."
        ),
        "invalid_email": "Cela ne ressemble pas à une adresse e-mail : {reason}",
        "too_many": "Trop de demandes depuis votre réseau. Réessayez plus tard.",
        "confirm_title": "Confirmez votre abonnement",
        "confirm_body": "Abonner {email} à {title} ?",
        "confirm_button": "Confirmer",
        "confirmed_title": "Vous êtes abonné·e",
        "confirmed_body": "{email} recevra {title}.",
        "bad_link_title": "Ce lien ne fonctionne pas",
        "bad_link_body": "Le lien n’est pas valide ou a expiré. Vous pouvez vous réinscrire.",
        "mail_subject": "Confirmez votre abonnement à {title}",
        "mail_body": (
            "Quelqu’un, vous sans doute, a demandé à abonner {email} à {title}.\n\n"
            "Pour confirmer, ouvrez ce lien et appuyez sur le bouton :\n\n{link}\n\n"
            "Le lien est valable {hours} heures. Si ce n’était pas vous, ignorez ce"
            " message : rien n’est envoyé sans confirmation.\n"
        ),
    },
    "ar": {
        "subscribe_title": "الاشتراك في {title}",
        "email_label": "عنوان البريد الإلكتروني",
        "topics_label": "المواضيع (اختياري)",
        "topics_hint": "افصل بينها بفواصل، مثل: المناخ، الفضاء.",
        "subscribe_button": "اشترك",
        "privacy": (
            "نرسل إليك أولاً رسالة فيها رابط للتأكيد، ولا نرسل شيئاً قبل أن تؤكد. لا تتبع:"
            " لا نقيس فتح الرسائل ولا النقر على الروابط. نستخدم عنوانك لإرسال هذه النشرة فقط،"
            " وفي كل عدد رابط لإلغاء الاشتراك بنقرة واحدة."
        ),
        "check_title": "تحقق من بريدك الوارد",
        "check_body": (
            "إذا كان {email} يستقبل {title} فإن رابط التأكيد في طريقه إليك، وهو صالح {hours} ساعة."
        ),
        "invalid_email": "هذا لا يبدو عنوان بريد إلكتروني: {reason}",
        "too_many": "طلبات كثيرة من شبكتك. حاول مرة أخرى لاحقاً.",
        "confirm_title": "أكد اشتراكك",
        "confirm_body": "هل تريد اشتراك {email} في {title}؟",
        "confirm_button": "تأكيد",
        "confirmed_title": "تم اشتراكك",
        "confirmed_body": "سيصل {title} إلى {email}.",
        "bad_link_title": "هذا الرابط لا يعمل",
        "bad_link_body": "الرابط غير صالح أو انتهت مدته. يمكنك الاشتراك من جديد.",
        "mail_subject": "أكد اشتراكك في {title}",
        "mail_body": (
            "طلب أحدهم، ونرجو أن تكون أنت، اشتراك {email} في {title}.\n\n"
            "للتأكيد افتح هذا الرابط واضغط الزر:\n\n{link}\n\n"
            "الرابط صالح {hours} ساعة. إن لم تكن أنت فتجاهل هذه الرسالة، فلن يُرسل شيء دون تأكيد.\n"
        ),
    },
    "es": {
        "subscribe_title": "Suscribirse a {title}",
        "email_label": "Correo electrónico",
        "topics_label": "Temas (opcional)",
        "topics_hint": "Separados por comas, por ejemplo: clima, espacio. Estos van primero.",
        "subscribe_button": "Suscribirse",
        "privacy": (
            "Primero le enviamos un enlace de confirmación; antes no enviamos nada. Sin"
            " seguimiento: no medimos aperturas ni clics, sin píxeles espía ni enlaces"
            " redirigidos. Su dirección solo sirve para enviar este boletín, y cada número"
            " trae un enlace para darse de baja con un clic."
        ),
        "check_title": "Revise su bandeja de entrada",
        "check_body": (
            "Si {email} puede recibir {title}, va en camino un enlace de confirmación."
            " Vale durante {hours} horas."
        ),
        "invalid_email": "Eso no parece una dirección de correo: {reason}",
        "too_many": "Demasiadas solicitudes desde su red. Inténtelo más tarde.",
        "confirm_title": "Confirme su suscripción",
        "confirm_body": "¿Suscribir {email} a {title}?",
        "confirm_button": "Confirmar",
        "confirmed_title": "Ya está suscrito",
        "confirmed_body": "{email} recibirá {title}.",
        "bad_link_title": "Este enlace no funciona",
        "bad_link_body": "El enlace no es válido o ha caducado. Puede suscribirse de nuevo.",
        "mail_subject": "Confirme su suscripción a {title}",
        "mail_body": (
            "Alguien, seguramente usted, pidió suscribir {email} a {title}.\n\n"
            "Para confirmar, abra este enlace y pulse el botón:\n\n{link}\n\n"
            "El enlace vale durante {hours} horas. Si no fue usted, ignore este correo:"
            " sin confirmación no se envía nada.\n"
        ),
    },
    "zh": {
        "subscribe_title": "订阅{title}",
        "email_label": "电子邮件地址",
        "topics_label": "主题（可选）",
        "topics_hint": "用逗号分隔，例如：气候, 太空。这些主题的报道排在前面。",
        "subscribe_button": "订阅",
        "privacy": (
            "我们先给您发送一封带确认链接的邮件，确认之前不发送任何内容。不做追踪：不统计打开"
            "或点击，没有追踪像素，也没有跳转链接。您的地址只用于发送本通讯，每期都附有一键退订链接。"
        ),
        "check_title": "请查看您的收件箱",
        "check_body": "如果 {email} 能接收{title}，确认链接已在路上，{hours} 小时内有效。",
        "invalid_email": "这看起来不是电子邮件地址：{reason}",
        "too_many": "来自您网络的请求过多，请稍后再试。",
        "confirm_title": "确认订阅",
        "confirm_body": "为 {email} 订阅{title}？",
        "confirm_button": "确认",
        "confirmed_title": "订阅成功",
        "confirmed_body": "{email} 将收到{title}。",
        "bad_link_title": "此链接无效",
        "bad_link_body": "链接无效或已过期。您可以重新订阅。",
        "mail_subject": "请确认订阅{title}",
        "mail_body": (
            "有人（希望是您）请求为 {email} 订阅{title}。\n\n"
            "确认请打开此链接并点击按钮：\n\n{link}\n\n"
            "链接 {hours} 小时内有效。如果不是您本人，请忽略此邮件：未经确认不会发送任何内容。\n"
        ),
    },
}


def text(language: str, key: str, **values: object) -> str:
    """The string ``key`` in ``language`` (its base language, then English), filled in."""
    base = language.lower().split("-")[0].split("_")[0]
    table = STRINGS.get(base, STRINGS["en"])
    template = table.get(key, STRINGS["en"][key])
    return template.format(**values)
