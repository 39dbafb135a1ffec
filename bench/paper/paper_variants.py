"""Training data for the tiny-s1 variant the conditional methods need (bench/paper/paper_tables.md).

The embedded tiny-s1 model was trained on bare questions: a prompt that states a token
budget, a step budget or a class ("think briefly") means nothing to it. The s1 paper
fine-tuned its own variants for token- and step-conditional control; this does the same at
tiny scale, with s1-style traces of the same synthetic tasks (s1_data.synthetic) that
honour what the prompt states. The prompt wording is the s1 reference's (its lm-evaluation-
harness task files), the defaults of `s1 eval --method` (s1_eval.methods), but placed
before the question (`TEMPLATES`, and why):

- token-conditional: "Think for up to N tokens.\\n\\nQUESTION" The trace is the usual one if
  it fits in N thinking tokens, else the plain steps without the "Wait" checks if those fit,
  else as many steps as fit and the state reached as the answer (so a small N gives a wrong
  answer, honestly);
- step-conditional: "Think for up to S steps.\\n\\nQUESTION" Every line of the trace is a step
  and is preceded by a countdown, "S steps left", "S-1 steps left", ... (the reference's
  format, without its <|im_start|>, which the s1 format reads as an end of thinking); a
  task that needs more lines than S stops at "1 steps left" with the state reached;
- class-conditional: the reference's "short" / "long" instructions. Short: the plain
  steps, and on the tasks that can stop too early (s1_data.synthetic.can_pause) the hasty
  trace that does stop there, as often as the tiny-s1 recipe's data does (60%); long: the
  trace that goes on after "Wait" and re-checks its answer;
- the bare question: the tiny-s1 recipe's own rows, so the variant keeps its base behaviour.

    python bench/paper/paper_variants.py --out runs/paper/cond-data.jsonl --n 800
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's packages

from s1_data.synthetic import (  # noqa: E402
    HELD_OUT_KINDS,
    can_pause,
    held_out_tasks,
    make_sft_rows,
    make_tasks,
    make_trace,
)
from s1_eval.methods import (  # noqa: E402
    LONG_PROMPT,
    SHORT_PROMPT,
    STEP_MARKER,
    STEP_PROMPT,
    TOKEN_PROMPT,
    place,  # noqa: E402
)

# The reference's sentences, placed BEFORE the question for this model: a 4-layer model
# trained on bare questions copies the question's numbers into its first line by where they
# stand; with a sentence after the question a first fine-tune misread them (see
# bench/paper/paper_tables.md). `s1 eval` takes the same templates (--token-prompt etc.).
BEFORE = "\n\n{question}"
TEMPLATES = {
    "token": TOKEN_PROMPT + BEFORE,
    "step": STEP_PROMPT + BEFORE,
    "short": SHORT_PROMPT + BEFORE,
    "long": LONG_PROMPT + BEFORE,
}

TOKEN_BUDGETS = (24, 32, 48, 64, 96, 128, 192, 256)
STEP_BUDGETS = tuple(range(1, 17))
HASTY = 0.6  # as the tiny-s1 recipe
NUM = re.compile(r"-?\d+")


def conclude(value: str) -> str:
    return f"So the answer is {value}."


def plain_lines(task, rng: random.Random) -> list[str]:
    """The task's step lines, without the conclusion."""
    thinking, _ = make_trace(task, rng, "plain")
    return thinking.split("\n")[:-1]


def partial(lines: list[str]) -> str:
    """The state after these steps: the last number written (what the tiny tasks' answer is)."""
    return NUM.findall(lines[-1])[-1]


def thinking_tokens(tok, thinking: str) -> int:
    """Thinking tokens as the engine counts them: the newline after the thinking start, the
    text, the newline before the delimiter."""
    return len(tok.encode("\n" + thinking + "\n", add_special_tokens=False))


def token_row(task, budget: int, tok, rng: random.Random) -> dict | None:
    rich, attempt = make_trace(task, rng)
    lines = plain_lines(task, rng)
    full = "\n".join(lines + [conclude(task.answer)])
    for thinking in (rich, full):
        if thinking_tokens(tok, thinking) <= budget:
            return row(task, token_condition(budget), thinking, task.answer)
    for j in range(len(lines) - 1, 0, -1):
        thinking = "\n".join(lines[:j] + [conclude(partial(lines[:j]))])
        if thinking_tokens(tok, thinking) <= budget:
            return row(task, token_condition(budget), thinking, partial(lines[:j]))
    return None  # not even one step fits


def step_row(task, steps: int, rng: random.Random) -> dict:
    rich, _ = make_trace(task, rng)
    lines = plain_lines(task, rng)
    answer = task.answer
    if len(rich.split("\n")) <= steps:
        body = rich.split("\n")
    elif len(lines) + 1 <= steps:
        body = lines + [conclude(task.answer)]
    else:
        done = lines[: max(1, steps - 1)]
        answer = partial(done)
        body = (done + [conclude(answer)])[:steps] if steps > 1 else [conclude(answer)]
    counted = []
    for i, line in enumerate(body):
        counted += [STEP_MARKER.format(n=steps - i), line]
    condition = TEMPLATES["step"].format(steps=steps, question="{question}")
    return row(task, condition, "\n".join(counted), answer)


def class_row(task, long: bool, rng: random.Random) -> dict:
    if long:
        style = "resume" if can_pause(task) else "check"
        thinking, attempt = make_trace(task, rng, style)
        return row(task, TEMPLATES["long"], thinking, task.answer)
    style = "hasty" if can_pause(task) and rng.random() < HASTY else "plain"
    thinking, attempt = make_trace(task, rng, style)
    return row(task, TEMPLATES["short"], thinking, attempt.split(":")[-1].strip())


def token_condition(budget: int) -> str:
    return TEMPLATES["token"].format(budget=budget, question="{question}")


def row(task, condition: str, thinking: str, answer: str) -> dict:
    return {
        "question": place(task.question, condition),
        "solution": task.answer,
        "thinking_trajectories": [thinking],
        "attempt": f"Final Answer: {answer}",
        "domain": task.domain,
        "kind": task.kind,
        "steps": task.steps,
    }


def make_rows(n: int, seed: int, tokenizer: str) -> list[dict]:
    """`n` rows of each family (token, step, class, bare), shuffled; no held-out question."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer)
    held = {t.question for t in held_out_tasks()}
    tasks = make_tasks(5 * n, seed=seed, kinds=HELD_OUT_KINDS, min_steps=1, max_steps=12)
    tasks = [t for t in tasks if t.question not in held]
    rng = random.Random(seed + 1)
    rows: list[dict] = []
    pool = iter(tasks)
    while len(rows) < n:
        t = next(pool)
        r = token_row(t, rng.choice(TOKEN_BUDGETS), tok, rng)
        if r is not None:
            rows.append(r)
    rows += [step_row(next(pool), rng.choice(STEP_BUDGETS), rng) for _ in range(n)]
    rows += [class_row(next(pool), i % 2 == 0, rng) for i in range(n)]
    rows += make_sft_rows([next(pool) for _ in range(n)], seed=seed + 2, hasty=HASTY)
    rng.shuffle(rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/paper/cond-data.jsonl")
    ap.add_argument("--n", type=int, default=800, help="rows of each family")
    ap.add_argument("--seed", type=int, default=31)
    ap.add_argument("--tokenizer", default="s1_engine/assets/tiny-s1")
    args = ap.parse_args(argv)
    rows = make_rows(args.n, args.seed, args.tokenizer)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} rows -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
