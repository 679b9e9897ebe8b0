"""Memory of a send against the length of the list: peak RSS of the daily job's send stage
(``pipeline.daily.send_rendered``: the ledger, the subscribers, the messages) for lists of 10,000
and 200,000 subscribers, each with the same 10,000 messages left to send (for the long
list the ledger already holds the first 190,000 as sent: a re-run after a crash, or the
tail of a long send). The messages go over SMTP to a local aiosmtpd sink in its own
process (``tools/smtp_sink.py --count-only``).

Each list size runs in a fresh interpreter, so that one's peak does not hide the other's.
The edition is the newsletter tests' sample (``tests/data/edition.json``), rendered in that
interpreter; no model is loaded. Printed per size: RSS before the send, peak RSS during
it, the growth, messages sent, seconds and the client's CPU seconds (which load from
other processes hardly moves), then the ratio of the two peaks. Goal: the
peaks within 20% of each other (memory independent of the list's length).

    .venv/bin/python bench/send_memory.py                    # 10k and 200k
    .venv/bin/python bench/send_memory.py --sizes 10000,50000 --pending 2000
    .venv/bin/python bench/send_memory.py --src /tmp/old/src # another checkout's code
    .venv/bin/python bench/send_memory.py --smoke            # 300 and 3,000, 300 to send

Exit status 1 when a child fails, sends other than the messages left (or counts other than
the ones sent before as already sent), the sink receives other than what was sent, or,
except with ``--smoke`` (lists too small for the list to show in the RSS), when the peaks
miss the goal.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.2  # the larger peak over the smaller
SECRET = b"bench-memory-secret"


def rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(args: argparse.Namespace) -> int:
    """One list size: set up a store, send, print one JSON line of figures."""
    sys.path.insert(0, args.src)
    sys.path.insert(0, str(ROOT))
    from digest import serialize
    from digest.config import Config, DeliveryOptions, SmtpOptions
    from digest.models import Edition
    from digest.pipeline.daily import send_rendered
    from digest.publish.render import render_edition
    from digest.store import open_database
    from digest.store import sql as statements

    work = Path(args.work)
    smtp = SmtpOptions(host="127.0.0.1", port=args.port, timeout=30.0, security="none")
    config = replace(
        Config(),
        base_dir=str(work),
        delivery=replace(DeliveryOptions(), transport="smtp", smtp=smtp),
    )
    edition = serialize.loads(
        Edition, (ROOT / "tests" / "data" / "edition.json").read_text(encoding="utf-8")
    )
    now = datetime.now(UTC).isoformat()
    n, sent_before = args.child, args.child - args.pending
    with open_database(config.store_path) as db:
        with db.transaction():
            db.executemany(
                statements.INSERT_SUBSCRIBER,
                (
                    {
                        "email": f"reader{i:07d}@example.com",
                        "email_key": f"reader{i:07d}@example.com",
                        "name": f"Reader {i}",
                        "topics": "[]",
                        "state": "active",
                        "now": now,
                    }
                    for i in range(n)
                ),
            )
            # The ledger of an earlier run that sent the first ones (ids start at 1).
            db.executemany(
                "INSERT INTO deliveries (edition_id, subscriber_id, message_id, state,"
                " attempts, reply_code, updated_at) VALUES (?, ?, '', 'sent', 1, 250, ?)",
                ((edition.id, i, now) for i in range(1, sent_before + 1)),
            )
        rendered = render_edition(edition, config.newsletter, timezone=UTC)
        peak = [0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.01):
                peak[0] = max(peak[0], rss())

        before = rss()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started, cpu = time.perf_counter(), time.process_time()
        report, _ = send_rendered(config, db, rendered, SECRET)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        stop.set()
        sampler.join()
        peak[0] = max(peak[0], rss())
    print(
        json.dumps(
            {
                "subscribers": n,
                "before": before,
                "peak": peak[0],
                "sent": report.sent,
                "already_sent": report.already_sent,
                "seconds": elapsed,
                "cpu": cpu,
            }
        )
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,200000", help="list sizes, comma-separated")
    parser.add_argument("--pending", type=int, default=10_000, help="messages left to send")
    parser.add_argument("--src", default=str(ROOT / "src"), help="the digest sources to measure")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--work", default="", help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true", help="lists of 300 and 3,000")
    args = parser.parse_args()
    if args.child:
        return child(args)
    if args.smoke:
        args.sizes, args.pending = "300,3000", 300
    errors: list[str] = []
    sys.path.insert(0, str(ROOT))
    from tools.smtp_sink import free_port, wait_for_port

    sizes = [int(s) for s in args.sizes.split(",")]
    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "smtp_sink.py"), "--port", str(port), "--count-only"],
        stdout=subprocess.PIPE,
    )
    results = []
    try:
        wait_for_port(port, sink)
        print(f"sources: {args.src}; {args.pending:,} messages left to send in each list")
        print(
            f"{'subscribers':>11} {'RSS before':>11} {'peak RSS':>9} {'growth':>8}"
            f" {'sent':>7} {'already':>8} {'seconds':>8} {'CPU s':>6}"
        )
        for n in sizes:
            work = Path(tempfile.mkdtemp(prefix="digest-bench-memory-"))
            try:
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        str(n),
                        "--pending",
                        str(min(n, args.pending)),
                        "--port",
                        str(port),
                        "--work",
                        str(work),
                        "--src",
                        args.src,
                    ],
                    capture_output=True,
                    text=True,
                    env={**os.environ, "DIGEST_SECRET": SECRET.decode()},
                    check=False,
                )
            finally:
                shutil.rmtree(work, ignore_errors=True)
            if out.returncode != 0:
                print(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed")
                return 1
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(r)
            pending = min(n, args.pending)
            if r["sent"] != pending or r["already_sent"] != n - pending:
                errors.append(
                    f"list of {n}: sent {r['sent']}, already sent {r['already_sent']};"
                    f" expected {pending} and {n - pending}"
                )
            mib = 2**20
            print(
                f"{n:>11,} {r['before'] / mib:>10.1f}M {r['peak'] / mib:>8.1f}M"
                f" {(r['peak'] - r['before']) / mib:>7.1f}M {r['sent']:>7,}"
                f" {r['already_sent']:>8,} {r['seconds']:>8.1f} {r['cpu']:>6.1f}",
                flush=True,
            )
    finally:
        sink.terminate()
        out_bytes, _ = sink.communicate(timeout=30)
    last = out_bytes.decode().strip().splitlines()[-1] if out_bytes.strip() else ""
    received = re.search(r"(\d+) messages received", last)
    sent = sum(r["sent"] for r in results)
    if received is None or int(received.group(1)) != sent:
        errors.append(f"the sink says {last!r}; {sent} messages were sent")
    peaks = [r["peak"] for r in results]
    ratio = max(peaks) / min(peaks)
    verdict = "meets" if ratio <= GOAL else "misses"
    print(
        f"largest peak / smallest: {ratio:.2f}: {verdict} the goal of {GOAL:.1f}"
        + (" (not judged in smoke mode)" if args.smoke else "")
    )
    if ratio > GOAL and not args.smoke:
        errors.append(f"peak ratio {ratio:.2f} over the goal of {GOAL:.1f}")
    for why in errors:
        print(f"error: {why}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
