"""A training output folder where nothing is lost and nothing is silently wrong.

One run identity per folder (the data's content, the base model, every setting that
changes the weights): a rerun of the same command resumes from the last whole
checkpoint; another dataset or learning rate into a finished folder is refused, not
"resumed" into the old weights. A checkpoint cut by a kill mid-save is found (the
trainer writes `trainer_state.json` last) and set aside, so the run resumes from the
last whole one. The loss log never repeats a step after a resume.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from s1_engine.rundir import content_hash

from .config import TrainConfig

# settings that do not change what is trained (how it is logged, saved, shown)
NOT_IDENTITY = {
    "output_dir",
    "logging_steps",
    "save_steps",
    "save_total_limit",
    "resume",
    "progress",
    "max_steps",
    "overwrite",
    # how fast, not what: the same loss within rounding (bench/train/gpu_train.md)
    "loss_kernel",
    "token_metrics",
    "optimizer",
    "compile_layers",
    "plan",
    "gpu_memory_gib",
}
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def identity(config: TrainConfig) -> dict[str, Any]:
    """What makes two runs the same training: the folder's results belong to one of these."""
    data = Path(config.dataset)
    settings = {k: v for k, v in asdict(config).items() if k not in NOT_IDENTITY}
    if data.exists():
        settings["dataset_content"] = content_hash([data])
    return settings


def whole(checkpoint: Path) -> bool:
    """A checkpoint the trainer finished writing (trainer_state.json comes last)."""
    return (checkpoint / "trainer_state.json").is_file() and any(
        (checkpoint / w).is_file() for w in WEIGHTS
    )


def checkpoints(out: Path) -> list[Path]:
    found = [p for p in out.glob("checkpoint-*") if re.fullmatch(r"checkpoint-\d+", p.name)]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def last_whole_checkpoint(out: str | Path, log: Any = None) -> str | None:
    """The newest whole checkpoint; torn ones (a kill mid-save) are moved aside first."""
    out = Path(out)
    if not out.is_dir():
        return None
    last = None
    for cp in checkpoints(out):
        if whole(cp):
            last = cp
        else:
            torn = cp.with_name(cp.name + ".torn")
            shutil.rmtree(torn, ignore_errors=True)
            cp.rename(torn)
            if log:
                log(
                    f"{cp.name} was cut short by a kill while it was saved: set aside as {torn.name}"
                )
    return str(last) if last else None


def trim_loss_log(path: Path, resumed_step: int) -> None:
    """Drop logged steps after the checkpoint a run resumes from (they are trained again)."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line).get("step", 0) <= resumed_step:
                keep.append(line)
        except json.JSONDecodeError:
            continue
    from s1_engine.rundir import write_atomic

    write_atomic(path, "".join(x + "\n" for x in keep))


def has_results(out: Path) -> bool:
    return bool(checkpoints(out)) or (out / "s1_train_report.json").exists()


def clear(out: Path) -> None:
    """--overwrite: remove an earlier run's checkpoints, model and logs."""
    for cp in list(out.glob("checkpoint-*")):
        shutil.rmtree(cp, ignore_errors=True)
    for name in ("s1_train_report.json", "loss_log.jsonl", *WEIGHTS, "config.json"):
        (out / name).unlink(missing_ok=True)
