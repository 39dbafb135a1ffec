"""Selection as s1: more even over domains than random sampling, and favouring longer traces."""

from __future__ import annotations

import random
import statistics
from collections import Counter

import pytest

from s1_data.stages.select import entropy, select
from s1_engine.errors import S1Error


def candidates(seed: int = 0) -> list[dict]:
    """An imbalanced pool: 200 / 60 / 25 / 10 / 5 items in five domains."""
    rng = random.Random(seed)
    sizes = {
        "11 Number theory": 200,
        "05 Combinatorics": 60,
        "51 Geometry": 25,
        "60 Probability": 10,
        "40 Sequences": 5,
    }
    out = []
    for d, k in sizes.items():
        for i in range(k):
            out.append({"id": f"{d[:2]}-{i}", "domain": d, "trace_tokens": rng.randint(50, 5000)})
    return out


def test_selection_is_more_even_than_random_sampling():
    items = candidates()
    n = 40
    s1_entropies, random_entropies = [], []
    for seed in range(20):
        chosen, rest, stats = select(items, n, seed=seed)
        assert len(chosen) == n and len(rest) == len(items) - n
        assert len({it["id"] for it in chosen}) == n  # without replacement
        s1_entropies.append(entropy(Counter(it["domain"] for it in chosen)))
        sample = random.Random(seed).sample(items, n)
        random_entropies.append(entropy(Counter(it["domain"] for it in sample)))
    s1_mean, random_mean = statistics.fmean(s1_entropies), statistics.fmean(random_entropies)
    assert s1_mean > random_mean + 0.5, (s1_mean, random_mean)
    assert min(s1_entropies) > max(random_entropies)
    # log2(5) = 2.32 is the most even; the 5-item domain is exhausted before n = 40
    assert s1_mean > 2.1


def test_selection_favours_longer_traces():
    items = candidates()
    pool_mean = statistics.fmean(it["trace_tokens"] for it in items)
    means, uniform_means = [], []
    for seed in range(10):
        chosen, _, _ = select(items, 40, seed=seed)
        means.append(statistics.fmean(it["trace_tokens"] for it in chosen))
        flat, _, _ = select(items, 40, seed=seed, length_bias=0)
        uniform_means.append(statistics.fmean(it["trace_tokens"] for it in flat))
    assert statistics.fmean(means) > 1.5 * pool_mean
    assert statistics.fmean(means) > 1.3 * statistics.fmean(uniform_means)
    # within the big domain the first picks are among its longest traces
    chosen, _, _ = select(items, 40, seed=1)
    nt = sorted((it["trace_tokens"] for it in items if it["domain"].startswith("11")), reverse=True)
    picked = [it["trace_tokens"] for it in chosen if it["domain"].startswith("11")]
    assert all(t >= nt[20] for t in picked)


def test_selection_is_deterministic_and_ranked():
    items = candidates()
    a, _, _ = select(items, 30, seed=3)
    b, _, _ = select(items, 30, seed=3)
    assert [it["id"] for it in a] == [it["id"] for it in b]
    assert [it["select_rank"] for it in a] == list(range(30))


def test_selection_bad_inputs():
    items = candidates()
    with pytest.raises(S1Error, match="only 300 survived"):
        select(items, 301)
    with pytest.raises(S1Error, match="diversity"):
        select([{"id": "x", "trace_tokens": 3}], 1)
    with pytest.raises(S1Error):
        select(items, 0)


def test_all_items_when_n_is_the_pool():
    items = candidates()
    chosen, rest, _ = select(items, len(items))
    assert not rest and len(chosen) == len(items)
