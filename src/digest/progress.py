"""The one progress callback every long stage reports through.

``progress(stage, done, total, detail)``: ``stage`` names the stage ("ingest", "embed",
"summarize", "send", ...), ``done`` of ``total`` units are finished, ``detail`` says what
is in hand (a source's name, a count of events). The library never prints; the CLI turns
these calls into progress bars or lines.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress"]

Progress = Callable[[str, int, int, str], None]
