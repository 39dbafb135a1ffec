"""Batch evaluation of test-time scaling: every (question, policy, sample) one engine request.

    items = load_task("aime24")
    summary = run_eval(engine, EvalSpec("aime24", items, policies, samples=4), "out/aime24")

All requests are started at once and each proceeds on its own schedule (the engine's
sessions; no lockstep rounds). Each result is graded as it arrives and appended to
`samples.jsonl` (one line, flushed), so a killed run resumes where it stopped: a rerun
skips every key already in the file, and never writes a key twice. When all are done,
`summary.json` and `scaling.png` are written from the lines of `samples.jsonl` alone.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from s1_engine.errors import S1Error
from s1_engine.policy import BudgetPolicy
from s1_engine.rundir import RunFolder, write_atomic

from . import deepconf, methods
from .grading import grade
from .methods import Drawn, Point, Prompts
from .metrics import summarize
from .tasks import TaskItem, format_prompt

if TYPE_CHECKING:
    from s1_engine.engine import Engine

SAMPLES = "samples.jsonl"
SUMMARY = "summary.json"
PLOT = "scaling.png"


@dataclass
class EvalSpec:
    """What to run: a task's items under a grid of policies, N samples each.

    `points` (s1_eval.methods.build_points): the test-time methods' points; None runs
    budget forcing over `policies`. `methods`: the methods the summary reports (None:
    budget forcing and its majority vote). `prompts`: the step marker steps are counted by.
    """

    task: str
    items: list[TaskItem]
    policies: list[BudgetPolicy]
    samples: int = 1
    format: str | None = None  # the engine's thinking format when None
    instruction: str | None = None  # after each question; None: the standard one per kind
    points: list[Point] | None = None
    methods: list[str] | None = None
    prompts: Prompts = field(default_factory=Prompts)
    conf: deepconf.ConfVote = field(default_factory=deepconf.ConfVote)  # deepconf's vote

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise S1Error(f"--samples must be >= 1, got {self.samples}", "e.g. --samples 4")
        if self.points is None:
            if not self.policies:
                raise S1Error("no policy to run", "give --max-thinking and --num-ignore")
            self.points = [Point("budget", p) for p in self.policies]
        seen: set[str] = set()
        for p in self.points:
            if p.label() in seen:
                raise S1Error(
                    f"the policy {p.label()} is listed twice", "give each budget and count once"
                )
            seen.add(p.label())


@dataclass(frozen=True)
class Job:
    key: str
    item: TaskItem
    policy: BudgetPolicy
    sample: int
    point: Point


def sample_key(qid: str, label: str, sample: int) -> str:
    return f"{qid}|{label}|{sample}"


def sample_policy(policy: BudgetPolicy, sample: int) -> BudgetPolicy:
    """Sample i samples with seed + i (the same seeds for every policy: smoother curves)."""

    def seeded(cfg: Any) -> Any:
        return cfg.with_seed((cfg.seed or 0) + sample)

    return policy.with_(thinking=seeded(policy.thinking), answer=seeded(policy.answer))


def plan(spec: EvalSpec) -> list[Job]:
    """Every request of the run, in a stable order (question-major)."""
    return [
        Job(sample_key(item.id, p.label(), s), item, sample_policy(p.policy, s), s, p)
        for item in spec.items
        for p in spec.points or []
        for s in range(p.first_sample, spec.samples)
    ]


# ----- the results file ---------------------------------------------------------------------
def read_samples(path: Path, repair: bool = False) -> dict[str, dict]:
    """The records of a samples file by key (the first of a key wins).

    A run killed mid-write can leave a last line without its newline, and a damaged disk
    a line that is not JSON: both are dropped, and with `repair` the file is rewritten
    without them (atomically), so it stays readable by any JSON-lines reader and the
    next append starts on a fresh line; the dropped requests run again.
    """
    records: dict[str, dict] = {}
    if not path.exists():
        return records
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    bad = end < len(data)
    for raw in data[:end].splitlines():
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            bad = True
            continue
        if isinstance(rec, dict) and "key" in rec:
            records.setdefault(rec["key"], rec)
        else:
            bad = True
    if repair and bad:
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records.values())
        write_atomic(path, lines)
    return records


class SampleWriter:
    """Appends one JSON line per result, in one write, flushed at once (a kill leaves at
    most a torn last line, which the next run's `read_samples` repairs)."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "a", encoding="utf-8")

    def write(self, record: dict) -> None:
        self._f.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def make_record(
    task: str,
    job: Job,
    prompt: str,
    result: Any,
    budget: int,
    prompts: Prompts | None = None,
    drawn: Drawn | None = None,
) -> dict:
    g = grade(result.answer, job.item.answer, job.item.kind)
    p = job.policy
    return {
        "key": job.key,
        "task": task,
        "id": job.item.id,
        "policy": job.point.label(),
        "max_thinking": p.max_thinking_tokens,
        "num_ignore": p.num_ignore,
        "min_thinking": p.min_thinking_tokens,
        "ignore_str": "|".join(p.ignore_strings),
        "sample": job.sample,
        "seed": p.thinking.seed,
        "budget": budget,
        "kind": job.item.kind,
        "prompt": prompt,
        "question_sha": question_sha(job.item.question),
        "reference": job.item.answer,
        "thinking": result.thinking,
        "answer": result.answer,
        "extracted": g.extracted,
        "correct": g.correct,
        "thinking_tokens": result.thinking_tokens,
        "answer_tokens": result.answer_tokens,
        "waits": result.count("wait"),
        "events": result.to_dict()["events"],
        "finish_reason": result.finish_reason,
        "seconds": round(result.seconds, 4),
        **methods.record_fields(job.point, result.thinking, prompts or Prompts(), drawn),
        **methods.probe_fields(result),
        **deepconf.record_fields(job, result),
    }


# ----- the run ----------------------------------------------------------------------------------
@dataclass
class Progress:
    """Counters the live display reads (also the run's return value)."""

    total: int
    done: int = 0
    skipped: int = 0
    correct: int = 0
    tokens: int = 0
    failed: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def tokens_per_s(self) -> float:
        dt = time.perf_counter() - self.started
        return self.tokens / dt if dt > 0 else 0.0

    @property
    def accuracy(self) -> float:
        n = self.done - self.failed
        return 100.0 * self.correct / n if n else 0.0


def stale_records(
    done: dict[str, dict], jobs: list[Job], prompts: dict[str, str] | None = None
) -> list[str]:
    """Keys whose saved record asked another question or had another reference (the task
    file was edited in place), or another prompt or stop text (a method's template was
    changed): their results are not this run's."""
    by_key = {j.key: j for j in jobs}
    prompts = prompts or {}
    return [
        k
        for k, rec in done.items()
        if k in by_key
        and (
            rec.get("reference") != by_key[k].item.answer
            or rec.get("question_sha")
            not in (
                None,
                question_sha(by_key[k].item.question),
            )
            or (k in prompts and rec.get("prompt", prompts[k]) != prompts[k])
            or rec.get("stop", "") != by_key[k].point.stop
            or deepconf.stale(rec, by_key[k])
        )
    ]


def question_sha(question: str) -> str:
    import hashlib

    return hashlib.sha1(question.encode("utf-8")).hexdigest()[:12]


def _clear(out: Path) -> None:
    for name in (SAMPLES, SUMMARY, PLOT):
        (out / name).unlink(missing_ok=True)


def run_identity(engine: Engine, spec: EvalSpec) -> dict[str, Any]:
    """What makes two runs' results one set: a folder holds results of one identity."""
    base = spec.policies[0]
    return {
        "task": spec.task,
        "model": str(getattr(engine, "model", "")),
        "format": spec.format or getattr(getattr(engine, "format", None), "name", None),
        "max_model_len": getattr(engine, "max_model_len", None),  # "auto" budgets depend on it
        "temperature": base.thinking.temperature,
        "top_p": base.thinking.top_p,
        "seed": base.thinking.seed,
        "answer_max_tokens": base.answer_max_tokens,
        "instruction": spec.instruction,
    }


def run_eval(
    engine: Engine,
    spec: EvalSpec,
    out: str | Path | RunFolder,
    on_progress: Callable[[Progress], None] | None = None,
    on_result: Callable[[dict], None] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Run what `samples.jsonl` in `out` does not hold yet, then write the summary and plot.

    `on_progress(state)` is called as results arrive (a front end draws its progress
    bar from it); `on_result(record)` with each new record. The folder is locked for the
    run and holds one run identity (another is refused unless `overwrite`)."""
    if isinstance(out, RunFolder):  # claimed (locked) by the caller already
        return _run_claimed(engine, spec, out, on_progress, on_result, overwrite)
    with RunFolder(out, "eval") as folder:
        return _run_claimed(engine, spec, folder, on_progress, on_result, overwrite)


def _run_claimed(
    engine: Engine,
    spec: EvalSpec,
    folder: RunFolder,
    on_progress: Callable[[Progress], None] | None,
    on_result: Callable[[dict], None] | None,
    overwrite: bool,
) -> dict[str, Any]:
    out = folder.path
    folder.claim(
        run_identity(engine, spec),
        overwrite,
        clear=_clear,
        has_results=lambda p: (p / SAMPLES).exists(),
    )
    samples_path = out / SAMPLES
    done = read_samples(samples_path, repair=True)
    jobs = plan(spec)
    stale = stale_records(done, jobs, {j.key: job_prompt(spec, j) for j in jobs})
    if stale:
        qid = stale[0].split("|")[0]
        raise S1Error(
            f"{str(out)!r} holds results for another version of question {qid!r} "
            f"({len(stale)} stale results: the task or a method's prompt changed since)",
            "rerun with --overwrite to start over, or give another --out",
        )
    pending = [j for j in jobs if j.key not in done]
    state = Progress(
        total=len(jobs), done=len(jobs) - len(pending), skipped=len(jobs) - len(pending)
    )
    state.correct = sum(1 for j in jobs if j.key in done and done[j.key]["correct"])
    if pending:
        writer = SampleWriter(samples_path)
        try:
            tick = on_progress or (lambda state: None)
            tick(state)

            def arrived(rec: dict | None) -> None:
                if rec is not None:
                    done[rec["key"]] = rec
                    if on_result:
                        on_result(rec)
                tick(state)

            warm = deepconf.Warmup(spec.points or [], done, spec.conf.eta)
            asyncio.run(_run_jobs(engine, spec, pending, writer, state, arrived, warm))
        finally:
            writer.close()
    records = [done[j.key] for j in jobs if j.key in done]
    labels = [p.label() for p in spec.points or []]
    summary = summarize(records, labels, spec.methods, spec.conf)
    summary = {
        "task": spec.task,
        "model": str(getattr(engine, "model", "")),
        "requests": len(jobs),
        "failed": len(jobs) - len(records),
        "instruction": spec.instruction,  # what followed each question (None: per kind)
        **summary,
    }
    write_outputs(out, summary)
    return summary


def write_outputs(out: Path, summary: dict[str, Any]) -> None:
    from .plots import plot_scaling

    write_atomic(out / SUMMARY, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    plot_scaling(summary, out / PLOT, title=f"{summary.get('task', '')}: accuracy vs thinking")


async def _run_jobs(
    engine: Engine,
    spec: EvalSpec,
    jobs: list[Job],
    writer: SampleWriter,
    state: Progress,
    arrived: Callable[[dict | None], None],
    warm: deepconf.Warmup,
) -> None:
    """Start every request, then take each result as it arrives (no rounds)."""

    async def one(job: Job, prompt: str, fmt: str | None) -> tuple[Job, str, Any, Any, Any]:
        if job.point.draws > 1:  # rejection: draws one after the other
            return (
                job,
                prompt,
                *await methods.draw_until_fit(engine, prompt, job.policy, job.point, fmt),
            )
        job = replace(job, policy=await warm.policy(job))  # deepconf-online: its threshold
        session = engine.start(prompt, job.policy, format=fmt, live=False)  # batch session
        return job, prompt, session, await session.aresult(), None

    formats: dict[str, str | None] = {"": spec.format}  # step-conditional+bf: a stop text
    waiters = []
    for job in jobs:
        if job.point.stop not in formats:
            formats[job.point.stop] = methods.stop_format(engine, spec.format, job.point.stop)
        fmt = formats[job.point.stop]
        waiters.append(asyncio.ensure_future(one(job, job_prompt(spec, job), fmt)))
    for next_done in asyncio.as_completed(waiters):
        job, prompt, session, result, drawn = await next_done
        state.done += 1
        spent = drawn.fields()["compute_tokens"] if drawn else 0
        state.tokens += spent or result.thinking_tokens + result.answer_tokens
        state.tokens += getattr(result, "probe_tokens", 0)
        if result.finish_reason == "error":
            state.failed += 1  # not written: a rerun retries it
            warm.arrived(job, None)
            arrived(None)
            continue
        budget = session.state.budget_tokens or 0
        rec = make_record(spec.task, job, prompt, result, budget, spec.prompts, drawn)
        writer.write(rec)
        warm.arrived(job, rec)
        state.correct += bool(rec["correct"])
        arrived(rec)


def job_prompt(spec: EvalSpec, job: Job) -> str:
    """The user message of a job: the task's prompt, then the point's condition."""
    return methods.with_condition(format_prompt(job.item, spec.instruction), job.point)
