"""What the edition stage reads of the configuration: ``EditionSettings``, one frozen value.

The stage never sees the whole ``Config``: ``digest.pipeline.options.edition_settings``
cuts this from it, and a test or a benchmark builds one by hand (every field has the
default of the shipped configuration).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from digest.config import (
    EditionOptions,
    EncoderOptions,
    NewsletterOptions,
    RankOptions,
    SourceOptions,
)

__all__ = ["EditionSettings"]


@dataclass(frozen=True)
class EditionSettings:
    """The edition's options and the few values it needs from elsewhere in the config."""

    edition: EditionOptions = field(default_factory=EditionOptions)
    rank: RankOptions = field(default_factory=RankOptions)
    encoder: EncoderOptions = field(default_factory=EncoderOptions)
    topics: tuple[str, ...] = ()
    # The configured sources: their weights (rank) and categories (sections).
    sources: tuple[SourceOptions, ...] = ()
    timezone: str = "UTC"  # the edition's day ends at midnight here
    title: str = NewsletterOptions.title  # the newsletter's, which the edition's title starts with

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
