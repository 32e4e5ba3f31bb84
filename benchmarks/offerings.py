"""Benchmark: offerings retrieval on a synthetic 10,000-offering catalog.

Builds the index once (build time), then runs N queries (display-name fragments, words with a
typo, FAQ-style questions; a third with an agent's catalog selector and a channel) and reports
search latency p50/p99; target p99 ≤ 5 ms. The baseline beside it is ``bm25s`` alone on the
same texts (its own tokenizer, no typo correction, no filters, no FAQ aggregation): what the
index adds on top of the library. Also prints recall@3 on the retail example.

    python benchmarks/offerings.py [--offerings 10000] [--queries 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runtime.offerings import OfferingIndex  # noqa: E402

ADJ = [
    "waterproof",
    "light",
    "warm",
    "compact",
    "foldable",
    "insulated",
    "breathable",
    "rugged",
    "classic",
    "urban",
    "alpine",
    "carbon",
    "merino",
    "thermal",
    "quick-dry",
    "padded",
    "reflective",
    "cordless",
    "wireless",
    "heavy-duty",
]
NOUN = [
    "jacket",
    "tent",
    "boots",
    "shoes",
    "backpack",
    "bottle",
    "stove",
    "lamp",
    "poles",
    "gloves",
    "helmet",
    "trousers",
    "shirt",
    "sleeping-bag",
    "mattress",
    "hammock",
    "compass",
    "watch",
    "bike",
    "saddle",
    "kayak",
    "paddle",
    "charger",
    "speaker",
]
BRAND = [
    "Acme",
    "Nord",
    "Peak",
    "Ridge",
    "Summit",
    "Vale",
    "Fjord",
    "Cobalt",
    "Ember",
    "Lynx",
    "Orca",
    "Atlas",
]
FILLER = [
    "for",
    "hiking",
    "camping",
    "running",
    "cycling",
    "travel",
    "winter",
    "summer",
    "trails",
    "city",
    "everyday",
    "family",
    "kids",
    "with",
    "a",
    "durable",
    "recycled",
    "fabric",
    "zip",
    "pocket",
    "strap",
    "handle",
    "battery",
    "charge",
    "hours",
    "grams",
    "litres",
    "size",
    "fit",
    "colour",
    "warranty",
    "repair",
    "care",
    "wash",
    "dry",
    "store",
    "pack",
    "carry",
    "weight",
    "comfort",
    "grip",
]
QUESTIONS = [
    ("Is it waterproof?", "Yes, rated to 10,000 mm."),
    ("How long does the battery last?", "About 20 hours per charge."),
    ("Can I wash it?", "Yes, at 30 °C on a gentle cycle."),
    ("Does it come with a warranty?", "Two years on manufacturing defects."),
    ("What sizes are available?", "From XS to XXL."),
    ("How much does it weigh?", "Under one kilogram."),
    ("Can I return it?", "Within 30 days, unused."),
]
CHANNELS = ["web", "sms", "whatsapp", "email"]
LINES = ["gear", "apparel", "services", "plans"]


def catalog(n: int, rng: random.Random) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in range(n):
        adj, noun, brand = rng.choice(ADJ), rng.choice(NOUN), rng.choice(BRAND)
        spec: dict[str, Any] = {
            "type": "product",
            "displayName": f"{brand} {adj} {noun.replace('-', ' ')} {i % 97}",
            "description": " ".join(rng.choices(FILLER, k=rng.randint(8, 20))),
            "price": {"amount": f"{rng.randint(5, 500)}", "currency": "EUR", "period": "once"},
            "attributes": {"category": noun, "waterproof": rng.random() < 0.3},
            "tags": [noun, adj],
            "faq": [{"q": q, "a": a} for q, a in rng.sample(QUESTIONS, k=rng.randint(0, 3))],
        }
        if rng.random() < 0.1:
            spec["channels"] = rng.sample(CHANNELS, k=2)
        out[f"o-{i:05d}"] = {"spec": spec, "labels": {"line": rng.choice(LINES)}}
    return out


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randint(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swap two letters


def queries(n: int, rng: random.Random) -> list[tuple[str, dict[str, Any] | None, str | None]]:
    out: list[tuple[str, dict[str, Any] | None, str | None]] = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            q = f"{rng.choice(BRAND)} {rng.choice(NOUN).replace('-', ' ')}"
        elif kind == 1:
            q = f"{typo(rng.choice(ADJ), rng)} {typo(rng.choice(NOUN), rng)} for {rng.choice(FILLER)}"
        else:
            q = f"{rng.choice(QUESTIONS)[0]} the {rng.choice(ADJ)} {rng.choice(NOUN)}"
        if i % 3 == 2:
            out.append((q, {"catalog": {"line": rng.choice(LINES)}}, rng.choice(CHANNELS)))
        else:
            out.append((q, None, None))
    return out


def pct(times: list[float], p: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offerings", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    offerings = catalog(args.offerings, rng)
    faqs = sum(len(o["spec"]["faq"]) for o in offerings.values())

    started = time.perf_counter()
    index = OfferingIndex.build(offerings)
    build = time.perf_counter() - started

    batch = queries(args.queries, rng)
    for q, agent, channel in batch[:50]:  # warm the masks and the speller's memo like traffic
        index.search(q, agent=agent, channel=channel)
    times = []
    empty = 0
    for q, agent, channel in batch:
        t0 = time.perf_counter()
        hits = index.search(q, agent=agent, channel=channel, k=5)
        times.append(time.perf_counter() - t0)
        empty += not hits

    import bm25s  # the baseline: the library alone on the same texts

    texts = [
        " ".join(
            [s["displayName"], s["description"], *s["tags"]]
            + [f"{f['q']} {f['a']}" for f in s["faq"]]
        )
        for s in (o["spec"] for o in offerings.values())
    ]
    t0 = time.perf_counter()
    plain = bm25s.BM25()
    plain.index(bm25s.tokenize(texts, show_progress=False), show_progress=False)
    base_build = time.perf_counter() - t0
    base_times = []
    for q, _, _ in batch:
        t0 = time.perf_counter()
        tokens = bm25s.tokenize([q], show_progress=False)
        plain.retrieve(tokens, k=5, show_progress=False, n_threads=1)
        base_times.append(time.perf_counter() - t0)

    print(f"offerings index: {len(offerings):,} offerings, {faqs:,} FAQ entries, seed {args.seed}")
    print(f"  build {build:.2f} s   (bm25s alone, its tokenizer: {base_build:.2f} s)")
    print(
        f"  search over {len(times):,} queries: p50 {statistics.median(times) * 1000:.2f} ms   "
        f"p99 {pct(times, 0.99) * 1000:.2f} ms   (target p99 ≤ 5 ms); {empty} found nothing"
    )
    print(
        f"  bm25s alone (no typos, filters or FAQ aggregation): "
        f"p50 {statistics.median(base_times) * 1000:.2f} ms   "
        f"p99 {pct(base_times, 0.99) * 1000:.2f} ms"
    )

    from tests.offerings.test_quality import QUERIES, recall_at

    r3, _ = recall_at(3)
    r1, _ = recall_at(1)
    print(f"retail example: recall@3 {r3:.3f}, recall@1 {r1:.3f} over {len(QUERIES)} queries")


if __name__ == "__main__":
    main()
