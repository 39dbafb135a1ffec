"""A paced engine: tokens reach the budget-forcing machine at the pace, none while paused,
and an intervention made while paused still takes effect at the next token."""

from __future__ import annotations

import time

from s1_engine import BudgetPolicy, TokenDelta
from s1_engine.pacing import Pace, pace_engine


def thinking(session) -> int:
    deltas = [i for i in session.items() if isinstance(i, TokenDelta)]
    return deltas[-1].thinking_tokens if deltas else 0


def test_the_pace_and_the_pause_hold_where_the_machine_sees_tokens(hf_engine):
    pace = Pace(20)
    assert pace_engine(hf_engine, pace) and pace_engine(hf_engine, pace)  # twice: one wrapper
    try:
        policy = BudgetPolicy(max_thinking_tokens=3000, answer_max_tokens=4)
        session = hf_engine.start("What is 1+2?", policy, format="think-tags")
        seen, t0 = 0, time.perf_counter()
        for item in session:
            if isinstance(item, TokenDelta) and item.segment == "think":
                seen = item.thinking_tokens
                if seen >= 10:
                    break
        assert time.perf_counter() - t0 >= 9 / 20 * 0.95  # never faster than the pace
        pace.pause()
        time.sleep(0.3)  # what was on its way lands
        held = thinking(session)
        time.sleep(0.6)
        assert thinking(session) == held  # nothing while paused
        session.end_thinking()  # taken while paused ...
        pace.resume()
        result = session.result(timeout=60)
        ends = [(e.kind, e.cause) for e in result.events if e.kind == "end_thinking"]
        assert ends == [("end_thinking", "user")]  # ... and applied
        assert held <= result.thinking_tokens <= held + 1
    finally:
        pace_engine(hf_engine, Pace(0))  # the shared engine goes on at full speed
