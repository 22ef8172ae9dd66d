"""Request latencies as a small sparse histogram, and percentiles read from it or from values.

A 5-minute sample is made of about fifteen rounds; a p95 of fifteen p95s means nothing, but
histograms add up. Buckets grow by 2^(1/4) (about 19 %) from 1 ms, so a percentile read
from a histogram is within about 10 % of the exact one, and a round's histogram has a few
dozen keys at most.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

STEPS_PER_DOUBLING = 4
# Bucket 0 holds everything up to 1 ms; the last one everything from about 17 minutes.
LAST_BUCKET = STEPS_PER_DOUBLING * 20


def bucket_of(ms: float) -> int:
    if ms <= 1:
        return 0
    return min(LAST_BUCKET, math.ceil(STEPS_PER_DOUBLING * math.log2(ms)))


def bucket_bounds(index: int) -> tuple[float, float]:
    if index <= 0:
        return 0.0, 1.0
    return 2 ** ((index - 1) / STEPS_PER_DOUBLING), 2 ** (index / STEPS_PER_DOUBLING)


def histogram(values_ms: Iterable[float]) -> dict[str, int]:
    """{bucket index as text: count} (text keys: it is stored as JSON)."""
    counts: dict[str, int] = {}
    for ms in values_ms:
        key = str(bucket_of(ms))
        counts[key] = counts.get(key, 0) + 1
    return counts


def merge(histograms: Iterable[Mapping[str, int] | None]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for one in histograms:
        for key, count in (one or {}).items():
            merged[key] = merged.get(key, 0) + int(count)
    return merged


def percentile(values_ms: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` 0.5 for p50) of exact values; None without any."""
    if not values_ms:
        return None
    ordered = sorted(values_ms)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def histogram_percentile(counts: Mapping[str, int] | None, share: float) -> float | None:
    """The percentile read from a histogram: the geometric middle of the bucket holding the
    nearest rank (its upper bound for the first bucket)."""
    buckets = sorted((int(key), int(count)) for key, count in (counts or {}).items() if count)
    total = sum(count for _, count in buckets)
    if not total:
        return None
    rank = max(1, math.ceil(share * total))
    seen = 0
    for index, count in buckets:
        seen += count
        if seen >= rank:
            low, high = bucket_bounds(index)
            return high if index == 0 else math.sqrt(low * high)
    return None  # pragma: no cover - the ranks always fall in a bucket
