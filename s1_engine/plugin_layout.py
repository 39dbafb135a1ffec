"""The batch of `vllm_plugin.S1BudgetForcing` as arrays, and its per-row uniform draws:
the parts of the processor's step that must not cost Python per row."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .cursor import DONE, DRAW, FORCE, MASK, SAMPLE


def _u64(x: int) -> int:
    return x - (1 << 64) if x >= 1 << 63 else x


_M1, _M2, _M3 = _u64(0x9E3779B97F4A7C15), _u64(0xBF58476D1CE4E5B9), _u64(0x94D049BB133111EB)


def _shr(x: torch.Tensor, k: int) -> torch.Tensor:
    return (x >> k) & ((1 << (64 - k)) - 1)  # a logical shift of int64


def uniform(seeds: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """A uniform in [0, 1) per row from (seed, position): splitmix64, on the device."""
    x = seeds * _M1 + pos * _M2
    x = (x ^ _shr(x, 30)) * _M2
    x = (x ^ _shr(x, 27)) * _M3
    x = x ^ _shr(x, 31)
    return _shr(x, 11).to(torch.float64).mul_(1.0 / (1 << 53)).to(torch.float32)


def to_device(values: np.ndarray, device: torch.device) -> torch.Tensor:
    """Host values onto the device without a sync. A copy from pageable memory makes CUDA
    wait for the whole stream first (the model's forward), which would end vLLM's overlap
    of the next step's scheduling with this one; from pinned memory it is queued like a
    kernel (the caching host allocator keeps the buffer until the copy has run)."""
    t = torch.from_numpy(np.ascontiguousarray(values))
    if device.type != "cuda":
        return t.to(device)
    return t.pin_memory().to(device, non_blocking=True)


CODES = {DRAW: 0, MASK: 1, FORCE: 2, DONE: 3, SAMPLE: 4}


class _Layout:
    """The batch as arrays (one slot per row, in batch order): each row's plan as a kind,
    a token and the positions it holds for, and the device tensors of the kinds, rebuilt
    only when a kind or a DRAW row's end token changes, not every step."""

    def __init__(self, rows: dict[int, Any], device: torch.device) -> None:
        items = sorted(rows.items())
        self.device = device
        self.idx = np.array([i for i, _ in items], np.int64)
        self.rows = [r for _, r in items]
        for slot, row in enumerate(self.rows):
            row.slot = slot
        self.outs = [r.out for r in self.rows]
        n = len(items)
        self.until = np.full(n, -1, np.int64)  # every row plans at the first step
        self.at = np.zeros(n, np.int64)
        self.kind = np.full(n, CODES[SAMPLE], np.int8)
        self.token = np.full(n, -1, np.int64)
        self.seed_np = np.array([r.seed & ((1 << 62) - 1) for r in self.rows], np.int64)
        self.temp_np = np.array([r.temperature for r in self.rows], np.float32)
        self.dirty = True
        self.n_draw = 0
        self.masked: torch.Tensor | None = None

    def build(self, stop_cache: dict) -> None:
        dev = self.device
        draw = np.flatnonzero(self.kind == CODES[DRAW])
        mask = np.flatnonzero(self.kind == CODES[MASK])
        self.n_draw, self.draw_slots = len(draw), draw
        both = np.concatenate([draw, mask])
        self.masked = to_device(self.idx[both], dev) if len(both) else None
        sets = {self.rows[i].cursor.m.fmt.think_stop_ids for i in both.tolist()}
        key = frozenset().union(*sets) if sets else frozenset()
        if key not in stop_cache:
            stop_cache[key] = to_device(np.array(sorted(key), np.int64), dev)
        self.stops = stop_cache[key]
        if len(draw):
            self.draw_idx = to_device(self.idx[draw], dev)
            self.on_end = to_device(self.token[draw], dev)
            self.has_end = self.on_end >= 0
            temps = self.temp_np[draw]
            self.all_greedy = bool((temps < 1e-5).all())
            self.greedy = to_device(temps < 1e-5, dev)
            self.temps = to_device(np.maximum(temps, 1e-5), dev)
            self.seeds = to_device(self.seed_np[draw], dev)
        self.dirty = False
