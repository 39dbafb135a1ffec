"""The s1 paper's test-time methods (its Table 3 and RQ3), as points of one evaluation run.

A method turns the run's grid (budgets, "Wait" counts, ignore strings) into points; each
point is a prompt condition and a `BudgetPolicy`, and every (question, point, sample) is
one request (rejection: up to K requests, one after the other). Sequential methods:

- ``budget``: budget forcing, today's grid (budgets x "Wait" counts x ignore strings);
- ``token-conditional``: the prompt states a token budget ("Think for up to N tokens.",
  the reference's wording), the engine enforces none ("auto"); ``+bf``: the engine
  also cuts thinking at N tokens (the reference's ``max_tokens_thinking=N``);
- ``step-conditional``: the prompt states a step budget ("Think for up to S steps."),
  for a model that writes "S steps left" before each step; ``+bf``: thinking ends
  when the model writes the zero-steps marker (the reference's ``until_thinking``);
- ``class-conditional``: the reference's generic "short" and "long" instructions;
  ``+bf``: each under every budget of the grid as well;
- ``rejection``: sample until the model ends its thinking within N tokens (the reference's
  ``rejection_sample``: a request may think N + 1 tokens, one that stops by itself within
  N is kept), at most K samples; the last is kept when none fits (and is out of control);
- ``deer``: the budget grid with DEER on (arXiv 2504.15895: a trial answer at each Wait
  point, thinking ends once its mean token probability reaches ``--deer``, 0.95 if not
  given); its compute counts the probes' tokens too (``probe_tokens``).

After s1, on the same budget grid: ``nowait``: every point with NoWait's words suppressed
(arXiv 2506.08343, ``suppress=nowait``); ``alphaone``: every point under AlphaOne (arXiv
2505.24863, `s1_engine.alphaone`) at ``--alpha`` (a share of each budget; default: the
``alphaone`` preset's). With either in the list, the budget points run without it (the
baseline they are compared with).

Parallel methods vote over the `--samples` samples of the budget method's base point
(the largest budget, the fewest "Wait"s): ``majority`` (maj@k) and ``shortest-majority``
(maj@k, a tie going to the answer whose samples thought least). Their compute is k
times one sample's thinking. ``deepconf`` and ``deepconf-online``: DeepConf's
confidence-filtered, confidence-weighted votes over the same samples (s1_eval.deepconf).

Every template is the user's to change (`Prompts`); the defaults are the wording of the s1
reference's evaluation tasks (eval/lm-evaluation-harness/lm_eval/tasks/*/utils.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from s1_engine.errors import S1Error
from s1_engine.policy import NOWAIT_WORDS, BudgetPolicy, parse_ignore_str
from s1_engine.settings import METHOD_PRESETS

if TYPE_CHECKING:
    from s1_engine.engine import Engine

TOKEN_PROMPT = "Think for up to {budget} tokens."
STEP_PROMPT = "Think for up to {steps} steps."
STEP_MARKER = "{n} steps left"
SHORT_PROMPT = (
    "Answer after a short amount of thinking. Do not spend excessive time double-checking "
    "your work."
)
LONG_PROMPT = (
    "Answer after a long amount of thinking. If you feel like you are finished early, spend "
    "the extra time trying to double-check your work until you are absolutely sure that you "
    "have the correct answer."
)
CLASSES = ("short", "long")
BF = "+bf"
QUESTION = "{question}"  # in a template: where the task's prompt goes (default: before it)
SEQUENTIAL = (
    "budget",
    "token-conditional",
    "token-conditional+bf",
    "step-conditional",
    "step-conditional+bf",
    "class-conditional",
    "class-conditional+bf",
    "rejection",
    "nowait",
    "alphaone",
    "deer",
)
PARALLEL = ("majority", "shortest-majority", "deepconf", "deepconf-online")
METHOD_NAMES = SEQUENTIAL + PARALLEL
NO_STRING = "none"  # in an --ignore-str grid: suppress the end of thinking, append nothing
ALPHA = float(METHOD_PRESETS["alphaone"]["alpha"])  # type: ignore[arg-type]
DEER_THRESHOLD = 0.95  # --method deer without --deer: the paper's default
DRAW_SEED_STRIDE = 100_003  # draw d of a rejection sample: seed + sample + d * stride


@dataclass(frozen=True)
class Prompts:
    """The conditional methods' wording: after the task's prompt, a blank line between, or
    where a template says {question}."""

    token: str = TOKEN_PROMPT  # {budget}
    step: str = STEP_PROMPT  # {steps}
    short: str = SHORT_PROMPT
    long: str = LONG_PROMPT
    marker: str = STEP_MARKER  # {n}: what a step-conditional model writes before a step

    def __post_init__(self) -> None:
        for name, key in (("token", "{budget}"), ("step", "{steps}"), ("marker", "{n}")):
            if key not in getattr(self, name):
                raise S1Error(
                    f"the {name} template {getattr(self, name)!r} has no {key}",
                    f"write it with {key}, e.g. {getattr(Prompts, name)!r}",
                )

    def stop(self) -> str:
        """The text that ends thinking under step-conditional+bf: the zero-steps marker at
        the start of a line (a newline first, so "10 steps left" does not match "0 steps
        left"), or as it is when it starts with a space of its own."""
        zero = self.marker.format(n=0)
        return zero if zero[:1].isspace() else "\n" + zero

    def steps_used(self, thinking: str) -> int:
        """How many step markers a thinking text holds (as the reference counts them)."""
        marker = self.marker.lstrip()  # a leading space: also at the start of the text
        pattern = re.escape(marker).replace(re.escape("{n}"), r"\d+")
        if marker != self.marker:
            pattern = r"(?:^|\s)" + pattern
        return len(re.findall(pattern, thinking))


@dataclass(frozen=True)
class Point:
    """One point of a method's curve: what the prompt states and what the engine enforces."""

    method: str
    policy: BudgetPolicy
    condition: str = ""  # "64 tokens", "8 steps", "short"; "" for budget forcing
    suffix: str = ""  # the sentence after the prompt
    stated_tokens: int | None = None  # Control: thinking tokens <= this
    stated_steps: int | None = None  # Control: step markers <= this
    stop: str = ""  # a text that ends thinking when the model writes it
    draws: int = 1  # rejection: at most this many samples
    order: float = 0.0  # the point's place on its curve
    first_sample: int = 0  # deepconf-online: its samples begin after the warm-up
    base: str = ""  # deepconf-online: the label of the point whose samples are its warm-up

    def label(self) -> str:
        """The key of the point's results; budget forcing keeps its old labels."""
        if self.method == "budget":
            return self.policy.label()
        inner = self.condition + (f", K={self.draws}" if self.method == "rejection" else "")
        head = f"{self.method}({inner})" if inner else self.method
        return f"{head},{self.policy.label()}"


def parse_methods(values: Sequence[str] | str | None) -> list[str]:
    """'--method budget --method rejection,majority' -> ['budget', 'rejection', 'majority']."""
    if values is None:
        return ["budget"]
    raw = [values] if isinstance(values, str) else list(values)
    out: list[str] = []
    for item in raw:
        for name in str(item).split(","):
            name = name.strip().lower().replace("_", "-")
            if not name:
                raise S1Error(f"cannot read --method {item!r}", "e.g. --method budget,rejection")
            if name not in METHOD_NAMES:
                raise S1Error(
                    f"--method: unknown method {name!r}", f"use one of: {', '.join(METHOD_NAMES)}"
                )
            if name not in out:
                out.append(name)
    return out or ["budget"]


def parse_ignore_grid(text: str) -> list[str | tuple[str, ...]]:
    """'none,Alternatively,Hmm,Wait' -> the ignore strings to compare ('Wait|Hmm' rotates
    within one; 'none' suppresses the end and appends nothing, the paper's "no string")."""
    out: list[str | tuple[str, ...]] = []
    for part in str(text).split(","):
        if not part.strip():
            raise S1Error(
                f"empty ignore string in --ignore-str {text!r}",
                f"e.g. --ignore-str {NO_STRING},Alternatively,Hmm,Wait",
            )
        value = () if part.strip().lower() == NO_STRING else parse_ignore_str(part.strip())
        if value not in out:
            out.append(value)
    return out


def budget_grid(
    base: Sequence[BudgetPolicy], strings: Sequence[str | tuple[str, ...]]
) -> list[BudgetPolicy]:
    """The budget x "Wait" grid under every ignore string; with no "Wait" (and no minimum)
    the string does not matter, so those points run once (with the default string)."""
    out: list[BudgetPolicy] = []
    seen: set[str] = set()
    neutral = "Wait"  # the default: those points keep their usual labels
    for s in strings:
        for p in base:
            unused = p.num_ignore == 0 and p.min_thinking_tokens == 0
            q = p.with_(ignore_str=neutral if unused else s)
            if q.label() not in seen:
                seen.add(q.label())
                out.append(q)
    return out


def _rank(b: Any) -> float:
    return float("inf") if not isinstance(b, int) else float(b)


def base_policy(policies: Sequence[BudgetPolicy]) -> BudgetPolicy:
    """The budget method's base point: the largest budget, the fewest "Wait"s, the first
    ignore string (where majority voting samples)."""
    low = min(p.num_ignore for p in policies)
    top = max((p.max_thinking_tokens for p in policies), key=_rank)
    first = policies[0].ignore_str
    pick = [p for p in policies if p.num_ignore == low and p.max_thinking_tokens == top]
    return next((p for p in pick if p.ignore_str == first), pick[0])


def build_points(
    methods: Sequence[str],
    policies: Sequence[BudgetPolicy],
    steps: Sequence[int] = (4, 8, 16),
    prompts: Prompts | None = None,
    draws: int = 8,
    deer: float | None = None,
    conf: Any = None,
) -> list[Point]:
    """Every point the methods ask for, budget forcing first (`deer`: the deer method's
    threshold; `conf`: DeepConf's `ConfVote`, when a deepconf method is asked for)."""
    prompts = prompts or Prompts()
    if draws < 1:
        raise S1Error(f"--max-draws must be >= 1, got {draws}", "e.g. --max-draws 8")
    if not policies:
        raise S1Error("no policy to run", "give --max-thinking and --num-ignore")
    base = base_policy(policies)
    plain = base.with_(max_thinking_tokens="auto", num_ignore=0)
    budgets = list(dict.fromkeys(p.max_thinking_tokens for p in policies))
    numeric = sorted({b for b in budgets if isinstance(b, int)})
    points: list[Point] = []
    wants = set(methods)
    own: dict[str, Any] = {}  # the after-s1 methods' knobs: theirs, not the baseline's
    if "nowait" in wants:
        own["suppress"] = ()
    if "alphaone" in wants:
        own["alpha"] = 0.0
    if "budget" in wants:
        points += [Point("budget", p.with_(**own)) for p in policies]
    elif wants & set(PARALLEL):
        points.append(Point("budget", base))  # what the votes are taken over
    needs_numeric = wants & {"token-conditional", "token-conditional+bf", "rejection"}
    if needs_numeric and not numeric:
        raise S1Error(
            f"{sorted(needs_numeric)[0]} needs token budgets, got --max-thinking "
            f"{','.join(map(str, budgets))}",
            "give numbers, e.g. --max-thinking 512,1024,2048",
        )
    for m in ("token-conditional", "token-conditional+bf"):
        if m in wants:
            for b in numeric:
                pol = plain.with_(max_thinking_tokens=b) if m.endswith(BF) else plain
                text = prompts.token.format(budget=b, question=QUESTION)
                points.append(Point(m, pol, f"{b} tokens", text, stated_tokens=b, order=b))
    for m in ("step-conditional", "step-conditional+bf"):
        if m in wants:
            for s in steps:
                stop = prompts.stop() if m.endswith(BF) else ""
                text = prompts.step.format(steps=s, question=QUESTION)
                points.append(
                    Point(m, plain, f"{s} steps", text, stated_steps=s, stop=stop, order=s)
                )
    if "class-conditional" in wants:
        for i, c in enumerate(CLASSES):
            points.append(Point("class-conditional", plain, c, getattr(prompts, c), order=i))
    if "class-conditional+bf" in wants:
        for j, b in enumerate(sorted(budgets, key=_rank)):
            for i, c in enumerate(CLASSES):
                pol = plain.with_(max_thinking_tokens=b)
                points.append(
                    Point("class-conditional+bf", pol, c, getattr(prompts, c), order=2 * j + i)
                )
    if "nowait" in wants:
        for p in policies:
            pol = p.with_(suppress=NOWAIT_WORDS)
            points.append(Point("nowait", pol, order=_rank(p.max_thinking_tokens)))
    if "alphaone" in wants:
        for p in policies:
            pol = p.with_(alpha=p.alpha or ALPHA)
            cond = f"alpha {pol.alpha:g}"
            points.append(Point("alphaone", pol, cond, order=_rank(p.max_thinking_tokens)))
    if "rejection" in wants:
        for b in numeric:
            pol = plain.with_(max_thinking_tokens=b + 1)  # one more: a stop at N shows itself
            points.append(
                Point("rejection", pol, f"{b} tokens", stated_tokens=b, draws=draws, order=b)
            )
    if "deer" in wants:
        t = DEER_THRESHOLD if deer is None else deer
        for i, p in enumerate(policies):
            points.append(Point("deer", p.with_(deer_threshold=t), f"{t:g}", order=i))
    if wants & {"deepconf", "deepconf-online"}:
        from .deepconf import ConfVote, add_points

        points = add_points(points, base, wants, conf or ConfVote())
    return points


def probe_fields(result: Any) -> dict[str, Any]:
    """DEER's cost on a sample record: its probes and their tokens, in its compute (a
    probe's tokens are not thinking tokens, but they are spent)."""
    if not getattr(result, "probes", 0):
        return {}
    t, a, p = result.thinking_tokens, result.answer_tokens, result.probe_tokens
    return {
        "probes": result.probes,
        "probe_tokens": p,
        "compute_thinking_tokens": t + p,
        "compute_tokens": t + a + p,
    }


def place(prompt: str, condition: str) -> str:
    """The task's prompt with a condition: where the template says {question}, else after
    the prompt and a blank line (the reference's place)."""
    if QUESTION in condition:
        return condition.replace(QUESTION, prompt)
    return f"{prompt}\n\n{condition.strip()}" if condition.strip() else prompt


def with_condition(prompt: str, point: Point) -> str:
    """The prompt of a point: the task's prompt and its condition."""
    return place(prompt, point.suffix)


def draw_policy(policy: BudgetPolicy, draw: int) -> BudgetPolicy:
    """Draw d of a rejection sample: its own seeds (draw 0 keeps the sample's)."""
    if draw == 0:
        return policy

    def seeded(cfg: Any) -> Any:
        return cfg.with_seed((cfg.seed or 0) + draw * DRAW_SEED_STRIDE)

    return policy.with_(thinking=seeded(policy.thinking), answer=seeded(policy.answer))


def fits(result: Any, stated_tokens: int) -> bool:
    """The model ended its thinking by itself within the stated budget (rejection's test)."""
    ended_by_model = any(e.kind == "end_thinking" and e.cause == "model" for e in result.events)
    return ended_by_model and result.thinking_tokens <= stated_tokens


def stop_format(engine: Engine, format_name: str | None, stop: str) -> str:
    """The name of the engine's format (or `format_name`) with `stop` as one more way to end
    thinking (a model end, as the reference's ``until_thinking``), registered once."""
    from s1_engine.formats import register_format

    fmt = engine.bound_format(format_name).fmt
    derived = replace(
        fmt,
        name=f"{fmt.name}+stop:{stop.strip()}",
        stop_strings=tuple(dict.fromkeys(fmt.stop_strings + (stop,))),
    )
    register_format(derived)
    return derived.name


@dataclass
class Drawn:
    """What a rejection sample cost: every draw's thinking and answer tokens."""

    thinking: list[int] = field(default_factory=list)
    answer: list[int] = field(default_factory=list)
    fit: bool = False

    def fields(self) -> dict[str, Any]:
        return {
            "draws": len(self.thinking),
            "fit": self.fit,
            "draw_thinking_tokens": list(self.thinking),
            "compute_thinking_tokens": sum(self.thinking),
            "compute_tokens": sum(self.thinking) + sum(self.answer),
        }


async def draw_until_fit(
    engine: Engine, prompt: str, policy: BudgetPolicy, point: Point, fmt: str | None
) -> tuple[Any, Any, Drawn]:
    """Rejection: draw until one sample ends its thinking within the stated budget, at most
    `point.draws` (one at temperature 0, where every draw would be the same). Returns the
    last session, its result (the kept sample) and what every draw cost."""
    cost = Drawn()
    greedy = policy.thinking.temperature == 0
    for d in range(point.draws):
        session = engine.start(prompt, draw_policy(policy, d), format=fmt, live=False)
        result = await session.aresult()
        cost.thinking.append(result.thinking_tokens)
        cost.answer.append(result.answer_tokens)
        cost.fit = fits(result, point.stated_tokens or 0)
        if cost.fit or greedy or result.finish_reason == "error":
            break
    return session, result, cost


def record_fields(point: Point, thinking: str, prompts: Prompts, drawn: Drawn | None) -> dict:
    """What a method's point adds to a sample record: the method, the prompt's condition,
    the stated budget, the steps used, the stop text, and what the draws cost."""
    out: dict[str, Any] = {"method": point.method, "condition": point.condition}
    if point.stated_tokens is not None:
        out["stated_tokens"] = point.stated_tokens
    if point.stated_steps is not None:
        out["stated_steps"] = point.stated_steps
        out["steps_used"] = prompts.steps_used(thinking)
    if point.stop:
        out["stop"] = point.stop
    if drawn is not None:
        out.update(drawn.fields())
    return out
