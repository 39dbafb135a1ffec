"""Procedural reasoning tasks: a seeded generator, a verifier, and s1-style traces.

Every task needs a number of small steps that grows with the instance (the length of
a list, the number of digits), each step short and regular, so a tiny model can learn
to do them one by one, and the answer is only right when every step was done.

Kinds:
- ``sum``: add a list of distinct digits, one running total a step (``8 5: 11+5=16``);
- ``count``: count the even numbers of a list, one number a step (``64 37: odd 2``);
- ``max``: the largest of a list, one comparison a step (``37 82: max 82``);
- ``add``: add two multi-digit numbers column by column, right to left
  (``8+9+1=18 so 887 carry 1``);
- ``subtract``: take k away from n until less than k (the remainder), one
  subtraction a step (``61-7=54``);
- ``quotient``: how many times k can be taken from n, the steps counted
  (``61-7=54 count 3``);
- ``gcd``: Euclid's algorithm by subtraction, the larger number minus the smaller until
  both are equal (``30-18=12``, then ``18-12=6``).

The last three are the ones the embedded tiny-s1 model learns. Every line of theirs
holds all the next line needs (and whether to stop), so no step has to find a number
in the question beyond the first line of a part: a 4-layer model does each step
reliably and the answer depends only on doing enough of them. (The list kinds need an
item copied out of the question at every step, which a model that small does not learn
dependably.) A list task may come in two parts (a second line starting with ``and``).

Traces (`make_trace`) show the steps one by one in the s1 style: some conclude too
early (after the first part of a two-part list; in subtract / quotient with k = 3, at
the first result below 10) and go on after "Wait", some make a slip, say "Wait, ... is
wrong" and fix it, some re-check the last step after "Wait" before they end; "hasty"
traces conclude too early and stop, the habit that "Wait" forcing repairs.
`make_sft_rows` turns tasks into s1K-style rows (question, thinking_trajectories,
attempt, solution) for `s1 train`.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

KINDS = ("sum", "count", "max", "add", "subtract", "quotient", "gcd")
LIST_KINDS = ("sum", "count", "max")
DOMAIN = {
    "sum": "arithmetic",
    "count": "counting",
    "max": "comparison",
    "add": "arithmetic",
    "subtract": "division",
    "quotient": "counting",
    "gcd": "number theory",
}
# Held-out evaluation tasks are drawn from this seed; training seeds must differ
# (the tiny-s1 recipe also drops any training question that equals a held-out one).
HELD_OUT_SEED = 917_331
HELD_OUT_SIZE = 200
HELD_OUT_KINDS = ("subtract", "quotient", "gcd")  # the kinds tiny-s1 learns

CONCLUDE = "So the answer is {}."
TWO_PART_WAIT = "Wait, there is a second part."
FIX_WAIT = "Wait, {} is wrong. {}"
CHECK_WAIT = "Wait, check: {}. Yes, the answer is {}."


@dataclass(frozen=True)
class SyntheticTask:
    """One procedural task. `items` (first part) and `extra` (second part) keep the data."""

    id: str
    question: str
    answer: str
    kind: str
    steps: int
    domain: str
    items: tuple[int, ...] = field(default=())
    extra: tuple[int, ...] = field(default=())

    def to_dict(self) -> dict:
        d = asdict(self)
        d["items"], d["extra"] = list(self.items), list(self.extra)
        return d


# ----- generation -------------------------------------------------------------------
def _split_parts(rng: random.Random, values: list[int], two_part: float) -> tuple[list, list]:
    if len(values) >= 4 and rng.random() < two_part:
        cut = rng.randint(2, len(values) - 2)
        return values[:cut], values[cut:]
    return values, []


LIST_WORD = "list"  # the word before the first item (a step line starts "PREVIOUS ITEM")
PART_WORD = "and"  # the word before the second part's first item


def _list_text(head: str, first: Sequence[int], extra: Sequence[int]) -> str:
    text = f"{head} {LIST_WORD} {' '.join(map(str, first))}"
    if extra:
        text += f"\n{PART_WORD} {' '.join(map(str, extra))}"
    return text


def _take_away(k: int, steps: int, rng: random.Random) -> int:
    """A number from which k can be taken `steps` times (at most 99)."""
    steps = max(1, min(steps, 99 // k))
    return k * steps + rng.randint(0, min(k - 1, 99 - k * steps))


GCD_MAX = 60  # fewer subtraction facts to learn than with every pair up to 99


def _gcd_pair(steps: int, rng: random.Random) -> tuple[int, int]:
    """Two different numbers up to GCD_MAX whose subtraction Euclid takes `steps` steps
    (or the nearest count that exists)."""
    for want in sorted(range(1, 30), key=lambda s: (abs(s - steps), s)):
        for _ in range(400):
            a, b = rng.sample(range(2, GCD_MAX + 1), 2)
            if len(_gcd_lines(a, b)[0]) == want:
                return a, b
    raise AssertionError("unreachable: small step counts always exist")


def _make_one(
    kind: str, steps: int, rng: random.Random, index: int, two_part: float
) -> SyntheticTask:
    if kind == "sum":
        n = min(steps, 9)  # distinct digits 1-9: every item is findable by its value
        values = rng.sample(range(1, 10), n)
        first, extra = _split_parts(rng, values, two_part)
        question = _list_text("Add the", first, extra)
        answer = str(sum(values))
        steps = n
    elif kind == "count":
        n = steps
        values = rng.sample(range(10, 100), n)
        first, extra = _split_parts(rng, values, two_part)
        question = _list_text("Count the even numbers in the", first, extra)
        answer = str(sum(1 for v in values if v % 2 == 0))
    elif kind == "max":
        n = steps
        values = rng.sample(range(10, 100), n)
        first, extra = _split_parts(rng, values, two_part)
        question = _list_text("Find the largest in the", first, extra)
        answer = str(max(values))
        steps = n
    elif kind == "add":
        digits = max(2, steps)
        a = rng.randint(10 ** (digits - 1), 10**digits - 1)
        b = rng.randint(10 ** (digits - 1), 10**digits - 1)
        first, extra = [a, b], []
        question = f"Compute {a}+{b}"
        answer = str(a + b)
        steps = digits
    elif kind == "subtract":
        k = rng.randint(3, 9)
        n = _take_away(k, steps, rng)
        first, extra = (n, k), ()
        question = f"Take {k} away from {n} until it is less than {k}."
        answer, steps = str(n % k), n // k
    elif kind == "quotient":
        k = rng.randint(3, 9)
        n = _take_away(k, steps, rng)
        first, extra = (n, k), ()
        question = f"How many times can {k} be taken from {n}?"
        answer, steps = str(n // k), n // k
    elif kind == "gcd":
        a, b = _gcd_pair(steps, rng)
        first, extra = (a, b), ()
        question = f"Find the greatest common divisor of {a} and {b} by subtraction."
        answer, steps = str(math.gcd(a, b)), len(_gcd_lines(a, b)[0])
    else:
        raise ValueError(f"unknown synthetic task kind {kind!r} (known: {', '.join(KINDS)})")
    return SyntheticTask(
        id=f"syn-{kind}-{index:06d}",
        question=question,
        answer=answer,
        kind=kind,
        steps=steps,
        domain=DOMAIN[kind],
        items=tuple(first),
        extra=tuple(extra),
    )


def make_tasks(
    n: int,
    seed: int = 0,
    kinds: Sequence[str] | None = None,
    min_steps: int = 2,
    max_steps: int = 12,
    two_part: float = 0.15,
) -> list[SyntheticTask]:
    """`n` tasks from `seed` (same seed, same tasks), kinds in turn, steps uniform in range.

    `two_part`: the share of list tasks whose list comes in two parts.
    """
    kinds = tuple(kinds or KINDS)
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"unknown synthetic task kind {k!r} (known: {', '.join(KINDS)})")
    if min_steps < 1 or max_steps < min_steps:
        raise ValueError(f"need 1 <= min_steps <= max_steps, got {min_steps}, {max_steps}")
    rng = random.Random(seed)
    tasks = []
    for i in range(n):
        kind = kinds[i % len(kinds)] if len(kinds) > 1 else kinds[0]
        steps = rng.randint(min_steps, max_steps)
        tasks.append(_make_one(kind, steps, rng, i, two_part))
    return tasks


# ----- verification -----------------------------------------------------------------
_NUM = re.compile(r"-?\d+")
_FINAL = re.compile(r"final answer\s*:?\s*(-?\d+)", re.IGNORECASE)


def extract_answer(answer_text: str) -> str:
    """The number a model's answer gives: after "Final Answer:" if present, else the last."""
    text = answer_text or ""
    m = _FINAL.findall(text)
    if m:
        return m[-1]
    nums = _NUM.findall(text)
    return nums[-1] if nums else ""


def verify(answer_text: str, task: SyntheticTask | dict | str) -> bool:
    """True when `answer_text` states the task's answer (a task, its dict, or the answer)."""
    if isinstance(task, SyntheticTask):
        ref = task.answer
    elif isinstance(task, dict):
        ref = str(task["answer"])
    else:
        ref = str(task)
    got = extract_answer(answer_text)
    try:
        return bool(got) and int(got) == int(ref.strip())
    except ValueError:
        return got.strip() == ref.strip()


# ----- traces ----------------------------------------------------------------------
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


def _gcd_lines(a: int, b: int) -> tuple[list[str], int]:
    """The larger minus the smaller (``30-18=12``) until the two numbers are equal."""
    lines = []
    while a != b:
        big, small = max(a, b), min(a, b)
        lines.append(f"{big}-{small}={big - small}")
        a, b = big - small, small
    return lines, a


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
        lines, result = _gcd_lines(*task.items)
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


def held_out_tasks(n: int = HELD_OUT_SIZE) -> list[SyntheticTask]:
    """The fixed held-out split: the first `n` distinct questions of seed `HELD_OUT_SEED`
    (never used for training: the tiny-s1 recipe drops any training task that asks one)."""
    tasks, seen = [], set()
    for t in make_tasks(4 * n, seed=HELD_OUT_SEED, kinds=HELD_OUT_KINDS):
        if t.question not in seen:
            seen.add(t.question)
            tasks.append(t)
    return tasks[:n]


def load_task_items() -> list:
    """The held-out split as evaluation `TaskItem`s (for `s1 eval --task synthetic`)."""
    from s1_eval.tasks import TaskItem

    return [TaskItem(t.id, t.question, t.answer, kind="math") for t in held_out_tasks()]
