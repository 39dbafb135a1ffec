"""The one wire form (JSON-able dicts) of stream items, results and policies: the server's
`s1_detail` streams, its client (`s1_serve.client`) and the console's history."""

from __future__ import annotations

from typing import Any

from .events import Event, Result, StreamItem, TokenDelta
from .policy import BudgetPolicy


# ----- the wire form of stream items and results ----------------------------------------
def event_to_wire(e: Event) -> dict[str, Any]:
    return {
        "kind": e.kind,
        "cause": e.cause,
        "token_index": e.token_index,
        "text": e.text,
        "thinking_tokens": e.thinking_tokens,
    }


def item_to_wire(item: StreamItem) -> dict[str, Any]:
    if isinstance(item, TokenDelta):
        return {
            "type": "delta",
            "segment": item.segment,
            "token_ids": list(item.token_ids),
            "text": item.text,
            "forced": item.forced,
            "thinking_tokens": item.thinking_tokens,
            "answer_tokens": item.answer_tokens,
        }
    return {"type": "event", **event_to_wire(item)}


def event_from_wire(d: dict[str, Any]) -> Event:
    return Event(d["kind"], d["cause"], d["token_index"], d.get("text", ""), d["thinking_tokens"])


def item_from_wire(d: dict[str, Any]) -> StreamItem:
    if d["type"] == "delta":
        return TokenDelta(
            d["segment"],
            tuple(d["token_ids"]),
            d["text"],
            d["forced"],
            d["thinking_tokens"],
            d["answer_tokens"],
        )
    return event_from_wire(d)


def result_to_wire(r: Result) -> dict[str, Any]:
    return {
        "prompt_ids": r.prompt_ids,
        "output_ids": r.output_ids,
        "thinking": r.thinking,
        "answer": r.answer,
        "thinking_tokens": r.thinking_tokens,
        "answer_tokens": r.answer_tokens,
        "events": [event_to_wire(e) for e in r.events],
        "finish_reason": r.finish_reason,
        "seconds": r.seconds,
        "forced_mask": r.forced_mask,
        "probes": r.probes,
        "probe_tokens": r.probe_tokens,
    }


def result_from_wire(d: dict[str, Any]) -> Result:
    return Result(
        prompt_ids=list(d["prompt_ids"]),
        output_ids=list(d["output_ids"]),
        thinking=d["thinking"],
        answer=d["answer"],
        thinking_tokens=d["thinking_tokens"],
        answer_tokens=d["answer_tokens"],
        events=[event_from_wire(e) for e in d["events"]],
        finish_reason=d["finish_reason"],
        seconds=d["seconds"],
        forced_mask=list(d["forced_mask"]),
        probes=d.get("probes", 0),
        probe_tokens=d.get("probe_tokens", 0),
    )


def policy_to_wire(p: BudgetPolicy) -> dict[str, Any]:
    """A policy as request fields (what `RemoteEngine.start` sends)."""
    s = p.thinking
    d: dict[str, Any] = {
        "max_thinking_tokens": p.max_thinking_tokens,
        "min_thinking_tokens": p.min_thinking_tokens,
        "num_ignore": p.num_ignore,
        "ignore_str": p.ignore_str if isinstance(p.ignore_str, str) else list(p.ignore_str),
        "answer_max_tokens": p.answer_max_tokens,
        "temperature": s.temperature,
        "top_p": s.top_p,
        "top_k": s.top_k,
    }
    if s.seed is not None:
        d["seed"] = s.seed
    if p.interventions:
        d["intervene"] = [list(x) for x in p.interventions]
    if p.wrap_up:
        d["wrap_up"] = p.wrap_up
    if p.grace_tokens:
        d["grace_tokens"] = p.grace_tokens
    if p.suppress:
        d["suppress"] = list(p.suppress)
    if p.alpha:
        d["alpha"], d["alpha_p"] = p.alpha, p.alpha_p
    if p.deer_threshold is not None:
        d["deer"] = p.deer_threshold
        d["deer_probe_tokens"] = p.deer_probe_tokens
    return d
