"""The curation pipeline: load the pool, then run the stages of the registry
(`s1_data.stages`: quality -> decontaminate -> traces -> difficulty -> diversity ->
select), each saved as it finishes, so a killed run resumes.

Layout of an output folder:
    OUT/README.md, OUT/data/train-00000-of-00001.parquet   the curated dataset
    OUT/report.md, OUT/report.json, OUT/dropped.jsonl      the report
    OUT/stages/...                                         see `s1_data.checkpoint`

A stage is skipped on a rerun when its fingerprint (what it depends on, chained with
that of every stage before it, and the sources' size/mtime) matches the saved one: change
--n and only selection runs again; kill a run in the middle of the traces and the traces
already generated are not asked for again (nor after an upstream change: model calls
are kept per question, see `Checkpoint`).

Progress goes to a callback (`on_progress`, a `StageProgress` per step): the library
draws nothing itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from s1_engine.errors import S1Error
from s1_engine.options import check, option
from s1_engine.rundir import RunFolder
from s1_engine.settings import EngineOptions

from .checkpoint import Checkpoint, StageFiles, fingerprint, read_jsonl, write_jsonl
from .engines import EngineFactory, Engines
from .stages import NAMES, STAGES, Job, settings_classes
from .stages.base import P_DATA, Result, Rows

__all__ = ["CurateConfig", "Engines", "Pipeline", "StageProgress", "run_pipeline"]


@dataclass
class CurateConfig:
    """One run: the pool, the output folder, which stages, and the settings objects of
    the stages (those not given keep their defaults) and of the engine."""

    pool: list[str] | None = option(None, "A pool source (repeatable).", panel=P_DATA, short="-p")
    out: str | None = option(
        None,
        "Output folder (dataset, report, stage files).",
        panel=P_DATA,
        short="-o",
        out_dir=True,
    )
    limit: int | None = option(
        None,
        "Keep a seeded random subset of the pool (quick runs).",
        panel=P_DATA,
        min=1,
        example="--limit 100",
    )
    seed: int = option(0, "Seed for --limit, sampling and selection.", panel=P_DATA)
    kinds: str | None = option(
        None,
        "Synthetic pool sources (synthetic:N): only these task kinds, comma-separated "
        "(subtract,quotient,gcd: the ones the embedded model was trained on; default: all "
        "seven).",
        panel=P_DATA,
    )
    batch_size: int = option(
        32,
        "Requests sent to the engine at once (and checkpointed).",
        panel=P_DATA,
        min=1,
        example="--batch-size 32",
    )
    quiet: bool = option(False, "No progress bars.", panel=P_DATA, short="-q", negatable=False)
    overwrite: bool = option(
        False,
        "Replace a finished run in --out made with other stages or settings (without it, "
        "such a folder is refused); stages whose inputs did not change are reused.",
        panel=P_DATA,
        negatable=False,
    )
    stages: tuple[str, ...] = NAMES
    settings: tuple[Any, ...] = ()  # e.g. (SelectSettings(n=100), QualitySettings(...))
    engine: EngineOptions = field(default_factory=EngineOptions)

    def get(self, cls: type) -> Any:
        """The settings object of class `cls` (its defaults if none was given)."""
        found = next((s for s in self.settings if type(s) is cls), None)
        return found if found is not None else cls()

    def validate(self) -> None:
        unknown = [s for s in self.stages if s not in NAMES]
        if unknown:
            raise S1Error(f"unknown stage {unknown[0]!r}", f"stages are: {', '.join(NAMES)}")
        if not self.pool:
            raise S1Error(
                "no pool sources given", "pass --pool FILE (a file, folder, hub id or synthetic:N)"
            )
        if not self.out:
            raise S1Error("no output folder given", "pass --out FOLDER")
        check(self)
        check(self.engine)
        from .pool import parse_kinds

        parse_kinds(self.kinds)
        known = settings_classes()
        for obj in self.settings:
            if type(obj) not in known:
                raise S1Error(f"{type(obj).__name__} is no stage's settings", "see s1_data.stages")
            check(obj)
            if hasattr(obj, "validate"):
                obj.validate()  # rules beyond the fields' limits (budgets that parse, ...)
        self.stages = tuple(s for s in NAMES if s in self.stages)

    def public(self) -> dict[str, Any]:
        """The settings as the report and the dataset card show them."""
        d: dict[str, Any] = {
            "sources": list(self.pool or []),
            "out": self.out,
            "stages": list(self.stages),
            "limit": self.limit,
            "seed": self.seed,
            "kinds": self.kinds,
            "batch_size": self.batch_size,
        }
        for cls in settings_classes():
            d.update(asdict(self.get(cls)))
        d["engine"] = {k: v for k, v in asdict(self.engine).items() if v is not None}
        return d


@dataclass(frozen=True)
class StageProgress:
    """One step of a stage, for a progress display: `done` of `total` items (None while
    unknown); `finished` on its last report; `resumed` when it was read from disk."""

    stage: str
    done: int
    total: int | None
    resumed: bool = False
    finished: bool = False


class Pipeline:
    """One run of `cfg`: validated when made (before anything loads), run by `run()`."""

    def __init__(
        self,
        cfg: CurateConfig,
        engines: Engines | None = None,
        on_progress: Callable[[StageProgress], None] | None = None,
        build: EngineFactory | None = None,
    ) -> None:
        """`engines`: ready engines (kept open); else they are built with `build`
        (default: `engines.build_engine`) and closed at the end."""
        cfg.validate()
        self.cfg = cfg
        self.out = Path(str(cfg.out))
        self.files = StageFiles(self.out / "stages")
        self.own_engines = engines is None
        self.engines = engines or Engines(cfg.engine, seed=cfg.seed, build=build)
        self.on_progress = on_progress or (lambda p: None)
        self.job = Job(
            settings={type(s): s for s in cfg.settings},
            engine=cfg.engine,
            engines=self.engines,
            seed=cfg.seed,
            batch_size=cfg.batch_size,
        )
        self.stage_reports: list[dict[str, Any]] = []
        self.dropped: list[dict[str, Any]] = []

    def _run_stage(
        self,
        idx: int,
        name: str,
        fp: str,
        inputs: Rows | None,
        run: Callable[[Rows, Job], Result],
        calls_key: Any = None,
    ) -> Rows:
        n_in = len(inputs) if inputs is not None else None
        rec = self.files.finished(idx, name, fp)
        if rec is not None:
            kept_p, dropped_p, _ = self.files.paths(idx, name)
            kept, dropped = read_jsonl(kept_p), read_jsonl(dropped_p)
            shown = max(1, len(kept))
            self.on_progress(StageProgress(name, shown, shown, resumed=True, finished=True))
            n = n_in if n_in is not None else len(kept) + len(dropped)
            stats, seconds = rec.get("stats", {}), rec.get("seconds", 0.0)
            self._record(name, n, kept, dropped, stats, seconds, True)
            return kept
        done = 0

        def advance(k: int) -> None:
            nonlocal done
            done += k
            self.on_progress(StageProgress(name, done, n_in))

        self.on_progress(StageProgress(name, 0, n_in))
        t0 = time.perf_counter()
        ck = None
        if calls_key is not None:
            ck = Checkpoint(self.files.paths(idx, name)[2], fingerprint(name, calls_key))
        kept, dropped, stats = run(inputs or [], replace(self.job, advance=advance, calls=ck))
        if ck is not None:
            stats["model_calls"] = {"new": ck.saved, "saved_before": ck.cached}
        seconds = round(time.perf_counter() - t0, 3)
        total = len(kept) + len(dropped)
        self.on_progress(StageProgress(name, total, total, finished=True))
        self.files.save(idx, name, fp, kept, dropped, stats, seconds)
        n = n_in if n_in is not None else total
        self._record(name, n, kept, dropped, stats, seconds, False)
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

    def _pool(self, _items: Rows, job: Job) -> Result:
        from .pool import load_pool, parse_kinds

        c = self.cfg
        items = load_pool(c.pool or [], c.limit, c.seed, parse_kinds(c.kinds))
        job.advance(len(items))
        return items, [], {"sources": list(self.cfg.pool or [])}

    def identity(self) -> dict[str, Any]:
        """What makes two runs' results one set: the stages and every setting that
        changes what they keep (not the folder, the batch size, the engine's logging)."""
        ident = self.cfg.public()
        for name in ("out", "batch_size"):
            ident.pop(name, None)
        ident["engine"] = {k: v for k, v in ident["engine"].items() if k != "verbose"}
        return ident

    def run(self) -> dict[str, Any]:
        """Lock the output folder and run: one writer at a time, and one run per folder:
        a finished result of other stages or settings is refused, naming what changed,
        unless `overwrite` (then only the stages whose inputs changed run again)."""
        with RunFolder(self.out, "curate") as folder:
            ident = self.identity()
            done = (self.out / "report.json").exists()
            if done:
                folder.check(ident, self.cfg.overwrite)  # names the setting that changed
            folder.claim(ident, self.cfg.overwrite, clear=_clear, has_results=lambda p: done)
            return self._run()

    def _run(self) -> dict[str, Any]:
        from .export import export_dataset
        from .pool import fingerprint_sources
        from .report import build_report, write_report

        c = self.cfg
        chosen = [s for s in STAGES if s.name in c.stages]
        _quiet_datasets()
        self.files.open()
        try:
            fp = fingerprint("pool", fingerprint_sources(c.pool or []), c.limit, c.seed)
            if c.kinds:  # (so that runs without --kinds keep their fingerprints)
                fp = fingerprint(fp, "kinds", c.kinds)
            items = self._run_stage(0, "pool", fp, None, self._pool)
            for stage in chosen:
                if stage.ready is not None:
                    stage.ready(items, self.job)
            candidates = None
            for stage in chosen:
                key = stage.depends_on(self.job)
                fp = fingerprint(fp, stage.name, key)
                if stage.picks:
                    candidates = items
                idx = NAMES.index(stage.name) + 1
                calls = key if stage.engine else None
                items = self._run_stage(idx, stage.name, fp, items, stage.run, calls)
            if candidates is None:
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


def _clear(out: Path) -> None:
    """--overwrite: remove a finished run's dataset and report. The stage files stay: each
    is reused only where its fingerprint (its inputs and settings) matches."""
    import shutil

    shutil.rmtree(out / "data", ignore_errors=True)
    for name in ("README.md", "report.md", "report.json", "dropped.jsonl"):
        (out / name).unlink(missing_ok=True)


def _quiet_datasets() -> None:
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()


def run_pipeline(
    cfg: CurateConfig,
    engines: Engines | None = None,
    on_progress: Callable[[StageProgress], None] | None = None,
    build: EngineFactory | None = None,
) -> dict[str, Any]:
    """Run (or resume) the stages of `cfg` and write the dataset and the report."""
    return Pipeline(cfg, engines, on_progress, build).run()
