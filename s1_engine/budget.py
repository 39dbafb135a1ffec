"""How many thinking tokens a budget means for one request (pure arithmetic).

An explicit budget is capped only by the context. "auto" is the s1 reference's (its
lm-evaluation-harness fork): the context minus the prompt (with its thinking start)
minus the delimiter and answer lead-in minus 100 tokens for the answer. "fit" leaves
`answer_max_tokens` for the answer (half the room when that is tight).
"""

from __future__ import annotations

from .formats import BoundFormat
from .policy import AUTO_ANSWER_RESERVE


def closing_reserve(fmt: BoundFormat) -> int:
    """Tokens a forced end appends: a newline, the delimiter, the answer lead-in."""
    return len(fmt.newline_ids) + len(fmt.think_end_ids) + len(fmt.lead_in_ids)


def room(context_len: int, prompt_len: int, fmt: BoundFormat) -> int:
    """Tokens the context has left for thinking, once the closing is accounted for."""
    return max(0, context_len - prompt_len - closing_reserve(fmt) - 1)


def thinking_budget(
    budget: int | str, context_len: int, prompt_len: int, fmt: BoundFormat, answer_max_tokens: int
) -> int:
    space = room(context_len, prompt_len, fmt)
    if budget == "auto":
        auto = context_len - prompt_len - len(fmt.end_max_ids) - AUTO_ANSWER_RESERVE
        return max(0, min(auto, space))
    if budget == "fit":
        return max(space - answer_max_tokens, space // 2)
    return min(int(budget), space)
