"""What a run picks where the config leaves a setting open (None): by the hardware, the
world size and the block size, as measured on an H200 (bench/train/gpu_train.md).

Each function takes the config and, where the answer depends on them, the machine
(`gpu`) and the number of processes (`world`); left out, they are read from here (a GPU
visible to torch, `WORLD_SIZE`). The run (`train.build_trainer`) and the memory plan
(`plan`) ask the same functions, so the plan describes the run that would happen.
"""

from __future__ import annotations

import math
import os

from s1_engine.errors import S1Error

from .config import TrainConfig

MICRO_BATCH_TOKENS = 32768  # padding-free micro-batches: at most 4 x 8,192-token blocks
SELECTIVE_MAX_BLOCK = 8192  # selective checkpointing by default up to this block size


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def on_gpu() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _gpu(gpu: bool | None) -> bool:
    return on_gpu() if gpu is None else gpu


def per_device_for(
    config: TrainConfig,
    padding_free: bool | None = None,
    world: int | None = None,
    gpu: bool | None = None,
) -> int:
    """Sequences per device per micro-batch: as set, else 1, or with padding-free batches
    up to 4 (at most 32,768 tokens, never more than the effective batch allows)."""
    if config.per_device_batch_size:
        return int(config.per_device_batch_size)
    if not (padding_free_for(config, gpu) if padding_free is None else padding_free):
        return 1
    share = config.batch_size // (world or world_size())
    return max(1, min(4, share, MICRO_BATCH_TOKENS // max(1, config.block_size)))


def selective_for(config: TrainConfig, gpu: bool | None = None) -> bool:
    """Selective checkpointing: as set, else on a GPU with blocks up to 8,192 tokens."""
    if not config.gradient_checkpointing:
        return False
    if config.selective_checkpointing is None:
        return _gpu(gpu) and config.block_size <= SELECTIVE_MAX_BLOCK
    return bool(config.selective_checkpointing)


def grad_accum_for(
    config: TrainConfig, per_device: int | None = None, world: int | None = None
) -> int:
    if config.grad_accum:
        return int(config.grad_accum)
    per_step = (per_device or per_device_for(config, world=world)) * (world or world_size())
    return max(1, math.ceil(config.batch_size / per_step))


def padding_free_for(config: TrainConfig, gpu: bool | None = None) -> bool:
    """Padding-free batches when asked for, or by default on a GPU (with --overlong drop);
    never with --overlong truncate (TRL truncates only padded batches)."""
    if config.padding_free is None:
        return config.overlong == "drop" and _gpu(gpu)
    if not config.padding_free:
        return False
    if config.overlong == "truncate":
        raise S1Error(
            "padding-free training drops sequences over the block size",
            "use --overlong drop with padding_free, or set padding_free: false",
        )
    return True


def bf16_supported() -> bool:
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
