"""Personal editions: personalised messages per second for N subscribers over K topic sets.

The examples' edition (``examples/``, built once into a temporary store with the bundled
encoder) is sent, up to the exact bytes a transport gets, to N subscribers whose topics
are spread over K distinct sets (and a share with none). Timed as the daily job runs it:

1. match and vary: every topic set against the stories and the "More news" candidates
   (vectors from the store, topic phrases through the encoder), candidates summarised
   (timed apart: the first run of a day summarises them, later ones read the cache);
2. render: one premailer render per distinct variant;
3. messages: one ``MessageFactory`` per render, each subscriber's message from theirs.

The baseline in the same run is the edition without personal editions: one render and N
messages from it. The goal is >= 3,000 personalised msgs/s on 2 cores.

    .venv/bin/python bench/personal.py [--subscribers 10000] [--topic-sets 20]
    .venv/bin/python bench/personal.py --smoke     # 200 subscribers over 4 topic sets

Exit status 1 when a subscriber gets no message, or, except with ``--smoke``, when the
rate misses the goal.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from digest.config import Config, SourceOptions  # noqa: E402
from digest.models import Subscriber  # noqa: E402
from digest.pipeline import build_edition, ingest  # noqa: E402
from digest.pipeline.personal import PersonalMessages, render_variants  # noqa: E402
from digest.store import open_database  # noqa: E402

SECRET = b"benchmark secret, thirty-two b.."
GOAL = 3000  # personalised msgs/s
DAY = date(2026, 11, 24)
WORDS = [
    "moon", "glaciers", "shipping", "water", "passkeys", "wind", "transit", "climate",
    "space", "trade", "security", "energy", "rivers", "science", "business", "browsers",
    "ice", "ports", "data", "rail", "Klima", "宇宙", "پانی", "ऊर्जा",
]  # fmt: skip


def topic_sets(k: int) -> list[tuple[str, ...]]:
    sets: list[tuple[str, ...]] = []
    i = 0
    while len(sets) < k:
        one = (WORDS[i % len(WORDS)],) if i < len(WORDS) else ()
        pair = (WORDS[i % len(WORDS)], WORDS[(i * 7 + 3) % len(WORDS)])
        candidate = one if one else pair
        if candidate not in sets:
            sets.append(candidate)
        i += 1
    return sets


def subscribers(n: int, sets: list[tuple[str, ...]]) -> list[Subscriber]:
    # One in 11 has no topics (the default edition); the rest spread over the sets.
    return [
        Subscriber(i, f"reader{i}@example.com", "Ana", () if i % 11 == 0 else sets[i % len(sets)])
        for i in range(1, n + 1)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--topic-sets", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="200 subscribers, 4 topic sets")
    args = parser.parse_args()
    if args.smoke:
        args.subscribers, args.topic_sets = 200, 4

    with tempfile.TemporaryDirectory() as tmp:
        config = replace(
            Config(),
            base_dir=tmp,
            sources=(SourceOptions("examples", str(ROOT / "examples"), kind="folder"),),
        )
        with open_database(config.store_path) as db:
            started = time.perf_counter()
            ingest(config, db)
            edition = build_edition(config, db, DAY)
            print(
                f"edition {edition.id}: {len(edition.stories)} stories,"
                f" {len(edition.more_news)} more news (built in"
                f" {time.perf_counter() - started:.1f} s, encoder included)"
            )
            sets = topic_sets(args.topic_sets)
            people = subscribers(args.subscribers, sets)

            # Baseline: no personal editions (everyone gets the default render).
            start = time.perf_counter()
            plain = render_variants(config, db, edition, [replace(p, topics=()) for p in people])
            factory = PersonalMessages(config, plain, SECRET)
            for person in people:
                factory.message(person)
            base = time.perf_counter() - start

            # Cold: the candidates some set matches are summarised now (the encoder's
            # work, once a day; the summary cache keeps them for every later run).
            start = time.perf_counter()
            render_variants(config, db, edition, people)
            cold = time.perf_counter() - start
            # Personal: match and vary once per set, render once per variant.
            start = time.perf_counter()
            renders = render_variants(config, db, edition, people)
            varied = time.perf_counter() - start
            messages = PersonalMessages(config, renders, SECRET)
            size = empty = 0
            for person in people:
                data = messages.message(person).data
                size += len(data)
                empty += not data
            total = time.perf_counter() - start
        orders = {tuple(r.subject for r in [v]) for v in renders.values()}
    n = len(people)
    rate, base_rate = n / total, n / base
    print(
        f"{n:,} subscribers over {len(sets)} topic sets (+ none):"
        f" {messages.renders} distinct renders, {len(orders)} distinct subjects"
    )
    print(
        f"personal: match + vary + render {varied:.2f} s, {n:,} messages"
        f" {total - varied:.2f} s; total {total:.2f} s = {rate:,.0f} msgs/s"
        f" (avg {size / n / 1000:.1f} kB)"
    )
    print(
        f"first run of the day (candidates summarised, topic phrases encoded): match + vary"
        f" + render {cold:.2f} s, = {n / (cold + total - varied):,.0f} msgs/s with the messages"
    )
    print(f"baseline (one render for everyone): {base:.2f} s = {base_rate:,.0f} msgs/s")
    print(
        f"ratio: {rate / base_rate:.2f} of the baseline; goal >= {GOAL:,} msgs/s:"
        f" {'met' if rate >= GOAL else 'NOT met'}"
        + (" (not judged in smoke mode)" if args.smoke else "")
    )
    if empty:
        print(f"error: {empty} subscribers got an empty message")
        return 1
    if rate < GOAL and not args.smoke:
        print(f"error: goal missed: {rate:,.0f} msgs/s")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
