"""Distributed work on Celery (Redis broker) for the stages that grow with the load:
fetching sources, summarising batches of articles, sending batches of ledger rows.

    work.py      what a worker does per task, as plain functions (``fetch_source``,
                 ``summarize_articles``, ``send_batches``)
    app.py       the Celery app, its settings and tasks (JSON in and out), ``start_worker``
    dispatch.py  ``run_distributed``: the daily job (``digest.pipeline.daily.run_job``)
                 with ``CeleryStages``, its growing stages sent to workers;
                 ``send_distributed``, ``wait_for``

The store (PostgreSQL) stays the single truth: a send batch is claimed with ``SELECT ...
FOR UPDATE SKIP LOCKED`` and every reply is recorded in the ledger, so workers on any
number of hosts share one edition without sending anyone a message twice.
"""
