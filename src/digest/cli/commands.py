"""Imports every command module so that each registers its commands on ``main``."""

from digest.cli import edition  # noqa: F401  (rank, edition)
from digest.cli import ingest  # noqa: F401  (ingest, read, articles)
from digest.cli import newsletter  # noqa: F401  (preview, archive)
from digest.cli import sending  # noqa: F401  (run, send-test, subscribers, serve)
from digest.cli import summaries  # noqa: F401  (summarize)
