"""The curation pipeline: pool -> quality -> decontaminate -> traces -> difficulty ->
diversity -> select, each stage saved as it finishes, so a killed run resumes.

Layout of an output folder:
    OUT/README.md, OUT/data/train-00000-of-00001.parquet   the curated dataset
    OUT/report.md, OUT/report.json, OUT/dropped.jsonl      the report
    OUT/stages/NN_STAGE.jsonl (+ .dropped.jsonl)           each finished stage
    OUT/stages/NN_STAGE.calls.jsonl                        every model call of a stage
    OUT/stages/state.json                                  finished stages + fingerprints

A stage is skipped on a rerun when its fingerprint (its settings, chained with those of
every stage before it, and the sources' size/mtime) matches the saved one: change --n
and only selection runs again; kill a run in the middle of the traces and the traces
already generated are not asked for again (nor after an upstream change: model calls
are kept per question, see `Checkpoint`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from s1_engine.errors import S1Error
from s1_engine.policy import parse_budget
from s1_engine.settings import EngineOptions

STAGES = ("quality", "decontaminate", "traces", "difficulty", "diversity", "select")


@dataclass
class CurateConfig:
    sources: list[str]
    out: str
    stages: tuple[str, ...] = STAGES
    limit: int | None = None
    seed: int = 0
    batch_size: int = 32
    # quality
    dedup_threshold: float = 0.8
    num_perm: int = 128
    shingle: int = 3
    # decontaminate
    eval_tasks: list[str] | None = None  # None: every registry task that loads here
    ngram: int = 8
    # traces
    teacher: str | None = None
    max_thinking: str = "auto"
    answer_max_tokens: int = 1024
    temperature: float = 0.0
    regenerate_traces: bool = False
    # difficulty
    ref_models: list[str] = field(default_factory=list)
    ref_max_thinking: str = "auto"
    # diversity
    classifier: str = "lexical"
    classifier_model: str | None = None
    classify_max_thinking: str = "512"
    # select
    n: int = 1000
    length_bias: float = 1.0
    engine: EngineOptions = field(default_factory=EngineOptions)
    quiet: bool = False

    def validate(self) -> None:
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown:
            raise S1Error(f"unknown stage {unknown[0]!r}", f"stages are: {', '.join(STAGES)}")
        if not self.sources:
            raise S1Error(
                "no pool sources given", "pass --pool FILE (a file, folder, hub id or synthetic:N)"
            )
        if not self.out:
            raise S1Error("no output folder given", "pass --out FOLDER")
        if not 0 < self.dedup_threshold <= 1:
            raise S1Error(
                f"--dedup-threshold must be in (0, 1], got {self.dedup_threshold}", "e.g. 0.8"
            )
        if self.ngram < 1:
            raise S1Error(f"--ngram must be >= 1, got {self.ngram}", "e.g. --ngram 8")
        if self.batch_size < 1:
            raise S1Error(f"--batch-size must be >= 1, got {self.batch_size}", "e.g. 32")
        if "select" in self.stages and self.n < 1:
            raise S1Error(f"--n must be >= 1, got {self.n}", "e.g. --n 1000")
        if self.classifier not in ("lexical", "model"):
            raise S1Error(
                f"unknown classifier {self.classifier!r}", "use --classifier lexical or model"
            )
        for b in (self.max_thinking, self.ref_max_thinking, self.classify_max_thinking):
            parse_budget(b)
        self.stages = tuple(s for s in STAGES if s in self.stages)

    def public(self) -> dict[str, Any]:
        d = asdict(self)
        d["engine"] = {k: v for k, v in asdict(self.engine).items() if v is not None}
        d.pop("quiet", None)
        return d


def fingerprint(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


# ----- engines ---------------------------------------------------------------------------
class Engines:
    """Engines by model, built on first use; building one closes the one before (two
    32B models would not fit one GPU together); presets (tests) stay open."""

    def __init__(
        self, opts: EngineOptions | None = None, preset: dict[str, Any] | None = None, seed: int = 0
    ) -> None:
        self.opts = opts or EngineOptions()
        self.preset = {str(k): v for k, v in (preset or {}).items()}
        self.built: dict[str, Any] = {}
        self.seed = seed

    def resolve(self, name: str | None) -> str:
        if name:
            return str(name)
        if self.opts.model:
            return str(self.opts.model)
        if len(self.preset) == 1:
            return next(iter(self.preset))
        from s1_engine.engine import default_model

        return default_model()

    def label(self, name: str | None) -> str:
        return str(
            name
            or self.opts.model
            or (next(iter(self.preset)) if len(self.preset) == 1 else "(default)")
        )

    def get(self, name: str | None) -> Any:
        key = self.resolve(name)
        if key in self.preset:
            return self.preset[key]
        if key not in self.built:
            self.close()  # one model in memory at a time: stages run one after another
            from s1_engine.enginelog import EngineLog

            opts = replace(self.opts, model=key)
            log = None if opts.verbose else EngineLog.new("curate")
            self.built[key] = opts.build(self.seed, "batch", log)
        return self.built[key]

    def token_counter(self, name: str | None) -> tuple[Callable[[str], int], str]:
        """A function counting tokens with the model's tokenizer, or an estimate."""
        from .stages.traces import estimate_tokens

        try:
            key = self.resolve(name)
            eng = self.preset.get(key) or self.built.get(key)
            if eng is not None:
                tok = eng.tokenizer
            else:
                from s1_engine.engine import load_tokenizer

                tok = load_tokenizer(key)
        except S1Error:
            return estimate_tokens, "estimate (words and punctuation)"
        return (
            lambda text: len(tok.encode(text or "", add_special_tokens=False))
        ), f"tokenizer:{key}"

    def close(self) -> None:
        for eng in self.built.values():
            eng.close()
        self.built.clear()


# ----- files -----------------------------------------------------------------------------
def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except ValueError:  # a line cut by a kill
                continue
    return rows


class Checkpoint:
    """The model calls of a stage, appended as they finish and kept after it: a killed
    stage resumes from them, and a rerun after an upstream change (more sources, other
    eval tasks) asks the model only about new questions. Keyed by `pool.call_key`; reset
    when the stage's own settings (model, budgets, ...) change."""

    def __init__(self, path: Path, fp: str) -> None:
        self.path, self.fp = path, fp
        self.done: dict[str, dict[str, Any]] = {}
        self.saved = 0
        if path.exists():
            rows = read_jsonl(path)
            if rows and rows[0].get("fingerprint") == fp:
                self.done = {r["key"]: r for r in rows[1:] if "key" in r}
            else:
                path.unlink()
        if not path.exists():
            path.write_text(json.dumps({"fingerprint": fp}) + "\n", encoding="utf-8")
        self.cached = len(self.done)

    def save(self, records: list[dict[str, Any]]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.saved += len(records)


# ----- the pipeline ----------------------------------------------------------------------
class Pipeline:
    def __init__(
        self, cfg: CurateConfig, engines: Engines | None = None, console: Any = None
    ) -> None:
        cfg.validate()
        self.cfg = cfg
        self.out = Path(cfg.out)
        self.work = self.out / "stages"
        self.own_engines = engines is None
        self.engines = engines or Engines(cfg.engine, seed=cfg.seed)
        self.console = console
        self.stage_reports: list[dict[str, Any]] = []
        self.dropped: list[dict[str, Any]] = []
        self.state: dict[str, Any] = {}

    # state
    def _state_path(self) -> Path:
        return self.work / "state.json"

    def _load_state(self) -> None:
        p = self._state_path()
        try:
            self.state = json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}
        except ValueError:
            self.state = {}
        self.state.setdefault("stages", {})

    def _save_state(self) -> None:
        p = self._state_path()
        tmp = p.with_name("state.json.tmp")
        tmp.write_text(json.dumps(self.state, indent=1), encoding="utf-8")
        os.replace(tmp, p)

    def _paths(self, idx: int, name: str) -> tuple[Path, Path, Path]:
        base = f"{idx:02d}_{name}"
        return (
            self.work / f"{base}.jsonl",
            self.work / f"{base}.dropped.jsonl",
            self.work / f"{base}.calls.jsonl",
        )

    def _run_stage(
        self,
        idx: int,
        name: str,
        fp: str,
        inputs: list[dict[str, Any]] | None,
        fn: Callable[..., tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]],
        calls_fp: Any = None,
    ) -> list[dict[str, Any]]:
        kept_p, dropped_p, calls_p = self._paths(idx, name)
        rec = self.state["stages"].get(name)
        n_in = len(inputs) if inputs is not None else None
        if rec and rec.get("fingerprint") == fp and kept_p.exists() and dropped_p.exists():
            kept, dropped = read_jsonl(kept_p), read_jsonl(dropped_p)
            task = self.progress.add_task(f"{name} (resumed)", total=max(1, len(kept)))
            self.progress.update(task, completed=max(1, len(kept)))
            self._record(
                name,
                n_in if n_in is not None else len(kept) + len(dropped),
                kept,
                dropped,
                rec.get("stats", {}),
                rec.get("seconds", 0.0),
                True,
            )
            return kept
        task = self.progress.add_task(name, total=n_in)
        advance = lambda k: self.progress.advance(task, k)  # noqa: E731
        t0 = time.perf_counter()
        ck = Checkpoint(calls_p, fingerprint(name, calls_fp)) if calls_fp is not None else None
        if ck is not None:
            kept, dropped, stats = fn(inputs, advance, ck)
            stats["model_calls"] = {"new": ck.saved, "saved_before": ck.cached}
        else:
            kept, dropped, stats = fn(inputs, advance)
        seconds = round(time.perf_counter() - t0, 3)
        total = len(kept) + len(dropped)
        self.progress.update(task, total=total, completed=total)
        write_jsonl(kept_p, kept)
        write_jsonl(dropped_p, dropped)
        self.state["stages"][name] = {
            "fingerprint": fp,
            "kept": len(kept),
            "dropped": len(dropped),
            "stats": stats,
            "seconds": seconds,
        }
        self._save_state()
        self._record(
            name,
            n_in if n_in is not None else len(kept) + len(dropped),
            kept,
            dropped,
            stats,
            seconds,
            False,
        )
        return kept

    def _record(self, name, n_in, kept, dropped, stats, seconds, resumed) -> None:  # noqa: ANN001
        reasons: dict[str, int] = {}
        for d in dropped:
            reasons[d["reason"]] = reasons.get(d["reason"], 0) + 1
        self.stage_reports.append(
            {
                "name": name,
                "input": n_in,
                "kept": len(kept),
                "dropped": len(dropped),
                "reasons": reasons,
                "resumed": resumed,
                "seconds": seconds,
                "stats": stats,
            }
        )
        self.dropped.extend(dropped)

    # stages
    def _pool(self, _inputs: Any, advance: Callable[[int], None]) -> tuple[list, list, dict]:
        from .pool import load_pool

        items = load_pool(self.cfg.sources, self.cfg.limit, self.cfg.seed)
        advance(len(items))
        return items, [], {"sources": list(self.cfg.sources)}

    def _quality(self, items: list, advance: Callable[[int], None]) -> tuple[list, list, dict]:
        from .stages.quality import run_quality

        c = self.cfg
        kept, dropped = run_quality(items, c.dedup_threshold, c.num_perm, c.shingle, advance)
        return kept, dropped, {"dedup_threshold": c.dedup_threshold, "shingle_words": c.shingle}

    def _decontaminate(
        self, items: list, advance: Callable[[int], None]
    ) -> tuple[list, list, dict]:
        from .stages.decontaminate import load_eval_set, run_decontaminate

        ev = load_eval_set(self.cfg.eval_tasks)
        kept, dropped = run_decontaminate(items, ev, self.cfg.ngram, advance)
        stats = {
            "ngram": self.cfg.ngram,
            "eval_questions": {k: len(v) for k, v in ev.questions.items()},
        }
        if ev.skipped:
            stats["eval_tasks_skipped"] = ev.skipped
        return kept, dropped, stats

    def _traces(
        self, items: list, advance: Callable[[int], None], ck: Checkpoint
    ) -> tuple[list, list, dict]:
        from .stages.traces import run_traces, teacher_policy

        c = self.cfg
        policy = teacher_policy(
            parse_budget(c.max_thinking), c.answer_max_tokens, c.temperature, c.seed
        )
        count, by = self.engines.token_counter(c.teacher)
        kept, dropped, stats = run_traces(
            items,
            lambda: self.engines.get(c.teacher),
            self.engines.label(c.teacher),
            policy,
            count,
            ck.done,
            ck.save,
            c.batch_size,
            c.regenerate_traces,
            advance,
        )
        stats["tokens_counted_by"] = by
        return kept, dropped, stats

    def _difficulty(
        self, items: list, advance: Callable[[int], None], ck: Checkpoint
    ) -> tuple[list, list, dict]:
        from .stages.difficulty import run_difficulty
        from .stages.traces import teacher_policy

        c = self.cfg
        models = [self.engines.label(m) for m in (c.ref_models or [None])]
        policy = teacher_policy(
            parse_budget(c.ref_max_thinking), c.answer_max_tokens, c.temperature, c.seed
        )
        names = {self.engines.label(m): m for m in (c.ref_models or [None])}
        return run_difficulty(
            items,
            models,
            lambda label: self.engines.get(names[label]),
            policy,
            ck.done,
            ck.save,
            c.batch_size,
            advance,
        )

    def _diversity(
        self, items: list, advance: Callable[[int], None], ck: Checkpoint
    ) -> tuple[list, list, dict]:
        from .stages.diversity import classify_policy, run_diversity

        c = self.cfg
        return run_diversity(
            items,
            c.classifier,
            lambda: self.engines.get(c.classifier_model),
            self.engines.label(c.classifier_model),
            ck.done,
            ck.save,
            c.batch_size,
            classify_policy(parse_budget(c.classify_max_thinking)),
            advance,
        )

    def _select(self, items: list, advance: Callable[[int], None]) -> tuple[list, list, dict]:
        from .stages.quality import drop_record
        from .stages.select import select

        chosen, rest, stats = select(
            items, self.cfg.n, self.cfg.seed, self.cfg.length_bias, advance
        )
        dropped = [
            drop_record(it, "select", "not_selected", f"domain {it.get('domain')}") for it in rest
        ]
        return chosen, dropped, stats

    def _stage_settings(self, name: str) -> dict[str, Any]:
        c, e = self.cfg, self.engines
        engine = {"backend": c.engine.backend, "format": c.engine.format, "dtype": c.engine.dtype}
        if name == "quality":
            return {"t": c.dedup_threshold, "p": c.num_perm, "s": c.shingle}
        if name == "decontaminate":
            from .pool import fingerprint_sources

            return {
                "tasks": c.eval_tasks,
                "files": fingerprint_sources(c.eval_tasks or []),
                "n": c.ngram,
            }
        if name == "traces":
            return {
                "teacher": e.label(c.teacher),
                "max": c.max_thinking,
                "ans": c.answer_max_tokens,
                "temp": c.temperature,
                "seed": c.seed,
                "regen": c.regenerate_traces,
                **engine,
            }
        if name == "difficulty":
            return {
                "refs": [e.label(m) for m in (c.ref_models or [None])],
                "max": c.ref_max_thinking,
                "ans": c.answer_max_tokens,
                "temp": c.temperature,
                "seed": c.seed,
                **engine,
            }
        if name == "diversity":
            if c.classifier == "lexical":
                return {"clf": "lexical"}
            return {
                "clf": "model",
                "model": e.label(c.classifier_model),
                "max": c.classify_max_thinking,
                **engine,
            }
        return {"n": c.n, "bias": c.length_bias, "seed": c.seed}

    def run(self) -> dict[str, Any]:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        from .export import export_dataset
        from .pool import fingerprint_sources
        from .report import build_report, write_report

        c = self.cfg
        _quiet_datasets()
        self.work.mkdir(parents=True, exist_ok=True)
        self._load_state()
        console = self.console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=c.quiet,
        )
        try:
            with self.progress:
                fp = fingerprint("pool", fingerprint_sources(c.sources), c.limit, c.seed)
                items = self._run_stage(0, "pool", fp, None, self._pool)
                if "select" in c.stages and c.n > len(items):
                    raise S1Error(
                        f"asked to select {c.n} items but the pool has only {len(items)}",
                        f"lower --n to at most {len(items)}, or add sources to the pool",
                    )
                candidates = items
                for name in c.stages:
                    idx = STAGES.index(name) + 1
                    fp = fingerprint(fp, name, self._stage_settings(name))
                    if name == "select":
                        candidates = items
                    fn = getattr(self, f"_{name}")
                    settings = self._stage_settings(name)
                    calls = settings if name in ("traces", "difficulty", "diversity") else None
                    items = self._run_stage(idx, name, fp, items, fn, calls)
                if "select" not in c.stages:
                    candidates = items
        finally:
            if self.own_engines:
                self.engines.close()
        config = c.public()
        survivors = {s["name"]: s["kept"] for s in self.stage_reports}
        export_dataset(items, self.out, {"survivors": survivors, "config": config})
        write_jsonl(self.out / "dropped.jsonl", self.dropped)
        report = build_report(
            config, self.stage_reports, self.dropped, candidates, items, str(self.out)
        )
        write_report(report, self.out)
        return report


def _quiet_datasets() -> None:
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()


def run_pipeline(
    cfg: CurateConfig, engines: Engines | None = None, console: Any = None
) -> dict[str, Any]:
    """Run (or resume) the stages of `cfg` and write the dataset and the report."""
    return Pipeline(cfg, engines, console).run()
