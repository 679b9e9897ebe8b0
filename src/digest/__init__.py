"""digest: an automated briefing summarizer and newsletter sender."""

from digest.config import Config, load_config
from digest.errors import (
    ConfigError,
    DeliveryError,
    DigestError,
    EditionError,
    ModelError,
    RenderError,
    SourceError,
    StoreError,
    SummaryError,
)
from digest.models import Article, Edition, KeyPoint, Story, Subscriber, Summary

__all__ = [
    "Article",
    "Config",
    "ConfigError",
    "DeliveryError",
    "DigestError",
    "Edition",
    "EditionError",
    "KeyPoint",
    "ModelError",
    "RenderError",
    "SourceError",
    "StoreError",
    "Story",
    "Subscriber",
    "Summary",
    "SummaryError",
    "load_config",
]
