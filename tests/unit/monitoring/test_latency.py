from __future__ import annotations

import random

from monitoring import latency


def test_nearest_rank_percentiles_of_exact_values():
    values = [float(ms) for ms in range(1, 101)]
    assert latency.percentile(values, 0.5) == 50
    assert latency.percentile(values, 0.95) == 95
    assert latency.percentile([], 0.5) is None


def test_histogram_percentile_is_within_ten_percent_of_the_exact_one():
    rng = random.Random(7)
    values = [rng.lognormvariate(3, 1) for _ in range(5000)]
    counts = latency.histogram(values)
    for share in (0.5, 0.95):
        exact = latency.percentile(values, share)
        assert abs(latency.histogram_percentile(counts, share) - exact) / exact < 0.1


def test_merged_histograms_give_the_percentiles_of_all_values():
    first, second = [5.0] * 90, [400.0] * 10
    merged = latency.merge([latency.histogram(first), None, latency.histogram(second)])
    assert sum(merged.values()) == 100
    assert latency.histogram_percentile(merged, 0.5) < 6
    assert latency.histogram_percentile(merged, 0.95) > 350


def test_tiny_and_huge_latencies_stay_in_the_end_buckets():
    assert latency.bucket_of(0.01) == 0
    assert latency.bucket_of(10**9) == latency.LAST_BUCKET
    assert latency.histogram_percentile({}, 0.5) is None
