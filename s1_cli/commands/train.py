"""`s1 train`: supervised fine-tuning with TRL (imported inside the command only)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from s1_engine.errors import S1Error
from s1_train.train import ALIASES, TrainConfig, load_recipe


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def train(
    data: Annotated[
        str | None,
        typer.Argument(
            help="A hub id, or a local jsonl/json/parquet/csv/arrow file or folder.",
            metavar="DATASET",
        ),
    ] = None,
    config: TrainConfig = None,  # type: ignore[assignment]
) -> None:
    """Fine-tune a model on s1-format reasoning data with TRL (loss on the assistant turn only).

    `--plan` prints the memory plan (GPUs needed) from the model's config and exits.
    Same command on a laptop CPU, one GPU, or several through
    `accelerate launch --config_file s1_train/configs/fsdp_qwen2.yaml -m s1_cli.main train ...`.
    """
    from dataclasses import replace

    from s1_train.train import run

    if data:
        config = replace(config, dataset=data)
    if config.plan:  # the model's config only: no TRL, no data, no weights
        from s1_train.plan import plan_text

        print(plan_text(config, config.gpu_memory_gib), flush=True)
        return
    if not config.dataset:
        raise S1Error("no dataset given", "s1 train DATASET (a hub id, or a local file or folder)")
    try:
        import trl  # noqa: F401
    except ImportError:
        raise S1Error("TRL is not installed", 'pip install -e ".[train]"') from None
    report = run(config, log=_err)
    if report["config"] and int(os.environ.get("RANK", "0")) != 0:
        return
    first, last = (report[k] for k in ("first_loss", "last_loss"))
    losses = (
        f"{first:.4g} -> {last:.4g}" if first is not None and last is not None else "not logged"
    )
    _err(
        f"done: {report['global_steps']} steps, loss {losses}, "
        f"{report['dropped_over_block_size']} dropped / {report['truncated_to_block_size']} truncated "
        f"over the block size; model in {report['output_dir']} ({report['seconds']} s)"
    )


def register(app: typer.Typer) -> None:
    from ..options import command

    command(
        app,
        "train",
        config_flag="--recipe",
        config_help="A YAML/TOML recipe file, or a shipped recipe by name (tiny-s1); flags "
        "override it.",
        config_loader=load_recipe,
        aliases=ALIASES,
        epilog="Example: s1 train runs/curated --recipe tiny-s1 --output runs/sft --epochs 1 "
        "--lr 1e-4",
    )(train)
