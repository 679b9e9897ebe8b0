"""digest: an automated briefing summarizer and newsletter sender.

The public face: the pipeline's entry points (one per stage group, see
``digest.pipeline``), the values passed between stages, and the error tree.
"""

from digest.config import Config, load_config
from digest.errors import (
    ConfigError,
    DeliveryError,
    DigestError,
    EditionError,
    ErrorBudgetExceeded,
    LockError,
    MessageRefused,
    ModelError,
    RelayRefusesEveryone,
    RenderError,
    SourceError,
    StoreError,
    SubscriberError,
    SummaryError,
)
from digest.models import (
    Article,
    Edition,
    KeyPoint,
    OutgoingMessage,
    RenderedEdition,
    Story,
    Subscriber,
    Summary,
)
from digest.pipeline import build_edition, ingest, open_store, rank_candidates, run_daily, send_test

__all__ = [
    "Article",
    "Config",
    "ConfigError",
    "DeliveryError",
    "DigestError",
    "Edition",
    "EditionError",
    "ErrorBudgetExceeded",
    "KeyPoint",
    "LockError",
    "MessageRefused",
    "ModelError",
    "OutgoingMessage",
    "RelayRefusesEveryone",
    "RenderError",
    "RenderedEdition",
    "SourceError",
    "StoreError",
    "Story",
    "Subscriber",
    "SubscriberError",
    "Summary",
    "SummaryError",
    "build_edition",
    "ingest",
    "load_config",
    "open_store",
    "rank_candidates",
    "run_daily",
    "send_test",
]
