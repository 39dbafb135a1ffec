"""Diversity, part two: select N items as s1 did.

Repeat until N: pick a domain uniformly at random among those with items left, then an
item within it with probability favouring longer traces: items ranked by `trace_tokens`
(longest first) get weight 2^(-bias * rank) (s1: bias 1; bias 0 is uniform). Without
replacement; a domain with no items left leaves the draw.

Settings: `SelectSettings` (below); the stage (`depends_on`, `ready`, `run`, `STAGE`): at
the end.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from s1_engine.errors import S1Error
from s1_engine.options import option

from .base import P_DIV, Job, Result, Rows, Stage, drop_record


@dataclass
class SelectSettings:
    n: int = option(
        1000, "How many items to select.", panel=P_DIV, short="-n", min=1, example="--n 1000"
    )
    length_bias: float = option(
        1.0,
        "Within a domain, weight 2^(-bias * rank by trace length); 1 as s1, 0 uniform.",
        panel=P_DIV,
        min=0,
        example="--length-bias 1",
    )


def entropy(counts: Counter | dict) -> float:
    """Shannon entropy (bits) of a histogram."""
    total = sum(counts.values())
    if not total:
        return 0.0
    return -sum(c / total * math.log2(c / total) for c in counts.values() if c)


def select(
    items: Sequence[dict[str, Any]],
    n: int,
    seed: int = 0,
    length_bias: float = 1.0,
    advance: Callable[[int], None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(selected in pick order with `select_rank`, not selected, stats)."""
    if n < 1:
        raise S1Error(f"the number of items to select must be >= 1, got {n}", "e.g. --n 1000")
    if n > len(items):
        raise S1Error(
            f"asked to select {n} items but only {len(items)} survived the filters",
            f"lower --n to at most {len(items)}, or add sources to the pool",
        )
    missing = [it["id"] for it in items if not it.get("domain")]
    if missing:
        raise S1Error(
            f"{len(missing)} items have no domain (e.g. {missing[0]!r})",
            "run the diversity stage first (s1 curate diversity)",
        )
    if length_bias < 0:
        raise S1Error(f"--length-bias must be >= 0, got {length_bias}", "e.g. --length-bias 1")
    rng = random.Random(seed)
    pools: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        pools.setdefault(it["domain"], []).append(it)
    for d in pools:  # longest first; ties by id for a stable order
        pools[d].sort(key=lambda it: (-(it.get("trace_tokens") or 0), str(it["id"])))
    chosen: list[dict[str, Any]] = []
    domains = sorted(pools)
    while len(chosen) < n:
        d = rng.choice(domains)
        cands = pools[d]
        # ranks beyond `top` weigh < 2^-60 of the first: leave them out (large domains)
        top = len(cands) if length_bias == 0 else min(len(cands), int(60 / length_bias) + 1)
        weights = [2.0 ** (-length_bias * r) for r in range(top)]
        i = rng.choices(range(top), weights=weights)[0]
        item = dict(cands.pop(i))
        item["select_rank"] = len(chosen)
        chosen.append(item)
        if not cands:
            domains.remove(d)
        if advance:
            advance(1)
    picked = {it["id"] for it in chosen}
    rest = [it for it in items if it["id"] not in picked]
    hist = Counter(it["domain"] for it in chosen)
    pool_hist = Counter(it["domain"] for it in items)
    return (
        chosen,
        rest,
        {
            "n": n,
            "length_bias": length_bias,
            "domains_available": len(pool_hist),
            "entropy_selected": round(entropy(hist), 4),
            "entropy_candidates": round(entropy(pool_hist), 4),
        },
    )


# ----- the stage -------------------------------------------------------------------------
def depends_on(job: Job) -> dict[str, Any]:
    s = job.get(SelectSettings)
    return {"n": s.n, "bias": s.length_bias, "seed": job.seed}


def ready(pool: Rows, job: Job) -> None:
    """Fail before any model runs when the pool is smaller than N."""
    n = job.get(SelectSettings).n
    if n > len(pool):
        raise S1Error(
            f"asked to select {n} items but the pool has only {len(pool)}",
            f"lower --n to at most {len(pool)}, or add sources to the pool",
        )


def run(items: Rows, job: Job) -> Result:
    s = job.get(SelectSettings)
    chosen, rest, stats = select(items, s.n, job.seed, s.length_bias, job.advance)
    dropped = [
        drop_record(it, "select", "not_selected", f"domain {it.get('domain')}") for it in rest
    ]
    return chosen, dropped, stats


STAGE = Stage(
    "select",
    "selection",
    "Select N items: a domain uniformly, then favouring longer traces.",
    (SelectSettings,),
    depends_on,
    run,
    ready=ready,
    picks=True,
)
