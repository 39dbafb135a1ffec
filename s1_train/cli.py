"""`s1 train`: supervised fine-tuning with TRL (imported inside the command only)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from s1_engine.errors import S1Error

PANEL_RECIPE = "Recipe (defaults: the s1 recipe)"
PANEL_DATA = "Data"
PANEL_RUN = "Run"


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def train(
    dataset: Annotated[
        str | None,
        typer.Argument(help="A hub id, or a local jsonl/json/parquet/csv/arrow file or folder."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Base model (default: the embedded tiny s1 model).",
            rich_help_panel=PANEL_RUN,
        ),
    ] = None,
    output_dir: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="Output folder (default runs/train).", rich_help_panel=PANEL_RUN
        ),
    ] = None,
    recipe: Annotated[
        str | None,
        typer.Option(
            "--recipe",
            help="A YAML/TOML recipe file, or a shipped recipe by name (tiny-s1); flags override it.",
            rich_help_panel=PANEL_RECIPE,
        ),
    ] = None,
    learning_rate: Annotated[
        float | None,
        typer.Option("--lr", help="Peak learning rate [1e-5].", rich_help_panel=PANEL_RECIPE),
    ] = None,
    epochs: Annotated[
        float | None, typer.Option("--epochs", help="Epochs [5].", rich_help_panel=PANEL_RECIPE)
    ] = None,
    lr_scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="LR schedule [cosine].", rich_help_panel=PANEL_RECIPE),
    ] = None,
    warmup_ratio: Annotated[
        float | None,
        typer.Option("--warmup-ratio", help="Warmup share [0.05].", rich_help_panel=PANEL_RECIPE),
    ] = None,
    adam_beta1: Annotated[
        float | None,
        typer.Option("--adam-beta1", help="AdamW beta1 [0.9].", rich_help_panel=PANEL_RECIPE),
    ] = None,
    adam_beta2: Annotated[
        float | None,
        typer.Option("--adam-beta2", help="AdamW beta2 [0.95].", rich_help_panel=PANEL_RECIPE),
    ] = None,
    weight_decay: Annotated[
        float | None,
        typer.Option("--weight-decay", help="Weight decay [1e-4].", rich_help_panel=PANEL_RECIPE),
    ] = None,
    block_size: Annotated[
        int | None,
        typer.Option(
            "--block-size", help="Max tokens per sequence [32768].", rich_help_panel=PANEL_RECIPE
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            help="Effective batch = per-device x accumulation x devices [16].",
            rich_help_panel=PANEL_RECIPE,
        ),
    ] = None,
    per_device_batch_size: Annotated[
        int | None,
        typer.Option(
            "--per-device-batch-size",
            help="Sequences per device per step [1].",
            rich_help_panel=PANEL_RECIPE,
        ),
    ] = None,
    grad_accum: Annotated[
        int | None,
        typer.Option(
            "--grad-accum",
            help="Gradient accumulation (default: batch-size / (per-device x devices)).",
            rich_help_panel=PANEL_RECIPE,
        ),
    ] = None,
    bf16: Annotated[
        bool | None,
        typer.Option(
            "--bf16/--no-bf16",
            help="bf16 (default: where the GPU supports it).",
            rich_help_panel=PANEL_RECIPE,
        ),
    ] = None,
    gradient_checkpointing: Annotated[
        bool | None,
        typer.Option(
            "--gradient-checkpointing/--no-gradient-checkpointing", rich_help_panel=PANEL_RECIPE
        ),
    ] = None,
    max_steps: Annotated[
        int | None,
        typer.Option(
            "--max-steps", help="Stop after N optimizer steps.", rich_help_panel=PANEL_RECIPE
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", rich_help_panel=PANEL_RECIPE)] = None,
    split: Annotated[
        str | None,
        typer.Option("--split", help="Dataset split [train].", rich_help_panel=PANEL_DATA),
    ] = None,
    overlong: Annotated[
        str | None,
        typer.Option(
            "--overlong",
            help="Sequences over the block size: drop or truncate [drop].",
            rich_help_panel=PANEL_DATA,
        ),
    ] = None,
    max_samples: Annotated[
        int | None,
        typer.Option("--max-samples", help="Use the first N rows.", rich_help_panel=PANEL_DATA),
    ] = None,
    thinking_column: Annotated[
        str | None,
        typer.Option(
            "--thinking-column",
            help="The column with the thinking trace.",
            rich_help_panel=PANEL_DATA,
        ),
    ] = None,
    system: Annotated[
        str | None,
        typer.Option(
            "--system", help="A system prompt for every example.", rich_help_panel=PANEL_DATA
        ),
    ] = None,
    save_steps: Annotated[
        int | None,
        typer.Option(
            "--save-steps", help="Checkpoint every N steps [100].", rich_help_panel=PANEL_RUN
        ),
    ] = None,
    save_total_limit: Annotated[
        int | None,
        typer.Option("--save-total-limit", help="Checkpoints kept [2].", rich_help_panel=PANEL_RUN),
    ] = None,
    logging_steps: Annotated[
        int | None,
        typer.Option(
            "--logging-steps", help="Log the loss every N steps [1].", rich_help_panel=PANEL_RUN
        ),
    ] = None,
    resume: Annotated[
        bool | None,
        typer.Option(
            "--resume/--no-resume",
            help="Resume from the last checkpoint in the output folder [resume].",
            rich_help_panel=PANEL_RUN,
        ),
    ] = None,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress bar.", rich_help_panel=PANEL_RUN),
    ] = None,
) -> None:
    """Fine-tune a model on s1-format reasoning data with TRL (loss on the assistant turn only).

    Same command on a laptop CPU, one GPU, or several through
    `accelerate launch --config_file s1_train/configs/fsdp_qwen2.yaml -m s1_cli.main train ...`.
    """
    given = {k: v for k, v in locals().items() if k != "recipe" and v is not None}
    from .train import resolve_config, run

    config = resolve_config(recipe, given)
    if not config.dataset:
        raise S1Error("no dataset given", "s1 train DATASET (a hub id, or a local file or folder)")
    try:
        import trl  # noqa: F401
    except ImportError:
        raise S1Error("TRL is not installed", 'pip install -e ".[train]"') from None
    report = run(config, log=_err)
    if report["config"] and int(os.environ.get("RANK", "0")) != 0:
        return
    _err(
        f"done: {report['global_steps']} steps, loss {report['first_loss']} -> {report['last_loss']}, "
        f"{report['dropped_over_block_size']} dropped / {report['truncated_to_block_size']} truncated "
        f"over the block size; model in {report['output_dir']} ({report['seconds']} s)"
    )


def register(app: typer.Typer) -> None:
    app.command("train")(train)
