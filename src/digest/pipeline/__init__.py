"""The stages wired once: the daily job, the editor's edition, the batch summaries.

The flow, one stage per module:

1. ingest     (``sources``)          read every configured source into ``Article`` values
2. store      (``store``)            keep them, de-duplicated, in SQLite
3. rank       (``edition.rank``,     score the day's candidates, cluster same-event
               ``edition.cluster``)  articles
4. summarize  (``summarize``)        key points and a conclusion per story
5. related    (``edition.related``)  related stories for each story
6. edition    (``edition.select``)   the dated edition, saved so that a re-run gives the
                                     same one
7. render     (``publish``)          HTML (premailer, once) and text, with slots
8. deliver    (``deliver``)          one message per subscriber, through the ledger

Each entry point runs one or more stages and reports progress through an optional
``digest.progress.Progress`` callback; none of them prints.

    ingest.py    stages 1-2: ``ingest``, ``ingest_source``
    build.py     stages 3-6: ``rank_candidates``, ``build_edition``, ``load_edition``
    daily.py     the daily job, one orchestrator under the job lock (``run_job``), its
                 ``Stages`` run here (``run_daily``, ``LocalStages``) or on workers
                 (``digest.distributed``); ``RunReport``, ``send_test``
    send.py      stage 8 from this process: ``send_rendered``, ``send_weekly`` (the
                 weekly recap), the configured transport of a batch (``transports``)
    days.py      which day a command means without ``--date``
    personal.py  personal editions: one variant (and one render) per subscribers' topic set
    desk.py      the editor's desk over the store: actions on the draft, the approval and
                 send-time gate
    act.py       one editor's action (``digest edition drop|pin|...``), checked, recorded
                 and applied to the saved edition
    signup.py    double opt-in: a sign-up request, its confirmation mail, the confirmation
    bounces.py   ``digest bounces``: acting on the bounces, complaints and unsubscribe mail
                 that ``digest.inbound`` reads
    batch.py     summaries of a location or a JSONL file, outside any edition
    archive.py   the editions the archive shows, handed to ``publish.archive``
    options.py   what each stage is handed of the ``Config``, and the configured store
    sources.py   ``digest sources``: each source's health and alarms, OPML import and export
"""

from digest.pipeline.build import (
    Candidates,
    LoadedEdition,
    SummarizeMany,
    build_edition,
    load_edition,
    rank_candidates,
    related_stories,
    store_summarizer,
)
from digest.pipeline.daily import RunReport, run_daily, send_test
from digest.pipeline.ingest import IngestReport, SourceReport, ingest
from digest.pipeline.options import open_store
from digest.pipeline.personal import load_personal_edition, variants_of_day

__all__ = [
    "Candidates",
    "IngestReport",
    "LoadedEdition",
    "RunReport",
    "SourceReport",
    "SummarizeMany",
    "build_edition",
    "ingest",
    "load_edition",
    "load_personal_edition",
    "open_store",
    "rank_candidates",
    "related_stories",
    "run_daily",
    "send_test",
    "store_summarizer",
    "variants_of_day",
]
