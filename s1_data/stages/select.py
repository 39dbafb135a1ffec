"""Diversity, part two: select N items, as s1 did or by another `--strategy`.

s1 (the default): repeat until N: pick a domain uniformly at random among those with
items left, then an item within it with probability favouring longer traces: items
ranked by `trace_tokens` (longest first) get weight 2^(-bias * rank) (s1: bias 1; bias 0
is uniform). Without replacement; a domain with no items left leaves the draw.

The other strategies (`STRATEGIES`), for comparing selections trained alike:
random (N items uniformly from the pool), diverse (domains in rounds: each round every
domain with items left, in a random order, gives one item drawn uniformly: every domain
is covered once N reaches the number of domains, and no length weighting), longest (the
N longest traces) and difficulty (the N the reference models solve least).
Every strategy writes the same columns, so each output trains with `s1 train` unchanged.

Settings: `SelectSettings` (below); the stage (`depends_on`, `ready`, `run`, `STAGE`): at
the end.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from s1_engine.errors import S1Error
from s1_engine.options import option

from .base import P_DIV, Job, Result, Rows, Stage, drop_record

# name -> what it picks (the CLI's help, the dataset card)
STRATEGIES = {
    "s1": "a domain uniformly at random, then an item favouring longer traces, as s1",
    "random": "items uniformly at random from the pool, domains ignored",
    "diverse": "domains in random rounds, every domain once before any twice, an item "
    "uniformly within each",
    "longest": "the items with the longest traces",
    "difficulty": "the items the reference models solved least, then the longest thinking",
}
NEEDS_DOMAIN = ("s1", "diverse")


@dataclass
class SelectSettings:
    n: int = option(
        1000, "How many items to select.", panel=P_DIV, short="-n", min=1, example="--n 1000"
    )
    length_bias: float = option(
        1.0,
        "--strategy s1: within a domain, weight 2^(-bias * rank by trace length); 1 as "
        "s1, 0 uniform.",
        panel=P_DIV,
        min=0,
        example="--length-bias 1",
    )
    strategy: str = option(
        "s1",
        "How to select: s1 (a domain uniformly, then favouring longer traces), random, "
        "diverse (every domain in turn, items uniformly), longest (longest traces) or "
        "difficulty (fewest reference solves first).",
        panel=P_DIV,
        choices=tuple(STRATEGIES),
        example="--strategy s1",
    )


def entropy(counts: Counter | dict) -> float:
    """Shannon entropy (bits) of a histogram."""
    total = sum(counts.values())
    if not total:
        return 0.0
    return -sum(c / total * math.log2(c / total) for c in counts.values() if c)


def _tokens(it: dict[str, Any]) -> int:
    return it.get("trace_tokens") or 0


def _by_domain(
    items: Sequence[dict[str, Any]], n: int, rng: random.Random, length_bias: float
) -> list[dict[str, Any]]:
    """s1's draw: a domain uniformly, then an item weighted by its length rank."""
    pools: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        pools.setdefault(it["domain"], []).append(it)
    for d in pools:  # longest first; ties by id for a stable order
        pools[d].sort(key=lambda it: (-_tokens(it), str(it["id"])))
    chosen: list[dict[str, Any]] = []
    domains = sorted(pools)
    while len(chosen) < n:
        d = rng.choice(domains)
        cands = pools[d]
        # ranks beyond `top` weigh < 2^-60 of the first: leave them out (large domains)
        top = len(cands) if length_bias == 0 else min(len(cands), int(60 / length_bias) + 1)
        weights = [2.0 ** (-length_bias * r) for r in range(top)]
        i = rng.choices(range(top), weights=weights)[0]
        chosen.append(cands.pop(i))
        if not cands:
            domains.remove(d)
    return chosen


def _rounds(items: Sequence[dict[str, Any]], n: int, rng: random.Random) -> list[dict[str, Any]]:
    """diverse: rounds over the domains with items left, each in a random order, one item
    drawn uniformly from each domain per round."""
    pools: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        pools.setdefault(it["domain"], []).append(it)
    chosen: list[dict[str, Any]] = []
    while len(chosen) < n:
        order = [d for d in sorted(pools) if pools[d]]
        rng.shuffle(order)
        for d in order[: n - len(chosen)]:
            cands = pools[d]
            chosen.append(cands.pop(rng.randrange(len(cands))))
    return chosen


def _thinking(it: dict[str, Any]) -> float:
    """The reference models' mean thinking tokens on an item."""
    return statistics.fmean(it.get("ref_thinking_tokens") or [0])


def _pick(
    strategy: str, items: Sequence[dict[str, Any]], n: int, seed: int, length_bias: float
) -> list[dict[str, Any]]:
    """The N items `strategy` picks, in pick order."""
    rng = random.Random(seed)
    if strategy == "s1":
        return _by_domain(items, n, rng, length_bias)
    if strategy == "diverse":
        return _rounds(items, n, rng)
    if strategy == "random":
        return rng.sample(list(items), n)
    if strategy == "longest":
        return sorted(items, key=lambda it: (-_tokens(it), str(it["id"])))[:n]
    return sorted(  # difficulty: fewest solves, then longer reference thinking and trace
        items, key=lambda it: (it["ref_solved"], -_thinking(it), -_tokens(it), str(it["id"]))
    )[:n]


def _check(items: Sequence[dict[str, Any]], n: int, strategy: str, length_bias: float) -> None:
    """One S1Error for input a strategy cannot select from."""
    if n < 1:
        raise S1Error(f"the number of items to select must be >= 1, got {n}", "e.g. --n 1000")
    if strategy not in STRATEGIES:
        raise S1Error(
            f"--strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}",
            "e.g. --strategy s1",
        )
    if n > len(items):
        raise S1Error(
            f"asked to select {n} items but only {len(items)} survived the filters",
            f"lower --n to at most {len(items)}, or add sources to the pool",
        )
    missing = [it["id"] for it in items if not it.get("domain")]
    if strategy in NEEDS_DOMAIN and missing:
        raise S1Error(
            f"{len(missing)} items have no domain (e.g. {missing[0]!r})",
            "run the diversity stage first (s1 curate diversity)",
        )
    unrated = [it["id"] for it in items if it.get("ref_solved") is None]
    if strategy == "difficulty" and unrated:
        raise S1Error(
            f"--strategy difficulty ranks by ref_solved, which {len(unrated)} items lack "
            f"(e.g. {unrated[0]!r})",
            "run the difficulty stage first (s1 curate difficulty), or pick another --strategy",
        )
    if length_bias < 0:
        raise S1Error(f"--length-bias must be >= 0, got {length_bias}", "e.g. --length-bias 1")


def select(
    items: Sequence[dict[str, Any]],
    n: int,
    seed: int = 0,
    length_bias: float = 1.0,
    advance: Callable[[int], None] | None = None,
    strategy: str = "s1",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(selected in pick order with `select_rank`, not selected, stats)."""
    _check(items, n, strategy, length_bias)
    chosen = [
        {**it, "select_rank": rank}
        for rank, it in enumerate(_pick(strategy, items, n, seed, length_bias))
    ]
    if advance:
        advance(n)
    picked = {it["id"] for it in chosen}
    rest = [it for it in items if it["id"] not in picked]
    hist = Counter(it["domain"] for it in chosen if it.get("domain"))
    pool_hist = Counter(it["domain"] for it in items if it.get("domain"))
    stats: dict[str, Any] = {"strategy": strategy, "n": n}
    if strategy == "s1":
        stats["length_bias"] = length_bias
    if strategy == "difficulty":
        solved = Counter(it["ref_solved"] for it in chosen)
        stats["ref_solved_selected"] = {str(k): solved[k] for k in sorted(solved)}
    stats |= {
        "domains_available": len(pool_hist),
        "entropy_selected": round(entropy(hist), 4),
        "entropy_candidates": round(entropy(pool_hist), 4),
    }
    return chosen, rest, stats


def not_selected(it: dict[str, Any], strategy: str) -> dict[str, Any]:
    """The drop record of an item `strategy` did not pick, with what it was judged by."""
    why = {
        "s1": f"domain {it.get('domain')}",
        "diverse": f"domain {it.get('domain')}",
        "random": "not drawn",
        "longest": f"trace_tokens {_tokens(it)}",
        "difficulty": f"ref_solved {it.get('ref_solved')}",
    }[strategy]
    return drop_record(it, "select", "not_selected", f"--strategy {strategy}: {why}")


# ----- the stage -------------------------------------------------------------------------
def depends_on(job: Job) -> dict[str, Any]:
    s = job.get(SelectSettings)
    return {"n": s.n, "bias": s.length_bias, "strategy": s.strategy, "seed": job.seed}


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
    chosen, rest, stats = select(items, s.n, job.seed, s.length_bias, job.advance, s.strategy)
    return chosen, [not_selected(it, s.strategy) for it in rest], stats


STAGE = Stage(
    "select",
    "selection",
    "Select N items by --strategy (s1: a domain uniformly, then favouring longer traces).",
    (SelectSettings,),
    depends_on,
    run,
    ready=ready,
    picks=True,
)
