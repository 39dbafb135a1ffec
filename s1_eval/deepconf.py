"""DeepConf (Fu et al., "Deep Think with Confidence", arXiv 2508.15260) beside majority
voting: the parallel methods ``deepconf`` (offline) and ``deepconf-online``.

- ``deepconf``: over the `--samples` samples of the budget method's base point (as
  ``majority``), each trace scored by its lowest group confidence (`--conf-score`: also
  the paper's ``bottom10`` / ``tail``); the top eta% of the traces with an answer are
  kept (`--conf-eta` 90: DeepConf-high; 10: DeepConf-low; the paper's cut: a score at or
  above the (100 - eta)th percentile) and vote, each with its score as its weight. k
  samples cost k samples' thinking, as majority voting.
- ``deepconf-online``: per question, the base point's first `--conf-warmup` samples are
  the warm-up; the threshold s is the (100 - eta)th percentile of their lowest group
  confidences; every later sample runs with `conf_stop = s`, so the machine stops it
  once a window's confidence falls below s (a `stop` by "policy"). As the paper's code:
  the warm-up traces at or above s and the later ones not stopped vote, weighted by
  their lowest group confidence; a stopped trace leaves the vote, its thinking tokens
  still count as compute (the warm-up's too). It samples with the base point's seeds,
  so a later trace is its offline sample until the stop. Not built: the paper's
  adaptive sampling (stop sampling at a consensus).
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from s1_engine.confidence import trace_scores
from s1_engine.errors import S1Error
from s1_engine.policy import BudgetPolicy

CONF_METHODS = ("deepconf", "deepconf-online")
SCORES = ("lowest", "bottom10", "tail")


@dataclass(frozen=True)
class ConfVote:
    """DeepConf's vote: keep the top `eta` percent by `score`; `warmup` traces (online)."""

    eta: float = 90.0
    warmup: int = 4
    score: str = "lowest"

    def __post_init__(self) -> None:
        if not 0 < self.eta <= 100:
            raise S1Error(f"--conf-eta must be in (0, 100], got {self.eta:g}", "e.g. 90 or 10")
        if self.warmup < 1:
            raise S1Error(f"--conf-warmup must be >= 1, got {self.warmup}", "e.g. --conf-warmup 4")
        if self.score not in SCORES:
            raise S1Error(
                f"unknown --conf-score {self.score!r}", f"use one of: {', '.join(SCORES)}"
            )


def percentile(xs: Sequence[float], q: float) -> float:
    """The q-th percentile with linear interpolation (numpy's default, the paper's code)."""
    s = sorted(xs)
    at = (len(s) - 1) * q / 100.0
    lo, hi = math.floor(at), math.ceil(at)
    return s[lo] + (s[hi] - s[lo]) * (at - lo)


def weighted_winner(answers: Sequence[str], weights: Sequence[float]) -> str | None:
    """The answer with the largest total weight (ties: the first seen)."""
    total: dict[str, float] = {}
    for a, w in zip(answers, weights):
        total[a] = total.get(a, 0.0) + w
    return max(total, key=lambda a: total[a]) if total else None


def score(rec: dict, kind: str = "lowest") -> float | None:
    return (rec.get("confidence") or {}).get(kind)


def kept(records: Sequence[dict], vote: ConfVote) -> list[dict]:
    """The traces that vote offline: those with an answer and a score, at or above the
    (100 - eta)th percentile of their scores."""
    valid = [r for r in records if r["extracted"] and score(r, vote.score) is not None]
    if not valid:
        return []
    cut = percentile([score(r, vote.score) for r in valid], 100.0 - vote.eta)  # type: ignore[misc]
    return [r for r in valid if score(r, vote.score) >= cut]  # type: ignore[operator]


def offline_vote(records: Sequence[dict], vote: ConfVote) -> bool:
    """DeepConf offline over these samples: is the confidence-weighted winner correct?"""
    keep = kept(records, vote)
    top = weighted_winner([r["extracted"] for r in keep], [score(r, vote.score) for r in keep])  # type: ignore[misc]
    return top is not None and any(r["correct"] for r in keep if r["extracted"] == top)


def stopped(rec: dict) -> bool:
    return any(e["kind"] == "stop" and e["cause"] == "policy" for e in rec.get("events", []))


def online_voters(warm: Sequence[dict], later: Sequence[dict], threshold: float) -> list[dict]:
    """Who votes online: warm-up traces at or above the threshold, later ones not stopped."""
    voters = [r for r in warm if (score(r) or 0.0) >= threshold] + [
        r for r in later if not stopped(r)
    ]
    return [r for r in voters if r["extracted"]]


def online_vote(warm: Sequence[dict], later: Sequence[dict], threshold: float) -> bool:
    voters = online_voters(warm, later, threshold)
    top = weighted_winner([r["extracted"] for r in voters], [score(r) or 0.0 for r in voters])
    return top is not None and any(r["correct"] for r in voters if r["extracted"] == top)


def threshold(warm: Sequence[dict], eta: float) -> float | None:
    """The online stop: the (100 - eta)th percentile of the warm-up's lowest confidences."""
    scores = [s for r in warm if (s := score(r)) is not None]
    return percentile(scores, 100.0 - eta) if scores else None


# ----- the run: points, records, the warm-up -----------------------------------------------
def add_points(points: list[Any], base: BudgetPolicy, wants: set[str], vote: ConfVote) -> list:
    """The base point measures confidence (no token changes: its label stays); online, a
    point for the samples after the warm-up."""
    from .methods import Point

    measured = base.with_(conf_stop=0.0) if base.conf_stop is None else base
    out = [replace(p, policy=measured) if p.policy == base else p for p in points]
    if "deepconf-online" in wants:
        cond = f"eta={vote.eta:g}, warmup={vote.warmup}"
        out.append(
            Point("deepconf-online", measured, cond, first_sample=vote.warmup, base=base.label())
        )
    return out


def record_fields(job: Any, result: Any) -> dict[str, Any]:
    """What a measured trace adds to its record: its scores (and the window they used);
    online, the threshold it ran under and whether it was stopped."""
    p = job.policy
    if p.conf_stop is None:
        return {}
    out: dict[str, Any] = {
        "confidence": {
            "window": p.conf_window,
            **(trace_scores(result.token_confidences, p.conf_window) or {}),
        }
    }
    if job.point.method == "deepconf-online":
        out |= {"conf_threshold": p.conf_stop, "conf_warmup": job.point.first_sample}
        out["conf_base"] = job.point.base
    return out


def stale(rec: dict, job: Any) -> bool:
    """A saved record that lacks the confidence this run measures (another window, or run
    before deepconf was asked for)."""
    p = job.policy
    return p.conf_stop is not None and (rec.get("confidence") or {}).get("window") != p.conf_window


class Warmup:
    """deepconf-online's wait for its warm-up: a later sample starts once the base point's
    first samples of its question are graded (saved ones count at once)."""

    def __init__(self, points: Sequence[Any], done: dict[str, dict], eta: float) -> None:
        self._online = {p.base: p for p in points if p.method == "deepconf-online"}
        self._eta = eta
        self._got: dict[tuple[str, int], dict | None] = {}
        self._events: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        for rec in done.values():
            if rec["policy"] in self._online:
                self._got[(rec["id"], rec["sample"])] = rec

    def arrived(self, job: Any, rec: dict | None) -> None:
        if job.point.label() in self._online and job.point.method != "deepconf-online":
            self._got[(job.item.id, job.sample)] = rec
            self._events[job.item.id].set()

    async def policy(self, job: Any) -> BudgetPolicy:
        """The job's policy: online, with the threshold its question's warm-up set."""
        if job.point.method != "deepconf-online":
            return job.policy
        n, qid = job.point.first_sample, job.item.id
        while any((qid, s) not in self._got for s in range(n)):
            self._events[qid].clear()
            await self._events[qid].wait()
        warm = [r for s in range(n) if (r := self._got[(qid, s)]) is not None]
        s_ = threshold(warm, self._eta)
        return job.policy.with_(conf_stop=0.0 if s_ is None else s_)


# ----- the summary --------------------------------------------------------------------------
def curves(stats: Sequence[dict], by_policy: dict[str, list[dict]], vote: ConfVote) -> dict:
    """The curves of both methods: offline, DeepConf@k for k = 1, 2, 4, ..., N over the
    base point's samples (x: k samples' thinking); online, one point (x: every thinking
    token of a question's traces, warm-up and stopped ones included)."""
    from .metrics import _mean, vote_sizes

    out: dict[str, list] = {}
    for s in stats:
        recs = sorted(by_policy[s["policy"]], key=lambda r: r["sample"])
        by_q: dict[str, list[dict]] = defaultdict(list)
        for r in recs:
            by_q[r["id"]].append(r)
        if s["method"] == "budget" and "confidence" in recs[0]:
            x = s["mean_thinking_tokens"]
            out["deepconf"] = [
                (
                    s,
                    k,
                    k * x,
                    k * x,
                    100.0 * _mean(offline_vote(v[:k], vote) for v in by_q.values()),
                )
                for k in vote_sizes(max(len(v) for v in by_q.values()))
            ]
        elif s["method"] == "deepconf-online":
            base = by_policy.get(recs[0]["conf_base"], [])
            n = recs[0]["conf_warmup"]
            warm: dict[str, list[dict]] = defaultdict(list)
            for r in base:
                if r["sample"] < n:
                    warm[r["id"]].append(r)
            acc = [online_vote(warm[q], v, v[0]["conf_threshold"]) for q, v in by_q.items()]
            spent = [sum(r["thinking_tokens"] for r in warm[q] + v) for q, v in by_q.items()]
            votes = n + max(len(v) for v in by_q.values())
            out["deepconf_online"] = [(s, votes, _mean(spent), _mean(spent), 100.0 * _mean(acc))]
    return out
