"""Imports every command module so that each registers its commands on ``main``."""

# One module per stage of the flow: ingest (ingest, read, articles), summaries
# (summarize), edition (rank, edition), newsletter (preview, archive), sending (run,
# send-test, subscribers, serve).
from digest.cli import edition, ingest, newsletter, sending, summaries

__all__ = ["edition", "ingest", "newsletter", "sending", "summaries"]
