"""The per-request fields of `s1_engine.vllm_plugin` (`SamplingParams.extra_args`, or
`vllm_xargs` in a `vllm serve` request's extra_body) and the policy they make.

A `vllm_xargs` value is a string, a whole number or a float: every field reads those, and
a list field (`interventions`) also its JSON. A bad value is an `S1Error` whose one line
vLLM returns as the request's 400.
"""

from __future__ import annotations

from typing import Any

from .errors import S1Error
from .policy import BudgetPolicy, parse_budget, parse_ignore_str, parse_interventions

FIELDS = (
    "max_thinking_tokens",
    "min_thinking_tokens",
    "num_ignore",
    "ignore_str",
    "answer_max_tokens",
    "format",
    "lead_in_on_user_end",
    "interventions",
    "wrap_up",
    "grace_tokens",
    "suppress",
    "alpha",
    "alpha_p",
    "deer_threshold",
    "deer_probe_tokens",
    "conf_stop",
    "conf_window",
)


def s1_args(params: Any) -> dict[str, Any] | None:
    """The request's budget-forcing fields (None: not a budget-forced request)."""
    extra = getattr(params, "extra_args", None) or {}
    if not any(k in extra for k in FIELDS) and "s1_id" not in extra:
        return None
    return extra


def policy_from_args(a: dict[str, Any]) -> BudgetPolicy:
    """A `BudgetPolicy` from request fields (`vllm_xargs` values are str / int / float)."""
    if str(a.get("suppress", "")).strip():
        raise S1Error(
            "suppress (NoWait) does not run inside plain vllm serve: a caught word is sampled"
            " again with its id masked, a new request",
            "use s1 serve --backend vllm (its suppress field), or leave suppress out",
        )
    if str(a.get("alpha", "0")).strip() not in ("", "0", "0.0"):
        raise S1Error(
            "alpha (AlphaOne) does not run inside plain vllm serve: past the alpha moment the"
            " model's own Wait is taken back and replaced by the end of thinking",
            "use s1 serve --backend vllm (its alpha field), or leave alpha out",
        )
    if any(str(a.get(k, "")).strip() for k in ("deer_threshold", "deer_probe_tokens")):
        raise S1Error(
            "DEER (deer_threshold) does not run inside plain vllm serve: each probe is a side"
            " request for a trial answer, which a logits processor cannot start",
            "use s1 serve --backend vllm (its deer field), or leave the deer fields out",
        )
    if any(str(a.get(k, "")).strip() for k in ("conf_stop", "conf_window")):
        raise S1Error(
            "conf_stop / conf_window (DeepConf) do not run inside plain vllm serve: a token's"
            " confidence needs its top-k log probabilities, which a logits processor is not given",
            "use s1 serve --backend vllm (its conf_stop field), or leave them out",
        )
    ignore = a.get("ignore_str", "Wait")
    if isinstance(ignore, list | tuple):
        ignore_str: str | tuple[str, ...] = tuple(str(x) for x in ignore)
    elif str(ignore).strip().lower() in ("", "none"):
        ignore_str = ()
    else:
        ignore_str = parse_ignore_str(str(ignore))

    def whole(name: str, default: int) -> int:
        v = a.get(name, default)
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise S1Error(f"{name} must be a whole number, got {v!r}", f"e.g. {name}={default}")
        try:
            return int(v)
        except ValueError:
            raise S1Error(
                f"{name} must be a whole number, got {v!r}", f"e.g. {name}={default}"
            ) from None

    return BudgetPolicy(
        max_thinking_tokens=parse_budget(a.get("max_thinking_tokens", "auto")),
        min_thinking_tokens=whole("min_thinking_tokens", 0),
        num_ignore=whole("num_ignore", 0),
        ignore_str=ignore_str,
        answer_max_tokens=whole("answer_max_tokens", 1024),
        lead_in_on_user_end=str(a.get("lead_in_on_user_end", True)).lower() not in ("0", "false"),
        interventions=parse_interventions(a.get("interventions", ())),
        wrap_up=str(a.get("wrap_up", "")),
        grace_tokens=whole("grace_tokens", 0),
    )
