"""The memory plan of a training run, before any weight loads (`s1 train --plan`).

Parameters, bytes a parameter under the sharding, activations of one micro-batch at
the block size, FSDP's buffers, and how many GPUs of a given memory the run needs.
The arithmetic, per GPU, bf16 (checked against the peaks measured on an H200 in
bench/train/gpu_train.md: within 5%, tests/train/test_train_plan.py):

- States. One process trains in the model's dtype: weights 2 + gradients 2 + AdamW's
  two moments 4 = 8 bytes a parameter. FSDP (the shipped accelerate config) keeps fp32
  master weights: 4 + 4 + 8 = 16 bytes a parameter, sharded over the N GPUs.
- Activations of a micro-batch of T tokens (the most a micro-batch can hold: sequences
  per micro-batch x block size), bytes a token, for H hidden, I MLP, q = heads x head
  dim, kv = KV heads x head dim, L layers:
  - checkpoints (gradient checkpointing): each layer's input, 2H a layer; selective
    checkpointing also keeps each layer's attention output and log-sum-exp, 2q + 4 heads;
  - one layer's saved tensors while it is recomputed (every layer's without
    checkpointing): 16H + 6q + 4kv + 4 heads + 8I (two RMSNorms with their fp32 copies,
    q/k/v after RoPE, the attention output and o_proj's input, gate, SiLU, up and their
    product); Liger's kernels save 8H + 6q + 4kv + 4 heads + 6I;
  - that layer's MLP backward: 4I + 2H more;
  - the loss head (TRL's chunked head): 16H a token (the final norm, the head's input,
    fp32 and bf16 gradients of the hidden states), 6VH for the head weight's gradient
    (fp32, then cast) and one 4,096 x 32,768 logits tile; the full logits instead cost
    10V a token (bf16 logits, fp32 log-softmax and its gradient).
  The peak is the checkpoints plus the larger of the loss head and a layer's backward.
- FSDP buffers: the root unit (embeddings, head) stays gathered in bf16 through the step
  with its unsharded gradient, 4 bytes a root parameter; two decoder layers gathered
  (prefetch) and one layer's gradient before the reduce-scatter, 6 bytes a layer parameter.
- A GPU holds the run if the estimate + 2 GiB (CUDA context and allocator cache:
  nvidia-smi read 2.0 to 2.7 GiB over the allocated peak in the measured runs) fits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from s1_engine.errors import S1Error

from . import defaults
from .config import TrainConfig
from .shapes import Shape, shape_from_config, shape_of

GIB = 2**30
RESERVE = 2 * GIB  # CUDA context + the caching allocator's slack over the allocated peak
LIGER_CHUNK_MEM = 8  # Liger's fused CE: transient logits of at most ~8 x tokens x hidden
COUNTS = (1, 2, 4, 8, 16, 32, 64)
# memory of common cards as torch reports it (nvidia-smi's MiB / 1024)
CARDS = {"H100 80GB": 81559 / 1024, "H200": 143771 / 1024}
CHECKPOINTING = ("none", "full", "selective")
LOSSES = ("chunked", "liger", "logits")


@dataclass(frozen=True)
class Setup:
    """How a run trains, as far as memory goes."""

    tokens: int  # the most tokens one micro-batch can hold
    checkpointing: str = "full"  # none | full | selective
    gpus: int = 1
    fsdp: bool = False
    bf16: bool = True
    liger: bool = False
    loss: str = "chunked"  # chunked | liger | logits
    sequences: int = 1  # sequences a micro-batch (for the description)


@dataclass
class Estimate:
    shape: Shape
    setup: Setup
    parts: dict[str, int] = field(default_factory=dict)  # bytes a GPU

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    @property
    def states(self) -> int:
        return self.parts["weights"] + self.parts["gradients"] + self.parts["optimizer"]

    @property
    def activations(self) -> int:
        return self.parts["activations"]

    @property
    def bytes_per_param(self) -> float:
        return self.states / self.shape.params

    def fits(self, gpu_gib: float) -> bool:
        return self.total + RESERVE <= gpu_gib * GIB


def per_token(shape: Shape, setup: Setup) -> dict[str, int]:
    """Activation bytes a token: checkpoints (all layers), one layer, its backward, head."""
    a = 2 if setup.bf16 else 4
    h, i, q, kv, nh = shape.hidden, shape.intermediate, shape.q_dim, shape.kv_dim, shape.heads
    if setup.liger:
        layer = 2 * (2 * a * h + 4) + 3 * a * q + 2 * a * kv + 4 * nh + 3 * a * i
    else:
        layer = 2 * (4 * h + 2 * a * h) + 3 * a * q + 2 * a * kv + 4 * nh + 4 * a * i
    ckpt = 0
    if setup.checkpointing != "none":
        ckpt = shape.layers * a * h
    if setup.checkpointing == "selective":
        ckpt += shape.layers * (a * q + 4 * nh)
    head = {
        "chunked": 8 * h + 4 * a * h,
        "liger": 8 * h + 4 * a * h,
        "logits": (8 + a) * shape.vocab,
    }
    return {
        "checkpoints": ckpt,
        "layer": layer,
        "backward": 2 * a * i + a * h,
        "head": head[setup.loss],
    }


def estimate(shape: Shape, setup: Setup) -> Estimate:
    """Peak bytes a GPU of a run of `setup` on a model of `shape` (the module's arithmetic)."""
    if setup.checkpointing not in CHECKPOINTING or setup.loss not in LOSSES:
        raise S1Error(
            f"unknown checkpointing {setup.checkpointing!r} or loss {setup.loss!r}",
            f"checkpointing: {', '.join(CHECKPOINTING)}; loss: {', '.join(LOSSES)}",
        )
    if setup.tokens < 1 or setup.gpus < 1:
        raise S1Error("a plan needs at least one token and one GPU", "check --block-size")
    p = 2 if setup.bf16 else 4  # the dtype the weights train in / are gathered in
    n = shape.params
    est = Estimate(shape, setup)
    if setup.fsdp and setup.gpus > 1:
        g = setup.gpus
        est.parts |= {"weights": 4 * n // g, "gradients": 4 * n // g, "optimizer": 8 * n // g}
    else:
        est.parts |= {"weights": p * n, "gradients": p * n, "optimizer": 2 * p * n}
    t, tok, a = setup.tokens, per_token(shape, setup), 2 if setup.bf16 else 4
    head = tok["head"] * t
    if setup.loss == "liger":
        inc = -(-shape.vocab // (LIGER_CHUNK_MEM * shape.hidden))
        chunk = min(t, 1 << max(0, (-(-t // inc) - 1).bit_length()))
        head += (4 + p) * shape.vocab * shape.hidden + chunk * shape.vocab * a
    elif setup.loss == "chunked":
        head += (4 + p) * shape.vocab * shape.hidden + min(t, 4096) * 32768 * a
    else:
        head += p * shape.vocab * shape.hidden
    if setup.checkpointing == "none":
        acts = shape.layers * tok["layer"] * t + max(head, tok["backward"] * t)
    else:
        acts = tok["checkpoints"] * t + max(head, (tok["layer"] + tok["backward"]) * t)
    est.parts["activations"] = acts
    est.parts["fsdp buffers"] = (
        shape.root_params * 2 * p + shape.layer_params * 3 * p
        if setup.fsdp and setup.gpus > 1
        else 0
    )
    return est


def setup_for(config: TrainConfig, gpus: int = 1, fsdp: bool | None = None) -> Setup:
    """The Setup `s1 train` would run with on `gpus` GPUs (the GPU defaults of `defaults`)."""
    padding_free = defaults.padding_free_for(config, gpu=True)
    per_device = defaults.per_device_for(config, padding_free, world=gpus, gpu=True)
    ckpt = "none"
    if config.gradient_checkpointing:
        ckpt = "selective" if defaults.selective_for(config, gpu=True) else "full"
    return Setup(
        tokens=per_device * config.block_size,
        checkpointing=ckpt,
        gpus=gpus,
        fsdp=gpus > 1 if fsdp is None else fsdp,
        bf16=True if config.bf16 is None else bool(config.bf16),
        liger=bool(config.liger),
        loss=config.loss_kernel or "chunked",
        sequences=per_device,
    )


def needs(shape: Shape, config: TrainConfig, gpu_gib: float) -> int | None:
    """The fewest GPUs of `gpu_gib` (of 1, 2, 4, ... 64; FSDP over 2 and more) that hold it."""
    for g in COUNTS:
        if estimate(shape, setup_for(config, g)).fits(gpu_gib):
            return g
    return None


def count(n: int) -> str:
    return f"{n / 1e9:.2f}e9" if n >= 1e8 else f"{n / 1e6:.2f}e6"


def _gib(x: float) -> str:
    return f"{x / GIB:.1f}"


def describe_setup(s: Setup) -> str:
    ckpt = {"none": "no", "full": "full", "selective": "selective"}[s.checkpointing]
    return (
        f"{s.sequences} x {s.tokens // max(1, s.sequences):,} tokens a micro-batch, "
        f"{ckpt} checkpointing, {'bf16' if s.bf16 else 'fp32'}, {s.loss} loss"
        + (", Liger kernels" if s.liger else "")
    )


def cards(gpu_gib: float | None = None) -> dict[str, float]:
    """The GPU memories to plan for: the one asked for, else this machine's and common cards."""
    if gpu_gib:
        return {f"{gpu_gib:g} GiB": gpu_gib}
    out = {}
    local = local_gpu()
    if local:
        out[f"this GPU ({local[0]})"] = local[1]
    return out | {k: v for k, v in CARDS.items() if not local or k not in local[0]}


def local_gpu() -> tuple[str, float] | None:
    try:
        import torch

        if torch.cuda.is_available():
            prop = torch.cuda.get_device_properties(0)
            return prop.name, prop.total_memory / GIB
    except Exception:  # noqa: BLE001 - no GPU, no local card
        return None
    return None


def plan_text(config: TrainConfig, gpu_gib: float | None = None) -> str:
    """The plan `s1 train --plan` prints: the shape, a table by GPU count, the verdicts."""
    shape = shape_of(config.model)
    name = config.model or "the embedded tiny-s1 model"
    ests = {g: estimate(shape, setup_for(config, g)) for g in COUNTS}
    one = ests[1].setup
    lines = [
        f"memory plan for {name}: {shape.describe()}",
        f"block {config.block_size:,}: {describe_setup(one)} (FSDP over 2 GPUs and more)",
        "GPUs                " + "".join(f"{g:>8}" for g in COUNTS),
        "state B/param/GPU   " + "".join(f"{e.bytes_per_param:8.2f}" for e in ests.values()),
        "states GiB          " + "".join(f"{_gib(e.states):>8}" for e in ests.values()),
        "activations GiB     " + "".join(f"{_gib(e.activations):>8}" for e in ests.values()),
        "FSDP buffers GiB    "
        + "".join(f"{_gib(e.parts['fsdp buffers']):>8}" for e in ests.values()),
        "peak GiB a GPU      " + "".join(f"{_gib(e.total):>8}" for e in ests.values()),
    ]
    verdicts = []
    for card, gib in cards(gpu_gib).items():
        lines.append(
            f"fits {card[:15]:15s} "
            + "".join(f"{'yes' if e.fits(gib) else 'no':>8}" for e in ests.values())
        )
        g = next((g for g, e in ests.items() if e.fits(gib)), None)
        verdicts.append(
            f"{g} x {card} ({gib:.0f} GiB)" if g else f"more than {COUNTS[-1]} x {card}"
        )
    lines.append("needs: " + "; ".join(verdicts) + f" (estimate + {_gib(RESERVE)} GiB CUDA)")
    if config.gradient_checkpointing:
        off = estimate(shape, setup_for(replace(config, gradient_checkpointing=False), 1))
        lines.append(f"without gradient checkpointing, 1 GPU: {_gib(off.total)} GiB")
    else:
        on = estimate(shape, setup_for(replace(config, gradient_checkpointing=True), 1))
        lines.append(f"with --gradient-checkpointing, 1 GPU: {_gib(on.total)} GiB")
    lines.append("(an estimate: bench/train/gpu_train.md compares it with measured peaks)")
    return "\n".join(lines)


def run_line(config: TrainConfig, model_config: Any, per_device: int, selective: bool) -> str:
    """One line before training starts: this run's estimate on this machine."""
    shape = shape_from_config(model_config)
    world = defaults.world_size()
    fsdp = os.environ.get("ACCELERATE_USE_FSDP", "").lower() in ("1", "true")
    ckpt = "none" if not config.gradient_checkpointing else ("selective" if selective else "full")
    gpu = local_gpu()
    setup = Setup(
        tokens=per_device * config.block_size,
        checkpointing=ckpt,
        gpus=world,
        fsdp=fsdp,
        bf16=bool(config.bf16) if config.bf16 is not None else gpu is not None,
        liger=bool(config.liger),
        loss=config.loss_kernel or "chunked",
        sequences=per_device,
    )
    est = estimate(shape, setup)
    shard = f"FSDP over {world}" if fsdp and world > 1 else "no sharding"
    line = (
        f"memory plan: {count(shape.params)} parameters x {est.bytes_per_param:.2f} B "
        f"({shard}) = {_gib(est.states)} GiB + activations {_gib(est.activations)} GiB "
        f"({describe_setup(setup)})"
    )
    if est.parts["fsdp buffers"]:
        line += f" + FSDP buffers {_gib(est.parts['fsdp buffers'])} GiB"
    line += f" = {_gib(est.total)} GiB a GPU"
    if gpu is None:
        return line + " (on the CPU)"
    verdict = "fits" if est.fits(gpu[1]) else "does NOT fit (s1 train --plan shows what would)"
    return line + f"; {verdict} this {gpu[0]}'s {gpu[1]:.0f} GiB"
