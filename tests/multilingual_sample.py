"""Editions in other languages for the newsletter tests: a German, an Urdu and a Chinese
edition, and a mixed one (stories in German, Urdu, Arabic, Chinese, Hindi, Japanese,
Portuguese and English, one of unknown language), with lead pictures. Invented news,
written for these tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from digest.models import (
    AlsoReported,
    Edition,
    EditionSection,
    Headline,
    KeyPoint,
    LeadImage,
    RelatedItem,
    Story,
    Summary,
)

DAY = date(2026, 11, 24)
WHEN = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
# Pictures as digest.publish.pictures copies them, under an https base_url.
PICTURES = "https://news.example.org/archive/pictures/"


def story(
    key: str,
    language: str | None,
    title: str,
    source: str,
    points: tuple[str, ...],
    conclusion: str,
    *,
    section: str = "World",
    dek: str | None = None,
    image: LeadImage | None = None,
    also: tuple[tuple[str, str], ...] = (),
    related: tuple[str, ...] = (),
) -> Story:
    return Story(
        article_id=key,
        title=title,
        url=f"https://news.example.org/{key}",
        source=source,
        section=section,
        summary=Summary(
            key_points=tuple(KeyPoint(p, (i,)) for i, p in enumerate(points)),
            conclusion=KeyPoint(conclusion, (len(points),)),
            method="extractive",
            model="all-MiniLM-L6-v2",
        ),
        score=0.8,
        published=WHEN,
        dek=dek,
        also_reported=tuple(
            AlsoReported(outlet, headline, f"https://other.example.org/{key}/{i}", f"{key}-{i}")
            for i, (outlet, headline) in enumerate(also)
        ),
        related=tuple(
            RelatedItem(t, f"https://news.example.org/{key}/rel{i}", WHEN, f"{key}-r{i}")
            for i, t in enumerate(related)
        ),
        language=language,
        image=image,
    )


GERMAN = story(
    "de-bahn",
    "de",
    "Bahn testet Nachtzüge zwischen Hamburg und Wien mit neuen Schlafwagen",
    "Norddeutsche Rundschau",
    (
        "Ab Dezember fahren die neuen Schlafwagen dreimal pro Woche über Nürnberg nach Wien.",
        "Die Fahrzeit soll elf Stunden betragen, eine Stunde weniger als bisher.",
        "Fahrgastverbände begrüßen das Angebot, kritisieren aber die hohen Preise für Abteile.",
    ),
    "Ob der Versuch zur festen Verbindung wird, entscheidet die Auslastung im ersten Winter.",
    section="Verkehr",
    dek="Der Versuch läuft zunächst bis zum Sommer",
    image=LeadImage(
        "https://news.example.org/archive/pictures/nachtzug.jpg",
        1200,
        675,
        "Ein Nachtzug im Bahnhof",
    ),
    also=(("Wiener Tagespost", "Nachtzug nach Hamburg"), ("Alpenblatt", "Neue Schlafwagen")),
    related=("Bahn bestellt 30 neue Schlafwagen",),
)
GERMAN_2 = story(
    "de-wetter",
    "de",
    "Erster Frost in Bayern: Straßendienste streuen schon im November",
    "Süddeutsche Wetterwarte",
    (
        "In der Nacht zum Dienstag sanken die Temperaturen im Allgäu auf minus neun Grad.",
        "Die Straßenmeistereien haben ihre Salzlager bereits zu vier Fünfteln gefüllt.",
    ),
    "Für das Wochenende erwarten die Meteorologen wieder mildere Luft.",
    section="Wetter",
)

URDU = story(
    "ur-barish",
    "ur",
    "لاہور میں شدید بارش کے بعد 40 سڑکیں بند، شہری پریشان",
    "BBC News اردو",
    (
        "محکمہ موسمیات کے مطابق صرف چھ گھنٹوں میں 120 ملی میٹر بارش ریکارڈ کی گئی۔",
        "ضلعی انتظامیہ نے نشیبی علاقوں سے 2,000 خاندانوں کو محفوظ مقامات پر منتقل کر دیا۔",
        "واسا کا کہنا ہے کہ پانی کی نکاسی کا کام رات بھر جاری رہے گا۔",
    ),
    "ماہرین کے مطابق شہر کے نکاسی آب کے نظام کو فوری طور پر بہتر بنانے کی ضرورت ہے۔",
    section="پاکستان",
    dek="محکمہ موسمیات نے مزید بارش کی پیش گوئی کی ہے",
    image=LeadImage(f"{PICTURES}lahore.jpg", 800, 450),
    also=(("Dawn", "Lahore rain"), ("جیو نیوز", "لاہور میں بارش")),
    related=("کراچی میں بھی بارش کا امکان", "Rain in Punjab: what we know"),
)
URDU_2 = story(
    "ur-cricket",
    "ur",
    "پاکستان نے تیسرا ون ڈے میچ 5 وکٹوں سے جیت لیا",
    "کھیل ڈاٹ کام",
    (
        "کپتان نے 87 رنز کی ناقابل شکست اننگز کھیلی۔",
        "سیریز اب دو دو سے برابر ہے اور فیصلہ کن میچ جمعے کو ہوگا۔",
    ),
    "شائقین کو امید ہے کہ ٹیم یہی کارکردگی آخری میچ میں بھی دکھائے گی۔",
    section="کھیل",
)

ARABIC = story(
    "ar-port",
    "ar",
    "افتتاح ميناء جديد في العقبة يختصر زمن الشحن إلى أوروبا",
    "صحيفة الخليج 24",
    (
        "يستوعب الميناء الجديد سفنًا بطول 400 متر ويعمل على مدار الساعة.",
        "قالت الهيئة إن زمن التفريغ سينخفض من ثلاثة أيام إلى يوم واحد.",
    ),
    "يتوقع الاقتصاديون أن يرفع المشروع حجم الصادرات خلال العام المقبل.",
    section="اقتصاد",
)

CHINESE = story(
    "zh-rail",
    "zh",
    "成都至重庆高铁新线开通，两地最快五十分钟可达",
    "西南日报",
    (
        "新线全长约二百九十公里，设计时速为三百五十公里。",
        "开通首日共有一百二十趟列车运行，车票在一小时内售罄。",
        "沿线城市计划在车站周边建设新的商业区。",
    ),
    "专家认为，新线将进一步拉近成渝两地的经济联系。",
    section="国内",
    dek="开通首日车票一小时内售罄",
    image=LeadImage(
        "https://news.example.org/archive/pictures/gaotie.jpg", 1600, 900, "高铁列车驶出车站"
    ),
    also=(("华西晚报", "成渝高铁开通"),),
    related=("成渝经济圈规划公布",),
)
CHINESE_2 = story(
    "zh-panda",
    "zh",
    "大熊猫“团团”在动物园迎来十岁生日",
    "城市晚报",
    ("饲养员为它准备了用冰块和竹笋做成的蛋糕。", "当天约有八千名游客前来观看。"),
    "动物园表示，将继续开展大熊猫保护科普活动。",
    section="社会",
)

HINDI = story(
    "hi-monsoon",
    "hi",
    "दिल्ली में नवंबर की सबसे ठंडी सुबह, तापमान 6 डिग्री",
    "राजधानी समाचार",
    ("मौसम विभाग ने अगले तीन दिन कोहरे की चेतावनी दी है।",),
    "डॉक्टरों ने बुजुर्गों को सुबह की सैर टालने की सलाह दी है।",
)
JAPANESE = story(
    "ja-sakura",
    "ja",
    "京都の紅葉、今週末が見ごろに",
    "関西新聞",
    ("嵐山では観光客が例年の二倍に増えている。",),
    "市は公共交通機関の利用を呼びかけている。",
)
PORTUGUESE = story(
    "pt-cafe",
    "pt-BR",
    "Exportações de café batem recorde em outubro, diz associação",
    "Jornal do Campo",
    ("O volume embarcado cresceu 18% em relação ao mesmo mês do ano passado.",),
    "Produtores esperam manter o ritmo até o fim da safra.",
)
UNKNOWN = story(
    "xx-mixed",
    None,
    "ایران اور یورپی یونین کے درمیان مذاکرات کا نیا دور",
    "Agency Wire",
    ("وزرائے خارجہ کی ملاقات جنیوا میں ہوگی۔",),
    "بات چیت کا ایجنڈا ابھی طے نہیں ہوا۔",
)


def edition_of(*stories: Story, more: tuple[Headline, ...] = ()) -> Edition:
    sections: dict[str, list[Story]] = {}
    for s in stories:
        sections.setdefault(s.section, []).append(s)
    return Edition(
        id=DAY.isoformat(),
        date=DAY,
        title="The Daily Digest",
        sections=tuple(EditionSection(name, tuple(group)) for name, group in sections.items()),
        more_news=more,
    )


def german_edition() -> Edition:
    more = (
        Headline("de-m1", "Hamburger Hafen meldet weniger Containerumschlag", "Hafenblatt",
                 "https://news.example.org/de-m1", "Wirtschaft", "de"),
        Headline("de-m2", "Neue Radwege in Leipzig eröffnet", "Leipziger Bote",
                 "https://news.example.org/de-m2", "Lokales", "de"),
    )  # fmt: skip
    return edition_of(GERMAN, GERMAN_2, more=more)


def urdu_edition() -> Edition:
    more = (
        Headline("ur-m1", "کراچی میں پانی کی قلت برقرار", "BBC News اردو",
                 "https://news.example.org/ur-m1", "پاکستان", "ur"),
        Headline("ur-m2", "Stock market closes higher", "Business Recorder",
                 "https://news.example.org/ur-m2", "کاروبار", "en"),
    )  # fmt: skip
    return edition_of(URDU, URDU_2, more=more)


def chinese_edition() -> Edition:
    more = (
        Headline("zh-m1", "上海地铁新增三条夜间线路", "申城快报",
                 "https://news.example.org/zh-m1", "国内", "zh"),
    )  # fmt: skip
    return edition_of(CHINESE, CHINESE_2, more=more)


def mixed_edition() -> Edition:
    return edition_of(GERMAN, URDU, ARABIC, CHINESE, HINDI, JAPANESE, PORTUGUESE, UNKNOWN)
