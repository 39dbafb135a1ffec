"""What `s1 train` runs with: the s1 recipe as defaults, recipe files, overrides.

`TrainConfig` holds every knob (declared once: the CLI, recipe files and checks read
the same fields); a recipe file (YAML/TOML, or a shipped one by name) and flags override
it, in that order (`resolve_config`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from s1_engine.errors import S1Error
from s1_engine.options import check, option

SCHEDULERS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "reduce_lr_on_plateau",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
    "warmup_stable_decay",
)
RECIPES_DIR = Path(__file__).parent / "recipes"
CONFIGS_DIR = Path(__file__).parent / "configs"


PANEL_RECIPE = "Recipe (defaults: the s1 recipe)"
PANEL_DATA = "Data"
PANEL_RUN = "Run"
PANEL_SPEED = "Speed (same loss; bench/train/gpu_train.md measures each)"
PANEL_PLAN = "Memory plan"
LOSS_KERNELS = ("chunked", "liger", "logits")
OPTIMIZERS = ("fused", "foreach")


@dataclass
class TrainConfig:
    """The s1 recipe (Muennighoff et al., 2025) as defaults; every field can be overridden."""

    dataset: str = option(
        "", "A hub id, or a local jsonl/json/parquet/csv/arrow file or folder.", cli=False
    )
    model: str | None = option(
        None, "Base model (default: the embedded tiny s1 model).", panel=PANEL_RUN, short="-m"
    )
    output_dir: str = option(
        "runs/train", "Output folder.", panel=PANEL_RUN, flag="--output", short="-o", out_dir=True
    )
    split: str = option("train", "Dataset split.", panel=PANEL_DATA)
    learning_rate: float = option(
        1e-5, "Peak learning rate.", panel=PANEL_RECIPE, flag="--lr", above=0
    )
    epochs: float = option(5.0, "Epochs.", panel=PANEL_RECIPE, above=0)
    lr_scheduler: str = option(
        "cosine",
        "LR schedule.",
        panel=PANEL_RECIPE,
        flag="--scheduler",
        choices=SCHEDULERS,
    )
    warmup_ratio: float = option(0.05, "Warmup share.", panel=PANEL_RECIPE, min=0, max=1)
    adam_beta1: float = option(0.9, "AdamW beta1.", panel=PANEL_RECIPE, min=0, max=1)
    adam_beta2: float = option(0.95, "AdamW beta2.", panel=PANEL_RECIPE, min=0, max=1)
    weight_decay: float = option(1e-4, "Weight decay.", panel=PANEL_RECIPE, min=0)
    block_size: int = option(32768, "Max tokens per sequence.", panel=PANEL_RECIPE, min=8)
    batch_size: int = option(
        16, "Effective batch = per-device x accumulation x devices.", panel=PANEL_RECIPE, min=1
    )
    per_device_batch_size: int | None = option(
        None,
        "Sequences per device per micro-batch (default: 1; on a GPU with padding-free batches "
        "up to 4, at most 32,768 tokens, within the effective batch).",
        panel=PANEL_RECIPE,
        min=1,
    )
    grad_accum: int | None = option(
        None,
        "Gradient accumulation (default: batch-size / (per-device x devices)).",
        panel=PANEL_RECIPE,
        min=1,
    )
    bf16: bool | None = option(
        None, "bf16 (default: where the GPU supports it).", panel=PANEL_RECIPE
    )
    gradient_checkpointing: bool = option(
        False, "Recompute activations in the backward pass (less memory).", panel=PANEL_RECIPE
    )
    padding_free: bool | None = option(
        None,
        "Padding-free batches: a micro-batch's sequences in one row, attention kept within each "
        "(default: on a GPU).",
        panel=PANEL_RECIPE,
    )
    selective_checkpointing: bool | None = option(
        None,
        "With gradient checkpointing, keep each layer's attention output (default: on a GPU "
        "with blocks up to 8,192 tokens).",
        panel=PANEL_RECIPE,
    )
    attn_implementation: str | None = option(
        None,
        "Attention kernel (default: s1_varlen when padding-free, else sdpa).",
        panel=PANEL_RECIPE,
    )
    liger: bool = option(
        False, "Liger's Triton kernels (RMSNorm, SwiGLU, RoPE) where installed.", panel=PANEL_RECIPE
    )
    loss_kernel: str | None = option(
        None,
        "The loss from the last hidden states: chunked (TRL's fused LM head, never the whole "
        "logits; the default), liger (Liger's fused linear cross-entropy; liger-kernel on a "
        "GPU), logits (the full logits and the model's own loss).",
        panel=PANEL_SPEED,
        choices=LOSS_KERNELS,
    )
    token_metrics: bool | None = option(
        None,
        "Log TRL's per-token entropy and token accuracy (default: on the CPU; off on a GPU, "
        "where each costs a device sync every micro-batch).",
        panel=PANEL_SPEED,
    )
    optimizer: str | None = option(
        None,
        "AdamW's kernel: fused (one kernel over all tensors; the default) or foreach.",
        panel=PANEL_SPEED,
        choices=OPTIMIZERS,
    )
    compile_layers: bool = option(
        False,
        "torch.compile each decoder layer (the first steps compile; a GPU's option).",
        panel=PANEL_SPEED,
    )
    plan: bool = option(
        False,
        "Print the memory plan (parameters, bytes a parameter, activations, GPUs needed) "
        "and exit; reads the model's config only, no weights, no data.",
        panel=PANEL_PLAN,
        negatable=False,
    )
    gpu_memory_gib: float | None = option(
        None,
        "GPU memory the plan checks, GiB a GPU (default: this machine's GPU and the common "
        "cards: H100 80GB, H200).",
        panel=PANEL_PLAN,
        above=0,
    )
    overlong: str = option(
        "drop",
        "Sequences over the block size: drop or truncate.",
        panel=PANEL_DATA,
        choices=("drop", "truncate"),
    )
    max_steps: int = option(
        -1, "Stop after N optimizer steps (-1: the epochs).", panel=PANEL_RECIPE
    )
    max_samples: int | None = option(None, "Use the first N rows.", panel=PANEL_DATA, min=1)
    seed: int = option(42, "Seed.", panel=PANEL_RECIPE, min=0)
    logging_steps: int = option(1, "Log the loss every N steps.", panel=PANEL_RUN, min=1)
    save_steps: int = option(100, "Checkpoint every N steps.", panel=PANEL_RUN, min=1)
    save_total_limit: int = option(2, "Checkpoints kept.", panel=PANEL_RUN, min=1)
    resume: bool = option(
        True, "Resume from the last checkpoint in the output folder.", panel=PANEL_RUN
    )
    thinking_column: str | None = option(
        None, "The column with the thinking trace.", panel=PANEL_DATA
    )
    system: str | None = option(None, "A system prompt for every example.", panel=PANEL_DATA)
    max_grad_norm: float = option(1.0, "Gradient clipping norm.", panel=PANEL_RECIPE, above=0)
    progress: bool = option(True, "Progress bar.", panel=PANEL_RUN)
    overwrite: bool = option(
        False,
        "Replace the results in --output of another run (other data, model or settings).",
        panel=PANEL_RUN,
        negatable=False,
    )
    extra: dict[str, Any] = option(
        help="Any other SFTConfig argument (recipe files only).", factory=dict, cli=False
    )

    def __post_init__(self) -> None:
        if self.max_steps == 0 or self.max_steps < -1:
            raise S1Error(
                f"--max-steps must be -1 (the epochs decide) or >= 1, got {self.max_steps}",
                "e.g. --max-steps 100",
            )

    def validate(self) -> None:
        """Checks that need TRL: every `extra` key is an SFTConfig argument; the speed
        options this machine can run."""
        check(self)
        from .defaults import on_gpu
        from .speed import resolve

        resolve(self, on_gpu())
        if not self.extra:
            return
        if not isinstance(self.extra, dict):
            raise S1Error("'extra' in the recipe must be a table", "write extra: {key: value}")
        try:
            from trl import SFTConfig
        except ImportError:
            return
        known = {f.name for f in fields(SFTConfig)}
        unknown = sorted(set(self.extra) - known)
        if unknown:
            raise S1Error(
                f"unknown SFTConfig argument(s) under 'extra': {', '.join(unknown)}",
                "see TRL's SFTConfig for the names (or move known settings out of 'extra')",
            )

    def with_overrides(self, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(self)}
        clean: dict[str, Any] = {}
        for key, value in values.items():
            k = key.replace("-", "_")
            k = ALIASES.get(k, k)
            if k not in known:
                raise S1Error(
                    f"unknown training setting {key!r}",
                    f"known: {', '.join(sorted(known - {'extra'}))} (others go under 'extra')",
                )
            clean[k] = value
        data = asdict(self)
        data.update(clean)
        return TrainConfig(**data)


ALIASES = {
    "lr": "learning_rate",
    "num_train_epochs": "epochs",
    "lr_scheduler_type": "lr_scheduler",
    "max_length": "block_size",
    "gradient_accumulation_steps": "grad_accum",
    "per_device_train_batch_size": "per_device_batch_size",
    "output": "output_dir",
}


def load_recipe(path_or_name: str) -> dict[str, Any]:
    """Read a YAML or TOML recipe file (or a shipped recipe by name, e.g. 'tiny-s1')."""
    path = Path(path_or_name)
    if not path.exists():
        for cand in (
            RECIPES_DIR / f"{path_or_name.replace('-', '_')}.yaml",
            RECIPES_DIR / f"{path_or_name}.yaml",
        ):
            if cand.exists():
                path = cand
                break
        else:
            raise S1Error(f"no recipe file {path_or_name!r}", "give a .yaml or .toml file")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            try:
                import tomllib
            except ImportError:  # Python 3.10
                raise S1Error("TOML recipes need Python 3.11+", "use a .yaml recipe") from None
            data = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
    except S1Error:
        raise
    except Exception as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise S1Error(
            f"cannot read the recipe {str(path)!r}: {first}", "check its syntax"
        ) from None
    if not isinstance(data, dict):
        raise S1Error(f"the recipe {str(path)!r} is not a mapping", "write key: value lines")
    return data.get("train", data)


def resolve_config(recipe: str | None = None, given: dict[str, Any] | None = None) -> TrainConfig:
    """Defaults (the s1 recipe) < the recipe file < flags given on the command line."""
    config = TrainConfig()
    if recipe:
        config = config.with_overrides(load_recipe(recipe))
    return config.with_overrides(given or {})
