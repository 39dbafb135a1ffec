"""s1-style traces of the synthetic tasks: the steps one by one, and "Wait".

Every line of a subtract / quotient / gcd trace holds all the next line needs (and
whether to stop), so no step has to find a number in the question beyond the first line
of a part: a 4-layer model does each step reliably and the answer depends only on doing
enough of them. (The list kinds need an item copied out of the question at every step,
which a model that small does not learn dependably.)

Traces (`make_trace`) show the steps in the s1 style: some conclude too early (after the
first part of a two-part list; in subtract / quotient with k = 3, at the first result
below 10) and go on after "Wait", some make a slip, say "Wait, ... is wrong" and fix it,
some re-check the last step after "Wait" before they end; "hasty" traces conclude too
early and stop, the habit that "Wait" forcing repairs. `make_sft_rows` turns tasks into
s1K-style rows (question, thinking_trajectories, attempt, solution) for `s1 train`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from .tasks import LIST_KINDS, LIST_WORD, PART_WORD, SyntheticTask, gcd_lines

CONCLUDE = "So the answer is {}."
TWO_PART_WAIT = "Wait, there is a second part."
FIX_WAIT = "Wait, {} is wrong. {}"
CHECK_WAIT = "Wait, check: {}. Yes, the answer is {}."
_NUM = re.compile(r"-?\d+")


def _steps(
    task: SyntheticTask, values: Sequence[int], state: int | None, prev: str
) -> tuple[list[str], int]:
    """Step lines over `values`, from `state` (None: nothing done yet).

    Each line starts with the item before (or the word before the list) and the item,
    exactly as they stand in the question, then the step: `8 1: 11+1=12`.
    """
    lines: list[str] = []
    for v in values:
        head = f"{prev} {v}:"
        if task.kind == "sum":
            state = state or 0
            lines.append(f"{head} {state}+{v}={state + v}")
            state += v
        elif task.kind == "count":
            state = state or 0
            if v % 2 == 0:
                state += 1
                lines.append(f"{head} even {state}")
            else:
                lines.append(f"{head} odd {state}")
        elif task.kind == "max":
            state = v if state is None else max(state, v)
            lines.append(f"{head} max {state}")
        prev = str(v)
    assert state is not None
    return lines, state


def _subtract_steps(n: int, k: int, count: int | None = None) -> tuple[list[str], int]:
    """``61-7=54`` until the result is less than k (the remainder of n / k); with
    `count` (the steps done before), lines count the steps (``61-7=54 count 3``) and the
    result is their number. Either way the answer is the last number of the last line."""
    lines = []
    while n >= k:
        if count is None:
            lines.append(f"{n}-{k}={n - k}")
        else:
            count += 1
            lines.append(f"{n}-{k}={n - k} count {count}")
        n -= k
    return lines, n if count is None else count


def _add_steps(a: int, b: int) -> tuple[list[str], int]:
    da, db = str(a)[::-1], str(b)[::-1]
    carry, written, lines = 0, "", []
    for i in range(max(len(da), len(db))):
        x = int(da[i]) if i < len(da) else 0
        y = int(db[i]) if i < len(db) else 0
        s = x + y + carry
        expr = f"{x}+{y}" + (f"+{carry}" if carry else "")
        carry = s // 10
        written = str(s % 10) + written
        last = i == max(len(da), len(db)) - 1
        if last and carry:
            written = "1" + written
            carry = 0
        lines.append(f"{expr}={s} so {written}" + (" carry 1" if carry else ""))
    return lines, int(written)


def _slip(line: str, rng: random.Random) -> str | None:
    """The same step with a wrong result (the last number off by one or two)."""
    m = list(_NUM.finditer(line))
    if not m:
        return None
    last = m[-1]
    wrong = int(last.group()) + rng.choice([-2, -1, 1, 2])
    if wrong < 0:
        wrong = int(last.group()) + 1
    return line[: last.start()] + str(wrong) + line[last.end() :]


def make_trace(
    task: SyntheticTask, rng: random.Random, style: str | None = None
) -> tuple[str, str]:
    """(thinking, attempt) for `task`, in the s1 style.

    `style`: "plain" (the steps, then the conclusion), "fix" (a slip, then "Wait, ...
    is wrong." and the fixed step), "check" (re-check the last step after "Wait"),
    "resume" (conclude too early, then "Wait" and go on: after the first part of a
    two-part task, "Wait, there is a second part"; in subtract/quotient with k = 3,
    at the first result below 10, "Wait, 7 is not less than 3"), "hasty" (conclude too
    early and stop: the attempt is then WRONG; the premature stopping that "Wait"
    forcing repairs). None picks one at random (never "hasty"; always "resume" where
    a task can pause, see `can_pause`).
    """
    pause = _pause(task)
    if style is None:
        r = rng.random()
        if pause is not None:
            style = "resume"
        elif r < 0.12:
            style = "fix"
        elif r < 0.27:
            style = "check"
        else:
            style = "plain"
    if style in ("resume", "hasty") and pause is None:
        style = "plain"
    first_lines, rest, part_result, result, resume_line = pause or _full(task)
    lines = first_lines + rest
    out: list[str] = []
    if style in ("resume", "hasty"):
        out = first_lines + [CONCLUDE.format(part_result)]
        if style == "hasty":
            return "\n".join(out), f"Final Answer: {part_result}"
        out.append(resume_line)
        out += rest + [CONCLUDE.format(result)]
        if rng.random() < 0.25:  # after the whole task, a "Wait" re-checks
            out += _checks(lines, result, rng)
    elif style == "fix" and lines:
        j = rng.randrange(len(lines))
        bad = _slip(lines[j], rng)
        out = lines[:j]
        if bad is not None and bad != lines[j]:
            out += [bad, FIX_WAIT.format(_last_number(bad), lines[j])]
        else:
            out.append(lines[j])
        out += lines[j + 1 :] + [CONCLUDE.format(result)]
    elif style == "check" and lines:
        out = lines + [CONCLUDE.format(result), *_checks(lines, result, rng)]
    else:
        out = lines + [CONCLUDE.format(result)]
    return "\n".join(out), f"Final Answer: {result}"


# subtract / quotient with this k pause too early, at the first result below 10
PAUSE_K = 3
PAUSE_BELOW = 10
RECHECK_WAIT = "Wait, {} is not less than {}."
Parts = tuple[list[str], list[str], int, int, str]  # lines before, after, results, resume


def _full(task: SyntheticTask) -> Parts:
    """All of a task's step lines (`Parts` with nothing after the first part)."""
    if task.kind == "add":
        lines, result = _add_steps(*task.items)
    elif task.kind == "subtract":
        lines, result = _subtract_steps(*task.items)
    elif task.kind == "quotient":
        lines, result = _subtract_steps(*task.items, count=0)
    elif task.kind == "gcd":
        lines, result = gcd_lines(*task.items)
    else:
        first, part_result = _steps(task, task.items, None, LIST_WORD)
        rest, result = (
            _steps(task, task.extra, part_result, PART_WORD) if task.extra else ([], part_result)
        )
        return first, rest, part_result, result, TWO_PART_WAIT
    return lines, [], result, result, ""


def _pause(task: SyntheticTask) -> Parts | None:
    """Where a trace of `task` can conclude too early, or None: after the first part of
    a two-part list task; in subtract / quotient with k = PAUSE_K, after the first
    result below PAUSE_BELOW that is not yet below k."""
    if task.kind in LIST_KINDS and task.extra:
        return _full(task)
    if task.kind not in ("subtract", "quotient") or task.items[1] != PAUSE_K:
        return None
    lines, _, _, result, _ = _full(task)
    n, k = task.items
    values = [n - k * (i + 1) for i in range(len(lines))]
    j = next((i for i, v in enumerate(values) if v < PAUSE_BELOW), None)
    if j is None or values[j] < k:
        return None
    part = values[j] if task.kind == "subtract" else j + 1
    return lines[: j + 1], lines[j + 1 :], part, result, RECHECK_WAIT.format(values[j], k)


def can_pause(task: SyntheticTask) -> bool:
    """True when a trace of `task` can stop too early (styles "resume" and "hasty")."""
    return _pause(task) is not None


def _checks(lines: list[str], result: int, rng: random.Random) -> list[str]:
    """ "Wait, check: ... Yes, the answer is ..." on the last step, and sometimes again on
    the one before: what a model does after each "Wait" once its answer is right (it
    says the answer again, so the answer after the checks is the concluded one)."""
    out = [CHECK_WAIT.format(lines[-1], result)]
    if rng.random() < 0.4:
        out.append(CHECK_WAIT.format(lines[-2] if len(lines) > 1 else lines[-1], result))
    return out


def _last_number(line: str) -> str:
    return _NUM.findall(line)[-1]


def make_sft_rows(tasks: Sequence[SyntheticTask], seed: int = 0, hasty: float = 0.0) -> list[dict]:
    """s1K-style rows: question, thinking_trajectories (a list), attempt, solution, ...

    `hasty`: the share of the tasks that can pause (`can_pause`) whose trace stops there.
    """
    rng = random.Random(seed)
    rows = []
    for t in tasks:
        style = "hasty" if can_pause(t) and rng.random() < hasty else None
        thinking, attempt = make_trace(t, rng, style)
        rows.append(
            {
                "question": t.question,
                "solution": t.answer,
                "thinking_trajectories": [thinking],
                "attempt": attempt,
                "domain": t.domain,
                "kind": t.kind,
                "steps": t.steps,
            }
        )
    return rows
