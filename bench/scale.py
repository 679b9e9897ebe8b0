"""Scale: a big list in PostgreSQL, one edition sent by 1, 2 and 4 Celery workers, and the
ingest of many feed files by 1 and 4 workers.

Everything is local and throwaway (``tools/services.py``, ``tools/workers.py``): a
PostgreSQL cluster, Redis, a counting SMTP sink in its own process (``tools/count_sink.py``,
which finds the end of DATA with ``bytes.find``; ``--sink aiosmtpd`` for the slower
aiosmtpd one), and ``digest worker`` processes.

1. Import: ``--subscribers`` (default 1,000,000) rows into ``subscribers`` with ``COPY``.
2. Send: for each worker count (``--workers 1,2,4``) a fresh edition (its own day) is
   sent to ``--send`` of those subscribers (the rest are set unsubscribed, so the ledger
   and the claims work over the whole table): msgs/s, time to the first message (from the
   dispatch to the first reply recorded in the ledger), peak RSS of each worker process
   (psutil, sampled every 50 ms) and the ledger's final counts (0 lost, 0 doubled).
3. Memory against list size: one worker sends the same number of messages again with a
   list of ``--small-list`` subscribers (a database of its own); a worker's peak RSS should
   not grow with the list
   (it holds one batch of ``distributed.send_batch`` rows at a time).
4. Ingest: ``--feeds`` (default 2,000) RSS files, one source each, fetched by 1 and by 4
   workers (one task per source): files/s and articles stored.

The figures depend on the cores there are: 4 worker processes on 2 cores cannot run 4x
one worker, and the sink, PostgreSQL and the dispatcher share those cores too. The
script prints how many cores it saw.

    .venv/bin/python bench/scale.py [--subscribers 1000000] [--send 20000] [--workers 1,2,4]
                                    [--feeds 2000] [--small-list 50000]
    .venv/bin/python bench/scale.py --smoke     # 2,000 rows, 200 messages, 10 feeds, 1 round each

Exit status 1 when a round's ledger does not end with every message sent (none queued,
sending, deferred or failed), a feed fails or an ingest stores other than 3 articles a
feed, and, except with ``--smoke``, when a worker's peak RSS grows by more than
``MEMORY_GOAL`` with the list, or, on a host with ``SCALING_CORES`` cores or more, when 4
workers send at less than ``SCALING_GOAL`` x one. Without PostgreSQL or Redis here it says
so and exits 0.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import yaml  # noqa: E402

from digest.config import load_config  # noqa: E402
from digest.distributed.app import FETCH_TASK, make_app  # noqa: E402
from digest.distributed.dispatch import send_distributed, wait_for  # noqa: E402
from digest.pipeline import open_store  # noqa: E402
from digest.store import EditionStore  # noqa: E402
from tools.services import PostgresServer, RedisServer, free_port, why_no_postgres  # noqa: E402
from tools.workers import SendRig  # noqa: E402

MEMORY_GOAL = 1.2  # a worker's peak RSS, long list over short list
SCALING_GOAL = 3.0  # 4 workers over 1
SCALING_CORES = 6  # below this many cores 4 workers cannot run 3x one (they share them)
ARTICLES_PER_FEED = 3  # write_feeds writes 3 items a feed

# PostgreSQL settings that matter for a big send (see docs/scaling.md).
PG_SETTINGS = {
    "shared_buffers": "'256MB'",
    "max_wal_size": "'4GB'",
    "checkpoint_timeout": "'15min'",
    "work_mem": "'32MB'",
}


class PeakRss:
    """Peak RSS of each of a changing set of processes, sampled in a thread."""

    def __init__(self, pids: Any) -> None:
        self.pids = pids
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            for pid in self.pids():
                try:
                    rss = psutil.Process(pid).memory_info().rss
                except psutil.Error:
                    continue
                self.peaks[pid] = max(self.peaks.get(pid, 0), rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def sink_process(port: int, kind: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, str(ROOT / "tools/count_sink.py"), "--port", str(port)]
    if kind == "aiosmtpd":
        argv = [sys.executable, str(ROOT / "tools/smtp_sink.py"), "--port", str(port)]
        argv.append("--count-only")
    process = subprocess.Popen(argv, stdout=subprocess.PIPE)
    deadline = time.monotonic() + 30
    import socket

    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return process
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the SMTP sink did not start")


def limit_active(rig: SendRig, count: int) -> None:
    with open_store(rig.config) as db:
        db.execute("UPDATE subscribers SET state = 'active' WHERE id <= :n", {"n": count})
        db.execute("UPDATE subscribers SET state = 'unsubscribed' WHERE id > :n", {"n": count})


def new_edition(rig: SendRig, template: Any, day: date) -> Any:
    edition = replace(template, id=day.isoformat(), date=day)
    with open_store(rig.config) as db:
        EditionStore(db).save(edition)
    return edition


def first_reply(rig: SendRig, edition_id: str) -> datetime:
    with open_store(rig.config) as db:
        stamp = db.scalar(
            "SELECT MIN(updated_at) FROM deliveries WHERE edition_id = :e AND state = 'sent'",
            {"e": edition_id},
        )
    return datetime.fromisoformat(stamp)


def send_round(rig: SendRig, template: Any, day: date, workers: int) -> dict[str, Any]:
    edition = new_edition(rig, template, day)
    rig.start_workers(workers)
    rig.wait_ready(workers)  # timed from the dispatch on, with every worker up
    with PeakRss(rig.worker_pids) as memory:
        dispatched = datetime.now(UTC)
        started = time.perf_counter()
        outcome = send_distributed(rig.config, edition.date)
        elapsed = time.perf_counter() - started
    rig.stop_workers()
    first = (first_reply(rig, edition.id) - dispatched).total_seconds()
    sent = outcome.counts["sent"]
    return {
        "workers": workers,
        "sent": sent,
        "elapsed": elapsed,
        "rate": sent / elapsed,
        "first": first,
        "rss": sorted(memory.peaks.values()),
        "counts": outcome.counts,
        "ambiguous": outcome.ambiguous,
    }


def write_feeds(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    stamp = datetime(2026, 11, 24, 6, tzinfo=UTC)
    for i in range(count):
        items = "".join(
            f"<item><title>Meldung {i}-{j}: Stadtwerke erweitern das Fernwärmenetz</title>"
            f"<link>https://feeds.example.org/{i}/{j}</link>"
            f"<pubDate>{(stamp - timedelta(minutes=i + j)).strftime('%a, %d %b %Y %H:%M:%S +0000')}"
            f"</pubDate><description>Die Stadtwerke von Ort {i} verlegen {j + 3} Kilometer neue"
            f" Leitungen; 2.{j}00 Haushalte werden bis 2027 angeschlossen. Der Gemeinderat"
            f" stimmte mit großer Mehrheit zu.</description></item>"
            for j in range(3)
        )
        path = folder / f"feed{i:04d}.xml"
        path.write_text(
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Lokalzeitung {i}</title><link>https://feeds.example.org/{i}</link>"
            f"<description>Nachrichten</description>{items}</channel></rss>",
            encoding="utf-8",
        )
        paths.append(path)
    return paths


def ingest_round(
    rig: SendRig, postgres: PostgresServer, feeds: list[Path], workers: int, folder: Path
) -> dict[str, Any]:
    """The feeds, one source each, into a fresh database, fetched by ``workers`` workers."""
    url = postgres.create_database(f"ingest_{workers}_{int(time.time())}")
    raw = yaml.safe_load(rig.config_path.read_text(encoding="utf-8"))
    raw["store"] = url
    raw["sources"] = [{"name": p.stem, "location": str(p), "kind": "feed"} for p in feeds]
    raw["distributed"]["host_delay_seconds"] = 0
    path = folder / f"ingest-{workers}.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    config = load_config(path)
    rig.config_path, old = path, rig.config_path
    try:
        rig.start_workers(workers)
        rig.wait_ready(workers)
        app = make_app(config)
        started = time.perf_counter()
        results = [app.send_task(FETCH_TASK, args=[p.stem]) for p in feeds]
        reports = wait_for(results, poll=0.2)
        elapsed = time.perf_counter() - started
        rig.stop_workers()
    finally:
        rig.config_path = old
    failed = [r for r in reports if r["failed"]]
    return {
        "workers": workers,
        "elapsed": elapsed,
        "rate": len(feeds) / elapsed,
        "articles": sum(int(r["new"]) for r in reports),
        "failed": len(failed),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--send", type=int, default=20_000, help="messages per round")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--small-list", type=int, default=50_000)
    parser.add_argument("--feeds", type=int, default=2_000)
    parser.add_argument("--ingest-workers", default="1,4")
    parser.add_argument("--batch", type=int, default=500, help="distributed.send_batch")
    parser.add_argument(
        "--sink",
        choices=["count", "aiosmtpd"],
        default="count",
        help="count: tools/count_sink.py (fast); aiosmtpd: tools/smtp_sink.py --count-only",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, goals not judged")
    args = parser.parse_args()
    if args.smoke:
        # One send round (and the small list's); the ingest round runs 2 workers.
        args.subscribers, args.send, args.workers, args.small_list = 2000, 200, "1", 500
        args.feeds, args.ingest_workers, args.batch = 10, "2", 50
    why = why_no_postgres() or (None if shutil.which("redis-server") else "no redis-server")
    if why:
        print(f"skipped: {why}")
        return 0
    errors: list[str] = []
    sent, last = 0, ""
    # SIGTERM (a timeout) unwinds like Ctrl-C, so the servers and workers are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    print(f"cores: {os.cpu_count()} (workers, PostgreSQL, Redis, the sink share them)")
    port = free_port()
    sink = sink_process(port, args.sink)
    folder = Path(tempfile.mkdtemp(prefix="digest-bench-scale-"))
    postgres = PostgresServer.start(PG_SETTINGS)
    redis = RedisServer.start()
    try:
        rig = SendRig(
            folder, postgres, redis, "127.0.0.1", port, send_batch=args.batch, own_servers=False
        )
        started = time.perf_counter()
        template = rig.load(args.subscribers)
        took = time.perf_counter() - started
        print(
            f"import: {args.subscribers:,} subscribers with COPY in {took:.1f} s"
            f" ({args.subscribers / took:,.0f} rows/s)"
        )
        limit_active(rig, args.send)
        rounds = []
        day = template.date
        for workers in [int(w) for w in args.workers.split(",")]:
            day += timedelta(days=1)
            result = send_round(rig, template, day, workers)
            rounds.append(result)
            errors += unfinished(result, args.send)
            rss = ", ".join(f"{r / 2**20:.0f}" for r in result["rss"])
            print(
                f"send: {workers} worker(s): {result['sent']:,} messages in"
                f" {result['elapsed']:.1f} s = {result['rate']:,.0f} msgs/s;"
                f" first message {result['first']:.2f} s after dispatch; peak RSS per worker"
                f" {rss} MiB; ledger {result['counts']}, ambiguous {result['ambiguous']}",
                flush=True,
            )
        base = rounds[0]["rate"]
        for result in rounds[1:]:
            print(f"  {result['workers']} workers / 1: {result['rate'] / base:.2f}x")

        # The same send from a smaller list (a database of its own): a worker's memory
        # must not follow the list.
        small_rig = SendRig(
            folder / "small",
            postgres,
            redis,
            "127.0.0.1",
            port,
            send_batch=args.batch,
            own_servers=False,
        )
        small_rig.load(args.small_list)
        limit_active(small_rig, min(args.send, args.small_list))
        small = send_round(small_rig, template, day + timedelta(days=1), 1)
        errors += unfinished(small, min(args.send, args.small_list))
        print(
            f"memory: 1 worker, list of {args.small_list:,}: peak RSS"
            f" {small['rss'][0] / 2**20:.0f} MiB; list of {args.subscribers:,}:"
            f" {rounds[0]['rss'][0] / 2**20:.0f} MiB (same {small['sent']:,} messages)",
            flush=True,
        )
        growth = rounds[0]["rss"][0] / small["rss"][0]
        print(f"  long list / short list: {growth:.2f}x (goal <= {MEMORY_GOAL})")
        if growth > MEMORY_GOAL and not args.smoke:
            errors.append(f"a worker's peak RSS grew {growth:.2f}x with the list")

        feeds = write_feeds(folder / "feeds", args.feeds)
        ingests = []
        for workers in [int(w) for w in args.ingest_workers.split(",") if w and args.feeds]:
            result = ingest_round(rig, postgres, feeds, workers, folder)
            ingests.append(result)
            print(
                f"ingest: {len(feeds):,} feed files by {workers} worker(s) in"
                f" {result['elapsed']:.1f} s = {result['rate']:,.0f} files/s;"
                f" {result['articles']:,} articles stored, {result['failed']} failed",
                flush=True,
            )
            if result["failed"] or result["articles"] != ARTICLES_PER_FEED * len(feeds):
                errors.append(f"ingest by {workers} workers: {result}")
        if len(ingests) > 1:
            ratio = ingests[-1]["rate"] / ingests[0]["rate"]
            print(f"  {ingests[-1]['workers']} workers / 1: {ratio:.2f}x")
        rig.stop_workers()
        four = [r for r in rounds if r["workers"] == 4]
        judged = (os.cpu_count() or 1) >= SCALING_CORES and not args.smoke
        if four and judged and four[0]["rate"] / base < SCALING_GOAL:
            errors.append(f"4 workers at {four[0]['rate'] / base:.2f}x one")
        sent = sum(r["sent"] for r in rounds) + small["sent"]
    finally:
        sink.terminate()
        out, _ = sink.communicate(timeout=30)
        last = out.decode().strip().splitlines()[-1] if out else "sink: no output"
        print(last)
        redis.close()
        postgres.close()
    received = re.search(r"(\d+) messages received", last)
    if received and int(received.group(1)) != sent:
        errors.append(f"the sink received {received.group(1)} messages, the ledgers say {sent}")
    for why in errors:
        print(f"error: {why}")
    return 1 if errors else 0


def unfinished(result: dict[str, Any], wanted: int) -> list[str]:
    """Why a send round did not end with ``wanted`` messages sent and nothing else left."""
    counts = result["counts"]
    left = {k: v for k, v in counts.items() if k != "sent" and v}
    if counts["sent"] == wanted and not left:
        return []
    return [f"{result['workers']} workers: {counts['sent']} sent of {wanted}, left {left}"]


if __name__ == "__main__":
    sys.exit(main())
