"""Evaluation metrics, computed from the sample records alone (so a test can recompute them).

Per policy (one point of one method): accuracy (the mean over questions and samples),
majority-vote accuracy over the N samples, mean thinking tokens, and Control (the share
of runs inside the budget: the one the prompt stated where it stated one, in tokens or in
steps, else the one the engine enforced).

Per method, as in the s1 paper (section 3.2), over the points of one scaling curve:
- Control: the share of the method's runs whose thinking stayed inside the budget
  (class-conditional, which states none: the share of (question, sample) pairs whose
  "long" run thought longer than its "short" run);
- Scaling: the average slope of accuracy over thinking tokens, over every pair of points,
  (1 / C(|A|, 2)) * sum over a < b of (f(b) - f(a)) / (b - a); reported in accuracy points
  per 1000 thinking tokens (`scaling`) and per doubling of thinking tokens (`scaling_log2`,
  the slope the paper's log-scaled figures show);
- Performance: the best accuracy on the curve.

A point's `thinking_tokens` is what its answers' thinking took (majority voting: k times
one sample's, the paper's compute); `compute_tokens` is every thinking token spent for it
(rejection: the rejected draws too), the x of the plot.

Curves of the budget method: "budget_forcing" (the budgets, at the smallest "Wait" count),
"wait_count" (the "Wait" counts, at the largest budget; `wait_count[S]` for each further
ignore string S of the grid: the extrapolation ablation), "majority_voting" and
"shortest_majority" (maj@k for k = 1, 2, 4, ..., N at the largest budget and smallest
"Wait" count). Every other method (s1_eval.methods) is one curve of its points.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .methods import CLASSES, PARALLEL, SEQUENTIAL

if TYPE_CHECKING:
    from .deepconf import ConfVote

METHODS = ("budget_forcing", "wait_count", "majority_voting", "shortest_majority")
METHOD_TITLES = {
    "budget_forcing": "budget forcing",
    "wait_count": '"Wait" count',
    "majority_voting": "majority voting",
    "shortest_majority": "shortest-majority voting",
    "deepconf": "DeepConf (offline)",
    "deepconf_online": "DeepConf (online)",
}
# the `--method` that asks for a curve (the budget method's curves come with it)
FAMILY = {
    "budget_forcing": "budget",
    "wait_count": "budget",
    "majority_voting": "majority",
    "shortest_majority": "shortest-majority",
    "deepconf": "deepconf",
    "deepconf_online": "deepconf-online",
}


def _budget_rank(b: Any) -> float:
    return float(b) if isinstance(b, int | float) and not isinstance(b, bool) else math.inf


def in_budget(rec: dict) -> bool:
    """The run's thinking stayed inside the budget: the steps the prompt stated, else the
    tokens the prompt stated (rejection: the budget it had to fit), else [min, budget]
    where budget is the one the engine enforced."""
    if rec.get("stated_steps") is not None:
        return int(rec.get("steps_used", 0)) <= int(rec["stated_steps"])
    t = rec["thinking_tokens"]
    budget = int(rec["stated_tokens"] if rec.get("stated_tokens") is not None else rec["budget"])
    low = min(int(rec.get("min_thinking", 0)), budget)
    return low <= t <= budget


def majority(records: Sequence[dict]) -> bool:
    """Majority vote over the extracted answers (empty ones abstain); ties go to the first."""
    votes = Counter(r["extracted"] for r in records if r["extracted"])
    if not votes:
        return False
    top = votes.most_common(1)[0][0]
    return any(r["correct"] for r in records if r["extracted"] == top)


def shortest_majority(records: Sequence[dict]) -> bool:
    """Majority vote where a tie goes to the answer whose samples thought least (mean
    thinking tokens; then the first seen): the length prior of Zeng et al. 2025, who
    found correct solutions shorter than wrong ones for o1-like models."""
    groups: dict[str, list[int]] = {}
    for r in records:
        if r["extracted"]:
            groups.setdefault(r["extracted"], []).append(r["thinking_tokens"])
    if not groups:
        return False
    top = min(groups, key=lambda a: (-len(groups[a]), _mean(groups[a])))
    return any(r["correct"] for r in records if r["extracted"] == top)


def vote_sizes(n: int) -> list[int]:
    ks = [2**i for i in range(0, max(1, n).bit_length()) if 2**i <= n]
    return ks + ([n] if n not in ks else [])


def _mean(xs: Iterable[float]) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else 0.0


def _order(first: dict) -> tuple[float, float]:
    """A point's place on its method's curve: the stated budget, or (budget, class)."""
    stated = first.get("stated_tokens", first.get("stated_steps"))
    if stated is not None:
        return (float(stated), 0.0)
    cls = first.get("condition", "")
    return (_budget_rank(first["max_thinking"]), float(CLASSES.index(cls) if cls in CLASSES else 0))


def policy_stats(records: Sequence[dict]) -> dict[str, Any]:
    """The numbers of one policy, from its records."""
    first = records[0]
    by_q: dict[str, list[dict]] = defaultdict(list)
    for r in sorted(records, key=lambda r: r["sample"]):
        by_q[r["id"]].append(r)
    n = max(len(v) for v in by_q.values())
    maj = {k: 100.0 * _mean(majority(v[:k]) for v in by_q.values()) for k in vote_sizes(n)}
    short = {
        k: 100.0 * _mean(shortest_majority(v[:k]) for v in by_q.values()) for k in vote_sizes(n)
    }
    stats = {
        "policy": first["policy"],
        "method": first.get("method", "budget"),
        "condition": first.get("condition", ""),
        "max_thinking": first["max_thinking"],
        "num_ignore": first["num_ignore"],
        "ignore_str": first.get("ignore_str", "Wait"),
        "runs": len(records),
        "questions": len(by_q),
        "accuracy": 100.0 * _mean(r["correct"] for r in records),
        "majority_accuracy": maj[max(maj)],
        "majority_at": {str(k): v for k, v in maj.items()},
        "shortest_majority_at": {str(k): v for k, v in short.items()},
        "mean_thinking_tokens": _mean(r["thinking_tokens"] for r in records),
        "mean_compute_tokens": _mean(
            r.get("compute_thinking_tokens", r["thinking_tokens"]) for r in records
        ),
        "mean_answer_tokens": _mean(r["answer_tokens"] for r in records),
        "mean_waits": _mean(r["waits"] for r in records),
        "control": 100.0 * _mean(in_budget(r) for r in records),
        "order": list(_order(first)),
    }
    if "draws" in first:
        stats["mean_draws"] = _mean(r["draws"] for r in records)
        stats["fit"] = 100.0 * _mean(bool(r["fit"]) for r in records)
    if "probe_tokens" in first or first.get("method") == "deer":
        stats["mean_probes"] = _mean(r.get("probes", 0) for r in records)
        stats["mean_probe_tokens"] = _mean(r.get("probe_tokens", 0) for r in records)
    if "steps_used" in first:
        stats["mean_steps"] = _mean(r["steps_used"] for r in records)
    return stats


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


def summarize(
    records: Sequence[dict],
    policy_order: Sequence[str] | None = None,
    wanted: Sequence[str] | None = None,
    conf: ConfVote | None = None,
) -> dict[str, Any]:
    """Per-policy numbers and the paper's metrics per method, from sample records.

    `wanted`: the `--method`s asked for (None: budget forcing); a curve is reported when
    its method was asked for (majority voting also with budget forcing, as always).
    `conf`: DeepConf's vote (s1_eval.deepconf), when a deepconf method is asked for."""
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
        "methods": methods(stats, by_policy, wanted, conf),
    }


Curve = list[tuple[dict, int | None, float, float, float]]  # stats, votes, x, compute, accuracy


def budget_curves(stats: Sequence[dict]) -> dict[str, Curve]:
    """The budget method's curves: budgets, "Wait" counts per ignore string, votes."""
    if not stats:
        return {}
    low_k = min(s["num_ignore"] for s in stats)
    top_b = max((s["max_thinking"] for s in stats), key=_budget_rank)
    strings = list(dict.fromkeys(s["ignore_str"] for s in stats if s["num_ignore"]))
    low = [s for s in stats if s["num_ignore"] == low_k]
    low = [s for s in low if s["ignore_str"] == low[0]["ignore_str"]]
    first = "Wait" if "Wait" in strings else (strings[0] if strings else None)

    def seq(pts: Iterable[dict]) -> Curve:
        return [
            (s, None, s["mean_thinking_tokens"], s["mean_compute_tokens"], s["accuracy"])
            for s in pts
        ]

    curves = {"budget_forcing": seq(sorted(low, key=lambda s: _budget_rank(s["max_thinking"])))}
    for s_ in strings or [None]:
        name = "wait_count" if s_ == first else f"wait_count[{s_ or 'none'}]"
        pts = [
            s for s in stats if s["max_thinking"] == top_b and (s in low or s["ignore_str"] == s_)
        ]
        curves[name] = seq(sorted(pts, key=lambda s: s["num_ignore"]))
    base = next((s for s in low if s["max_thinking"] == top_b), None)
    if base is not None:
        x = base["mean_thinking_tokens"]
        for name, key in (
            ("majority_voting", "majority_at"),
            ("shortest_majority", "shortest_majority_at"),
        ):
            curves[name] = [
                (base, int(k), int(k) * x, int(k) * x, acc) for k, acc in base[key].items()
            ]
    return curves


def class_control(runs: Sequence[dict]) -> float:
    """Class-conditional Control: the share of (question, sample, budget) pairs whose
    "long" run thought longer than its "short" run."""
    pairs: dict[tuple, dict[str, int]] = defaultdict(dict)
    for r in runs:
        pairs[(r["id"], r["sample"], str(r["max_thinking"]))][r.get("condition", "")] = r[
            "thinking_tokens"
        ]
    both = [p for p in pairs.values() if "short" in p and "long" in p]
    return 100.0 * _mean(p["long"] > p["short"] for p in both)


def methods(
    stats: Sequence[dict],
    by_policy: dict[str, list[dict]],
    wanted: Sequence[str] | None = None,
    conf: ConfVote | None = None,
) -> dict[str, Any]:
    """Every method's curve and its Control / Scaling / Performance."""
    wanted = list(wanted or ["budget"])
    curves = {
        k: v
        for k, v in budget_curves([s for s in stats if s["method"] == "budget"]).items()
        if FAMILY.get(k.split("[")[0]) in wanted or (k == "majority_voting" and "budget" in wanted)
    }
    for m in SEQUENTIAL[1:]:
        pts = sorted((s for s in stats if s["method"] == m), key=lambda s: s["order"])
        if pts and m in wanted:
            curves[m] = [
                (s, None, s["mean_thinking_tokens"], s["mean_compute_tokens"], s["accuracy"])
                for s in pts
            ]
    if {"deepconf", "deepconf-online"} & set(wanted):
        from .deepconf import ConfVote
        from .deepconf import curves as conf_curves

        found = conf_curves(stats, by_policy, conf or ConfVote())
        curves |= {k: v for k, v in found.items() if FAMILY[k] in wanted}
    out: dict[str, Any] = {}
    for name, pts in curves.items():
        if not pts:
            continue
        policies = {p[0]["policy"] for p in pts}
        runs = [r for pol in policies for r in by_policy[pol]]
        family = FAMILY.get(name.split("[")[0], name)
        control = (
            class_control(runs)
            if family.startswith("class-conditional")
            else 100.0 * _mean(in_budget(r) for r in runs)
        )
        lin, log = scaling_slopes([(x, y) for _, _, x, _, y in pts])
        out[name] = {
            "method": family,
            "parallel": family in PARALLEL,
            "points": [
                {
                    "policy": s["policy"],
                    "condition": s["condition"],
                    **({"votes": k} if k is not None else {}),
                    "thinking_tokens": x,
                    "compute_tokens": c,
                    "accuracy": y,
                }
                for s, k, x, c, y in pts
            ],
            "control": control,
            "scaling": lin,
            "scaling_log2": log,
            "performance": max(y for *_, y in pts),
        }
    return out
