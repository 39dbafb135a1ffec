"""SFT with TRL's SFTTrainer on s1-format data: the data and the run.

`run(config)` loads the data, formats it (`formatting`), drops or truncates sequences
over the block size, trains with loss on the assistant turn only, checkpoints, resumes
after a kill, and writes the final model (loadable by the engine unchanged) and a report.
The settings live in `config` (TrainConfig, the s1 recipe as defaults).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from s1_engine.errors import S1Error
from s1_engine.rundir import RunFolder

from . import loss_lines, outputs, plan, speed
from .config import ALIASES, CONFIGS_DIR, RECIPES_DIR, TrainConfig, load_recipe, resolve_config
from .defaults import (  # noqa: F401 - the run's picks, importable from here as before
    MICRO_BATCH_TOKENS,
    SELECTIVE_MAX_BLOCK,
    bf16_supported,
    grad_accum_for,
    on_gpu,
    padding_free_for,
    per_device_for,
    selective_for,
    world_size,
)
from .formatting import Columns, to_prompt_completion

__all__ = [
    "ALIASES",
    "CONFIGS_DIR",
    "RECIPES_DIR",
    "TrainConfig",
    "load_recipe",
    "resolve_config",
    "run",
]


# ----- data ---------------------------------------------------------------------------
def load_rows(source: str, split: str = "train") -> Any:
    """Any dataset `datasets` loads: a hub id, a local jsonl/json/parquet/csv/arrow file or folder."""
    import datasets

    datasets.logging.set_verbosity(datasets.logging.CRITICAL)  # failures become one S1Error line
    datasets.disable_progress_bars()
    path = Path(source)
    try:
        if path.is_file():
            ext = path.suffix.lstrip(".").lower()
            kind = {"jsonl": "json", "json": "json", "parquet": "parquet", "csv": "csv"}.get(ext)
            if ext == "arrow":
                return datasets.Dataset.from_file(str(path))
            if ext == "jsonl":
                return _read_jsonl(path)
            if kind is None:
                raise S1Error(
                    f"cannot read {source!r}: unknown file type '.{ext}'",
                    "give a .jsonl, .json, .parquet, .csv or .arrow file, a folder, or a hub id",
                )
            return datasets.load_dataset(kind, data_files=str(path), split="train")
        if path.is_dir():
            if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists():
                ds = datasets.load_from_disk(str(path))
                if isinstance(ds, datasets.DatasetDict):
                    ds = ds[split] if split in ds else ds[next(iter(ds))]
                return ds
            return datasets.load_dataset(str(path), split=split)
        if os.path.sep in source or source.startswith("."):
            raise S1Error(f"no dataset at {source!r}", "check the path")
        return datasets.load_dataset(source, split=split)
    except S1Error:
        raise
    except Exception as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise S1Error(
            f"cannot load the dataset {source!r}: {first}",
            "give a local jsonl/parquet/arrow file or folder, or a hub id on a machine with the hub",
        ) from None


def _read_jsonl(path: Path) -> Any:
    """A local JSON-lines file, read directly (no builder, no cache folder)."""
    import datasets

    rows = []
    with path.open() as f:
        for i, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise S1Error(
                        f"{str(path)!r} line {i} is not JSON: {e.msg}", "fix or remove that line"
                    ) from None
    if rows and not all(isinstance(r, dict) for r in rows):
        raise S1Error(f"{str(path)!r} holds JSON lines that are not objects", "one {...} a line")
    return datasets.Dataset.from_list(rows)


@dataclass
class PreparedData:
    dataset: Any  # prompt/completion rows
    rows: int
    unusable: int
    dropped_long: int
    truncated_long: int
    max_tokens: int
    columns: str


def prepare(config: TrainConfig, tokenizer: Any) -> PreparedData:
    """Load, format to prompt/completion, and apply the block size (drop or truncate)."""
    import datasets

    raw = load_rows(config.dataset, config.split)
    if len(raw) == 0:
        raise S1Error(f"the dataset {config.dataset!r} is empty", "check the file or --split")
    columns = Columns(raw.column_names, config.thinking_column)
    if config.max_samples:
        raw = raw.select(range(min(config.max_samples, len(raw))))
    if config.overlong not in ("drop", "truncate"):
        raise S1Error(f"unknown --overlong {config.overlong!r}", "use drop or truncate")
    out: list[dict[str, str]] = []
    unusable = dropped = truncated = longest = 0
    for row in raw:
        try:
            pc = to_prompt_completion(row, columns, tokenizer, config.system)
        except ValueError:
            unusable += 1
            continue
        n = len(tokenizer(pc["prompt"] + pc["completion"], add_special_tokens=False)["input_ids"])
        longest = max(longest, n)
        if n > config.block_size:
            if config.overlong == "drop":
                dropped += 1
                continue
            n_prompt = len(tokenizer(pc["prompt"], add_special_tokens=False)["input_ids"])
            if n_prompt >= config.block_size:
                dropped += 1  # nothing of the answer would be left to train on
                continue
            truncated += 1  # SFTTrainer cuts it to max_length (keep_start)
        out.append(pc)
    if not out:
        raise S1Error(
            f"no usable rows in {config.dataset!r} ({unusable} unusable, {dropped} over "
            f"--block-size {config.block_size})",
            "check the columns' contents or raise --block-size",
        )
    return PreparedData(
        datasets.Dataset.from_list(out),
        len(raw),
        unusable,
        dropped,
        truncated,
        longest,
        columns.describe(),
    )


# ----- the run --------------------------------------------------------------------------
def last_checkpoint(output_dir: str | Path, log: Any = None) -> str | None:
    return outputs.last_whole_checkpoint(output_dir, log)


def _is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _say(log: Any) -> Any:
    """Messages from the main process only (every rank runs this under accelerate)."""
    if log is None or not _is_main():
        return lambda msg: None
    return log


def build_trainer(config: TrainConfig, log: Any = None) -> tuple[Any, PreparedData, dict]:
    """The SFTTrainer for `config`, its prepared data, and facts for the report."""
    if not config.dataset:
        raise S1Error("no dataset given", "s1 train DATASET (a hub id, or a local file or folder)")
    say = _say(log)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from transformers import AutoModelForCausalLM, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from s1_engine.engine import default_model, load_tokenizer

    model_path = config.model or default_model()
    tokenizer = load_tokenizer(model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    data = prepare(config, tokenizer)
    say(
        f"data: {data.rows} rows ({data.columns}); {len(data.dataset)} used, "
        f"{data.dropped_long} over --block-size {config.block_size} "
        f"{'dropped' if config.overlong == 'drop' else 'dropped (prompt alone too long)'}, "
        f"{data.truncated_long} truncated, {data.unusable} unusable; longest {data.max_tokens} tokens"
    )
    bf16 = bf16_supported() if config.bf16 is None else bool(config.bf16)
    padding_free = padding_free_for(config)
    per_device = per_device_for(config, padding_free)
    accum = grad_accum_for(config, per_device)
    selective = selective_for(config)
    attn = config.attn_implementation or ("s1_varlen" if padding_free else "sdpa")
    if attn == "s1_varlen":
        from .attention import register

        register()
    try:
        model = AutoModelForCausalLM.from_pretrained(
            model_path, dtype=torch.bfloat16 if bf16 else torch.float32, attn_implementation=attn
        )
    except (OSError, ValueError) as e:
        raise S1Error(
            f"cannot load model {model_path!r}: {str(e).splitlines()[0]}", "check --model"
        ) from None
    out = Path(config.output_dir)
    loss_log = out / "loss_log.jsonl"

    class LossLog(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kw):  # noqa: ANN001
            if logs and state.is_world_process_zero and "loss" in logs:
                out.mkdir(parents=True, exist_ok=True)
                rec = {"step": state.global_step, "epoch": state.epoch, "time": time.time()}
                if torch.cuda.is_available():  # this process's peak, GiB
                    rec["max_memory_allocated_gib"] = torch.cuda.max_memory_allocated() / 2**30
                    rec["max_memory_reserved_gib"] = torch.cuda.max_memory_reserved() / 2**30
                rec.update(logs)
                with loss_log.open("a") as f:
                    f.write(json.dumps(rec) + "\n")

    extra = dict(config.extra or {})
    if selective and "gradient_checkpointing_kwargs" not in extra:
        extra["gradient_checkpointing_kwargs"] = {"selective": True}
    args = SFTConfig(
        output_dir=str(out),
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=float(config.warmup_ratio),  # a float in [0, 1) is a ratio here
        adam_beta1=config.adam_beta1,
        adam_beta2=config.adam_beta2,
        weight_decay=config.weight_decay,
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=accum,
        bf16=bf16,
        gradient_checkpointing=config.gradient_checkpointing,
        # padding-free: rows over the block size were dropped already (prepare), and TRL
        # wants no max_length then
        max_length=None if padding_free else config.block_size,
        truncation_mode="keep_start",
        completion_only_loss=True,
        packing=False,
        padding_free=padding_free,
        use_liger_kernel=config.liger,
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        max_grad_norm=config.max_grad_norm,
        report_to=[],
        disable_tqdm=not config.progress,
        dataset_num_proc=None,
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=not torch.cuda.is_available(),  # several CPU processes: gloo
        **(speed.sft_kwargs(config) | extra),
    )
    trainer = speed.make_trainer(
        SFTTrainer,
        config,
        on_gpu(),
        model=model,
        args=args,
        train_dataset=data.dataset,
        processing_class=tokenizer,
        callbacks=[LossLog()],
    )
    loss_lines.install(trainer, say)  # rounded lines, the first and last step logged
    info = {"model_path": model_path, "bf16": bf16, "accum": accum, "extra": extra, "out": out}
    info |= {"padding_free": padding_free, "attn_implementation": attn, "liger": config.liger}
    info |= {"per_device": per_device, "selective_checkpointing": bool(selective)}
    info["speed"] = speed.describe(trainer.s1_speed)
    say(plan.run_line(config, model.config, per_device, selective))
    return trainer, data, info


def run(config: TrainConfig, log: Any = None) -> dict[str, Any]:
    """Train; returns the report (also written to OUTPUT/s1_train_report.json).

    The output folder is locked for the run and holds one run identity: the same command
    again resumes; other data or settings are refused unless `config.overwrite`."""
    config.validate()  # before any model loads
    if not _is_main():
        return _run(config, log)
    with RunFolder(config.output_dir, "train", flag="--output") as folder:
        folder.claim(
            outputs.identity(config),
            config.overwrite,
            clear=outputs.clear,
            has_results=outputs.has_results,
        )
        return _run(config, log)


def _run(config: TrainConfig, log: Any = None) -> dict[str, Any]:
    say = _say(log)
    trainer, data, info = build_trainer(config, log)
    model_path, bf16, accum, extra, out = (
        info[k] for k in ("model_path", "bf16", "accum", "extra", "out")
    )
    tokenizer = trainer.processing_class
    resume = last_checkpoint(out, say) if config.resume else None
    if resume:
        say(f"resuming from {resume}")
        if _is_main():
            step = int(Path(resume).name.split("-")[1])
            outputs.trim_loss_log(out / "loss_log.jsonl", step)
    say(
        f"training {model_path} -> {out}: {len(data.dataset)} sequences, effective batch "
        f"{info['per_device']} x {accum} x {world_size()} device(s), "
        f"lr {config.learning_rate}, {config.epochs:g} epoch(s), bf16={bf16}"
    )
    t0 = time.time()
    result = trainer.train(resume_from_checkpoint=resume)
    elapsed = time.time() - t0
    trainer.save_model(str(out))
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    report = {
        "model": model_path,
        "dataset": config.dataset,
        "output_dir": str(out),
        "rows": data.rows,
        "used": len(data.dataset),
        "unusable": data.unusable,
        "dropped_over_block_size": data.dropped_long,
        "truncated_to_block_size": data.truncated_long,
        "longest_tokens": data.max_tokens,
        "block_size": config.block_size,
        "global_steps": trainer.state.global_step,
        "effective_batch": info["per_device"] * accum * world_size(),
        "per_device_batch": info["per_device"],
        "selective_checkpointing": info["selective_checkpointing"],
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "train_loss": result.training_loss,
        "seconds": round(elapsed, 1),
        "resumed_from": resume,
        "distributed_type": str(trainer.accelerator.distributed_type).split(".")[-1],
        "fsdp": bool(getattr(trainer, "is_fsdp_enabled", False)),
        "padding_free": info["padding_free"],
        "attn_implementation": info["attn_implementation"],
        "liger": info["liger"],
        "speed": info["speed"],
        "world_size": world_size(),
        "config": {k: v for k, v in asdict(config).items() if k != "extra"} | {"extra": extra},
    }
    if _is_main():
        tokenizer.save_pretrained(str(out))
        (out / "s1_train_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
