"""DeepConf's confidence (Fu et al., "Deep Think with Confidence", arXiv 2508.15260) as a
state of the budget-forcing machine (`BudgetForcer` inherits `ConfidenceRule`), and the
pure math the evaluation scores finished traces with.

Token confidence C_i = -(1/k) * sum of the k largest log probabilities at position i (a
peaked distribution: a large C). Group confidence: the mean C of a sliding window of n
tokens. A trace's score: its lowest group confidence (also the paper's tail and
bottom-10% variants). Only sampled thinking tokens have a confidence (forced ones were
not drawn from the model), counted across the thinking's backend requests.

Online, a policy's `conf_stop` > 0 ends the request as soon as a full window's group
confidence falls below it: a `stop` event caused by "policy" (the paper's early stop: the
trace gets no answer and leaves the vote).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import events as ev

if TYPE_CHECKING:
    from .forcing import BudgetForcer

    _Base = BudgetForcer
else:
    _Base = object

BOTTOM_SHARE = 0.1  # the paper's bottom-10% group confidence


def token_confidence(top: Sequence[float]) -> float:
    """C_i from the k largest log probabilities of one position."""
    return -sum(top) / len(top)


def group_confidences(confs: Sequence[float], window: int) -> list[float]:
    """The mean confidence of every full window (DeepConf's code: a trace shorter than
    the window is one group, its mean)."""
    if not confs:
        return []
    if len(confs) < window:
        return [sum(confs) / len(confs)]
    run = sum(confs[:window])
    out = [run / window]
    for i in range(window, len(confs)):
        run += confs[i] - confs[i - window]
        out.append(run / window)
    return out


def trace_scores(confs: Sequence[float], window: int) -> dict[str, float] | None:
    """A trace's scores: "lowest" (the lowest group confidence), "bottom10" (the mean of
    the lowest 10% of its groups), "tail" (the mean of its last `window` tokens), "mean".
    None for a trace without a measured token."""
    groups = group_confidences(confs, window)
    if not groups:
        return None
    low = sorted(groups)[: max(1, int(len(groups) * BOTTOM_SHARE))]
    tail = confs[-window:]
    return {
        "lowest": min(groups),
        "bottom10": sum(low) / len(low),
        "tail": sum(tail) / len(tail),
        "mean": sum(confs) / len(confs),
    }


class ConfidenceRule(_Base):
    def _conf_init(self) -> None:
        self.token_confidences: list[float] = []  # DeepConf: each sampled thinking token's
        self._conf_sum = 0.0  # of the last `conf_window` of them

    def _confidence_stops(self, top: Sequence[float]) -> bool:
        """Note the confidence of the thinking token just sampled; True: its window's
        group confidence is below the policy's `conf_stop`, and the request is stopped."""
        if not top or self.policy.conf_stop is None:
            return False  # no probabilities for this token (vLLM's stop id reported apart)
        confs, w = self.token_confidences, self.policy.conf_window
        confs.append(token_confidence(top))
        self._conf_sum += confs[-1] - (confs[-1 - w] if len(confs) > w else 0.0)
        if not self.policy.conf_stop or len(confs) < w:
            return False
        group = self._conf_sum / w
        if group >= self.policy.conf_stop:
            return False
        self._event(ev.STOP, "policy", f"confidence {group:.3f} < {self.policy.conf_stop:g}")
        self._finish("stopped", "policy")
        return True
