"""Procedural reasoning tasks: the kinds, a seeded generator, a verifier, the held-out split.

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

The last three are the ones the embedded tiny-s1 model learns. A list task may come in
two parts (a second line starting with ``and``). The step lines of a solution, and the
s1-style traces made of them, are in `s1_data.synthetic.traces`.
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
            if len(gcd_lines(a, b)[0]) == want:
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
        answer, steps = str(math.gcd(a, b)), len(gcd_lines(a, b)[0])
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


def gcd_lines(a: int, b: int) -> tuple[list[str], int]:
    """The larger minus the smaller (``30-18=12``) until the two numbers are equal."""
    lines = []
    while a != b:
        big, small = max(a, b), min(a, b)
        lines.append(f"{big}-{small}={big - small}")
        a, b = big - small, small
    return lines, a


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
