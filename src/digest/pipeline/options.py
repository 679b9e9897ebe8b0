"""What each stage is handed of the one ``Config``: the stages below ``pipeline`` never
see it whole.

    open_store             the configured store (``store``, ``store_password_env``)
    edition_settings       ``EditionSettings`` for ``digest.edition``
    page_settings          ``PageSettings`` for the preview and the archive (``publish``)
    configured_encoder     the encoder ``encoder:`` configures
    configured_summarizer  the configured summariser, with that encoder
"""

from __future__ import annotations

from digest.config import Config
from digest.edition.settings import EditionSettings
from digest.embed import Encoder, VectorCache, get_encoder
from digest.publish.public import PageSettings
from digest.store import Database, open_location
from digest.summarize import BatchSummarizer, make_summarizer

__all__ = [
    "configured_encoder",
    "configured_summarizer",
    "edition_settings",
    "open_store",
    "page_settings",
]


def open_store(config: Config) -> Database:
    """The configured store (``config.store_path``), created and migrated when needed."""
    return open_location(config.store_path, config.store_password_env)


def edition_settings(config: Config) -> EditionSettings:
    return EditionSettings(
        edition=config.edition,
        rank=config.rank,
        encoder=config.encoder,
        topics=config.topics,
        sources=config.sources,
        timezone=config.timezone,
        title=config.newsletter.title,
    )


def page_settings(config: Config) -> PageSettings:
    return PageSettings(config.newsletter, base_dir=config.base_dir, timezone=config.timezone)


def configured_encoder(config: Config) -> Encoder:
    """The encoder ``encoder:`` configures (one per process and options)."""
    return get_encoder(config.encoder)


def configured_summarizer(config: Config, vectors: VectorCache | None = None) -> BatchSummarizer:
    """The summariser ``summarizer.backend`` names, with the configured encoder."""
    return make_summarizer(
        config.summarizer, configured_encoder(config), vectors=vectors, base_dir=config.base_dir
    )
