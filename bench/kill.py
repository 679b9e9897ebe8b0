"""The kill test at full size: 3 Celery workers (separate processes) send one edition to
20,000 subscribers through a PostgreSQL ledger to a real SMTP sink (aiosmtpd, in this
process, counting copies and Message-IDs per recipient); a random worker is SIGKILLed at
``--kills`` random moments (by share of the list sent) and started again. At the end:
lost (no copy), doubled (more than one copy), and doubled beyond the ledger's ambiguous
count (must be 0), with the seed to replay it.

    .venv/bin/python bench/kill.py [--subscribers 20000] [--kills 5] [--seed N]
    .venv/bin/python bench/kill.py --smoke     # 600 subscribers, 2 workers, 1 kill

Exit status 1 on a lost message, an unreported double, a resend with another Message-ID
or a kill that did not happen. Without PostgreSQL or Redis here it says so and exits 0.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tools.services import why_no_postgres  # noqa: E402
from tools.smtp_sink import SinkRules, SmtpSink  # noqa: E402
from tools.workers import Copies, SendRig, kill_during_send  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--batch", type=int, default=200, help="distributed.send_batch")
    parser.add_argument("--delay", type=float, default=0.002, help="sink delay per message, s")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--smoke", action="store_true", help="600 subscribers, 2 workers, 1 kill, batch 50"
    )
    args = parser.parse_args()
    if args.smoke:
        # A slower sink (10 ms a message) so that the kill lands before the send ends.
        args.subscribers, args.kills, args.workers, args.batch, args.delay = 600, 1, 2, 50, 0.01
    why = why_no_postgres() or (None if shutil.which("redis-server") else "no redis-server")
    if why:
        print(f"skipped: {why}")
        return 0
    # SIGTERM (a timeout) unwinds like Ctrl-C, so the servers and workers are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    seed = args.seed if args.seed is not None else time.time_ns() % 100_000
    copies = Copies()
    with (
        tempfile.TemporaryDirectory(prefix="digest-bench-kill-") as tmp,
        SmtpSink(keep=False, on_message=copies, rules=SinkRules(data_delay=args.delay)) as sink,
        SendRig.start(Path(tmp), sink.host, sink.port, send_batch=args.batch) as rig,
    ):
        edition = rig.load(args.subscribers)
        rig.start_workers(args.workers)
        rig.wait_ready(args.workers)
        report = kill_during_send(
            rig, edition, args.subscribers, copies, args.kills, random.Random(seed)
        )
        counts = rig.ledger_counts(edition.id)
    print(f"kill test, seed {seed}, {args.workers} workers: {report.summary()}")
    print(f"ledger: {counts}; {sum(copies.count.values()):,} messages received")
    ok = (
        not report.lost
        and not report.unreported
        and not report.mixed_ids
        and len(report.kills) == args.kills
    )
    print("0 lost, 0 doubled beyond the reported ambiguous: " + ("yes" if ok else "NO"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
