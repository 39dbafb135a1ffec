"""Evaluation metrics, computed from the sample records alone (so a test can recompute them).

Per policy: accuracy (the mean over questions and samples), majority-vote accuracy over
the N samples, mean thinking tokens, and Control (the share of runs inside the budget).

Per method, as in the s1 paper (section 3.2), over the points of one scaling curve:
- Control: the share of the method's runs whose thinking stayed inside the budget;
- Scaling: the average slope of accuracy over thinking tokens, over every pair of points,
  (1 / C(|A|, 2)) * sum over a < b of (f(b) - f(a)) / (b - a); reported in accuracy points
  per 1000 thinking tokens (`scaling`) and per doubling of thinking tokens (`scaling_log2`,
  the slope the paper's log-scaled figures show);
- Performance: the best accuracy on the curve.

Methods: "budget_forcing" (the budgets, at the smallest "Wait" count), "wait_count" (the
"Wait" counts, at the largest budget), "majority_voting" (maj@k for k = 1, 2, 4, ..., N at
the largest budget and smallest "Wait" count, against k times its mean thinking tokens).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

METHODS = ("budget_forcing", "wait_count", "majority_voting")
METHOD_TITLES = {
    "budget_forcing": "budget forcing",
    "wait_count": '"Wait" count',
    "majority_voting": "majority voting",
}


def _budget_rank(b: Any) -> float:
    return math.inf if b == "auto" else float(b)


def in_budget(rec: dict) -> bool:
    """The run's thinking stayed inside [min, budget] (the budget the engine enforced)."""
    t = rec["thinking_tokens"]
    low = min(int(rec.get("min_thinking", 0)), int(rec["budget"]))
    return low <= t <= int(rec["budget"])


def majority(records: Sequence[dict]) -> bool:
    """Majority vote over the extracted answers (empty ones abstain); ties go to the first."""
    votes = Counter(r["extracted"] for r in records if r["extracted"])
    if not votes:
        return False
    top = votes.most_common(1)[0][0]
    return any(r["correct"] for r in records if r["extracted"] == top)


def vote_sizes(n: int) -> list[int]:
    ks = [2**i for i in range(0, max(1, n).bit_length()) if 2**i <= n]
    return ks + ([n] if n not in ks else [])


def _mean(xs: Iterable[float]) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else 0.0


def policy_stats(records: Sequence[dict]) -> dict[str, Any]:
    """The numbers of one policy, from its records."""
    first = records[0]
    by_q: dict[str, list[dict]] = defaultdict(list)
    for r in sorted(records, key=lambda r: r["sample"]):
        by_q[r["id"]].append(r)
    n = max(len(v) for v in by_q.values())
    maj = {k: 100.0 * _mean(majority(v[:k]) for v in by_q.values()) for k in vote_sizes(n)}
    return {
        "policy": first["policy"],
        "max_thinking": first["max_thinking"],
        "num_ignore": first["num_ignore"],
        "runs": len(records),
        "questions": len(by_q),
        "accuracy": 100.0 * _mean(r["correct"] for r in records),
        "majority_accuracy": maj[max(maj)],
        "majority_at": {str(k): v for k, v in maj.items()},
        "mean_thinking_tokens": _mean(r["thinking_tokens"] for r in records),
        "mean_answer_tokens": _mean(r["answer_tokens"] for r in records),
        "mean_waits": _mean(r["waits"] for r in records),
        "control": 100.0 * _mean(in_budget(r) for r in records),
    }


def scaling_slopes(points: Sequence[tuple[float, float]]) -> tuple[float | None, float | None]:
    """The paper's Scaling over (thinking tokens, accuracy %) points: per 1k tokens, per doubling."""
    pts = sorted(points)
    lin, log = [], []
    for i in range(len(pts)):
        for j in range(i + 1, len(pts)):
            (xa, ya), (xb, yb) = pts[i], pts[j]
            if xb > xa:
                lin.append((yb - ya) / (xb - xa) * 1000.0)
                dlog = math.log2(max(xb, 1.0)) - math.log2(max(xa, 1.0))
                if dlog > 0:
                    log.append((yb - ya) / dlog)
    return (_mean(lin) if lin else None, _mean(log) if log else None)


def summarize(records: Sequence[dict], policy_order: Sequence[str] | None = None) -> dict[str, Any]:
    """Per-policy numbers and the paper's metrics per method, from sample records."""
    by_policy: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_policy[r["policy"]].append(r)
    order = [p for p in (policy_order or []) if p in by_policy]
    order += [p for p in by_policy if p not in order]
    stats = [policy_stats(by_policy[p]) for p in order]
    return {
        "runs": len(records),
        "questions": len({r["id"] for r in records}),
        "samples": max((r["sample"] for r in records), default=-1) + 1,
        "accuracy_unit": "percent",
        "policies": stats,
        "methods": methods(stats, by_policy),
    }


def methods(stats: Sequence[dict], by_policy: dict[str, list[dict]]) -> dict[str, Any]:
    """The three scaling curves of a grid and their Control / Scaling / Performance."""
    if not stats:
        return {}
    low_k = min(s["num_ignore"] for s in stats)
    top_b = max((s["max_thinking"] for s in stats), key=_budget_rank)
    # each curve: (policy stats, votes or None, thinking tokens, accuracy)
    curves: dict[str, list[tuple[dict, int | None, float, float]]] = {
        "budget_forcing": [
            (s, None, s["mean_thinking_tokens"], s["accuracy"])
            for s in sorted(stats, key=lambda s: _budget_rank(s["max_thinking"]))
            if s["num_ignore"] == low_k
        ],
        "wait_count": [
            (s, None, s["mean_thinking_tokens"], s["accuracy"])
            for s in sorted(stats, key=lambda s: s["num_ignore"])
            if s["max_thinking"] == top_b
        ],
    }
    base = next((s for s in stats if s["num_ignore"] == low_k and s["max_thinking"] == top_b), None)
    if base is not None:
        curves["majority_voting"] = [
            (base, int(k), int(k) * base["mean_thinking_tokens"], acc)
            for k, acc in base["majority_at"].items()
        ]
    out: dict[str, Any] = {}
    for name, pts in curves.items():
        if not pts:
            continue
        policies = {p[0]["policy"] for p in pts}
        runs = [r for pol in policies for r in by_policy[pol]]
        lin, log = scaling_slopes([(x, y) for _, _, x, y in pts])
        out[name] = {
            "points": [
                {
                    "policy": s["policy"],
                    **({"votes": k} if k is not None else {}),
                    "thinking_tokens": x,
                    "accuracy": y,
                }
                for s, k, x, y in pts
            ],
            "control": 100.0 * _mean(in_budget(r) for r in runs),
            "scaling": lin,
            "scaling_log2": log,
            "performance": max(y for _, _, _, y in pts),
        }
    return out
