"""The settings of an evaluation run (declared once: the CLI, settings files, checks)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from s1_engine.errors import S1Error
from s1_engine.options import option
from s1_engine.policy import BudgetPolicy
from s1_engine.settings import PolicyOptions

from .deepconf import ConfVote
from .methods import (
    LONG_PROMPT,
    SHORT_PROMPT,
    STEP_MARKER,
    STEP_PROMPT,
    TOKEN_PROMPT,
    Point,
    Prompts,
    budget_grid,
    build_points,
    parse_ignore_grid,
    parse_methods,
)

PANEL_TASK = "Task and output"


@dataclass
class EvalOptions:
    task: str | None = option(
        None,
        "A task name (see --list-tasks) or a .jsonl/.json/.parquet/.csv file.",
        panel=PANEL_TASK,
    )
    out: str | None = option(
        None,
        "Results folder (samples.jsonl, summary.json, scaling.png); a rerun resumes it.",
        panel=PANEL_TASK,
        short="-o",
        out_dir=True,
    )
    limit: int | None = option(
        None, "Only the first N questions.", panel=PANEL_TASK, min=1, example="--limit 10"
    )
    samples: int = option(
        1,
        "Samples per question and policy (majority voting over them; use --temperature > 0).",
        panel=PANEL_TASK,
        short="-n",
        min=1,
        example="--samples 4",
    )
    question_col: str | None = option(None, "Question column of a file task.", panel=PANEL_TASK)
    answer_col: str | None = option(None, "Answer column of a file task.", panel=PANEL_TASK)
    choices_col: str | None = option(
        None, "Choices column (multiple choice: a list, or text split by '|').", panel=PANEL_TASK
    )
    instruction: str | None = option(
        None,
        "Text after each question. Default: the task's own if it names one; else none for a "
        "model made by s1 train (the embedded one too: it learned bare questions); else the "
        "standard one (a boxed answer for math, a letter for multiple choice). '' for the "
        "bare question.",
        panel=PANEL_TASK,
    )
    overwrite: bool = option(
        False,
        "Replace the results in --out of another run (other task, model or settings).",
        panel=PANEL_TASK,
        negatable=False,
    )
    progress: bool | None = option(
        None, "Show the live progress bar (default: when stderr is a terminal).", panel=PANEL_TASK
    )


PANEL_METHODS = "Test-time methods (s1 paper, Table 3)"


@dataclass
class MethodOptions:
    method: list[str] | None = option(
        None,
        "Test-time method(s), repeatable or comma-separated: budget (default) | "
        "token-conditional | step-conditional | class-conditional (each also +bf: budget "
        "forcing on top) | rejection | nowait | alphaone (after s1, on the budget grid; "
        "--alpha sets alphaone's) | deer (the budget grid with DEER on, at --deer) | "
        "majority | shortest-majority | deepconf | deepconf-online (DeepConf, arXiv "
        "2508.15260). Budgets come from "
        "--max-thinking; --ignore-str 'none,Hmm,Wait' compares ignore strings.",
        panel=PANEL_METHODS,
    )
    steps: str = option(
        "4,8,16", "Step budgets the step-conditional methods state.", panel=PANEL_METHODS
    )
    max_draws: int = option(
        8,
        "rejection: at most this many samples per question (the first whose thinking ends "
        "within the budget is kept; one at temperature 0).",
        panel=PANEL_METHODS,
        min=1,
        example="--max-draws 8",
    )
    conf_eta: float = option(
        90.0,
        "deepconf: keep the top ETA percent of the traces by confidence (90: DeepConf-high, "
        "10: DeepConf-low); online: the warm-up's (100 - ETA)th percentile is the stop.",
        panel=PANEL_METHODS,
        above=0,
        max=100,
        example="--conf-eta 10",
    )
    conf_warmup: int = option(
        4,
        "deepconf-online: the first N samples of a question are its warm-up (need --samples > N).",
        panel=PANEL_METHODS,
        min=1,
        example="--conf-warmup 4",
    )
    conf_score: str = option(
        "lowest",
        "deepconf: a trace's score: lowest (group confidence) | bottom10 | tail.",
        panel=PANEL_METHODS,
        choices=("lowest", "bottom10", "tail"),
    )
    token_prompt: str = option(
        TOKEN_PROMPT, "token-conditional: the sentence after the question.", panel=PANEL_METHODS
    )
    step_prompt: str = option(
        STEP_PROMPT, "step-conditional: the sentence after the question.", panel=PANEL_METHODS
    )
    step_marker: str = option(
        STEP_MARKER,
        "step-conditional: what the model writes before each step ({n} steps left); +bf "
        "ends thinking at its line for 0.",
        panel=PANEL_METHODS,
    )
    short_prompt: str = option(
        SHORT_PROMPT, "class-conditional: the short-thinking instruction.", panel=PANEL_METHODS
    )
    long_prompt: str = option(
        LONG_PROMPT, "class-conditional: the long-thinking instruction.", panel=PANEL_METHODS
    )

    def prompts(self) -> Prompts:
        return Prompts(
            self.token_prompt,
            self.step_prompt,
            self.short_prompt,
            self.long_prompt,
            self.step_marker,
        )

    def vote(self) -> ConfVote:
        return ConfVote(self.conf_eta, self.conf_warmup, self.conf_score)

    def step_budgets(self) -> list[int]:
        try:
            steps = [int(s) for s in self.steps.split(",")]
        except ValueError:
            raise S1Error(f"cannot read --steps {self.steps!r}", "e.g. --steps 4,8,16") from None
        if any(s < 1 for s in steps):
            raise S1Error(f"--steps must be >= 1, got {self.steps!r}", "e.g. --steps 4,8,16")
        return list(dict.fromkeys(steps))

    def build(self, policy: PolicyOptions) -> tuple[list[str], list[BudgetPolicy], list[Point]]:
        """The methods asked for, the budget grid (every ignore string of --ignore-str) and
        every point to run; all checked before any model loads."""
        methods = parse_methods(self.method)
        strings = parse_ignore_grid(policy.ignore_str)
        # --deer with --method deer is that method's threshold (the budget points stay s1's)
        deer = policy.deer if "deer" in methods else None
        if "deer" in methods:
            policy = replace(policy, deer=None)
        base = replace(policy, ignore_str="Wait").grid()
        labels = [p.label() for p in base]
        if twice := next((x for i, x in enumerate(labels) if x in labels[:i]), None):
            raise S1Error(f"the policy {twice} is listed twice", "give each budget and count once")
        policies = budget_grid(base, strings)
        points = build_points(
            methods,
            policies,
            self.step_budgets(),
            self.prompts(),
            self.max_draws,
            deer,
            self.vote(),
        )
        return methods, policies, points
