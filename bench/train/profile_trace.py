"""Where a profiled training step's time goes, from torch.profiler's Chrome trace.

    from profile_trace import summarize, table
    summary = summarize(json.load(open("trace.json")), wall_us=step_seconds * 1e6)
    print("\\n".join(table(summary)))

On a GPU the items are the kernels, memory copies and sets on the GPU's timeline; on a
CPU (no kernels) they are the leaf operators (aten ops with no operator inside them).
Each item goes to one group: first by the code that launched it (a `record_function`
range on the launching thread: the loss head, the optimizer step, gradient clipping),
else by its name (matmul, attention, norm/activation, loss/softmax, optimizer, copies,
elementwise, communication). "Idle" is the step's wall time the device did nothing:
launch gaps, syncs (`.item()` reads), the host's own work between kernels.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from typing import Any

# record_function ranges (CPU side) whose launches belong to a group, by name prefix
ANNOTATED = (
    ("s1:lm_head+loss", "loss head (LM head + loss)"),
    ("s1:clip_grad_norm", "optimizer (clip + AdamW)"),
    ("Optimizer.step", "optimizer (clip + AdamW)"),
    ("Optimizer.zero_grad", "optimizer (clip + AdamW)"),
)
# by name, first match wins (norms before loss: Liger's norm kernels end in _forward_kernel)
NAMED = (
    ("communication", r"nccl|all_?reduce|all_?gather|reduce_?scatter|c10d"),
    ("attention", r"flash|fmha|attention|attn|sdpa|scaled_dot_product|cudnn"),
    ("norm/activation/rope", r"rms_?norm|layer_?norm|swiglu|silu|rope|rotary|geglu"),
    ("optimizer (clip + AdamW)", r"adam|multi_tensor|foreach|lpnorm|_fused_sgd|clip_grad"),
    (
        "loss head (LM head + loss)",
        r"^_forward_kernel|^_backward_kernel|cross_?entropy|"
        r"log_?softmax|softmax|nll_loss|logsumexp|element_mul_kernel",
    ),
    (
        "matmul",
        r"gemm|cutlass|xmma|cublas|nvjet|wgmma|splitk|gemv|sm\d\d_|"
        r"aten::(mm|addmm|bmm|matmul|linear|baddbmm|_addmm_activation)$",
    ),
    (
        "copy/memory",
        r"memcpy|memset|copy|catarraybatched|\bcat\b|index|scatter|gather|fill|"
        r"aten::(copy_|cat|index\w*|zero_|fill_|_to_copy|empty\w*|clone|contiguous|masked_\w+)$",
    ),
    ("elementwise/reduce", r"elementwise|vectorized|unrolled|reduce|triton_|aten::\w+"),
)
_NAMED = [(g, re.compile(p, re.IGNORECASE)) for g, p in NAMED]
KERNEL_CATS = ("kernel", "gpu_memcpy", "gpu_memset")
SYNC = re.compile(r"cuda(Stream|Device|Event)Synchronize")


def classify(name: str) -> str:
    for group, pattern in _NAMED:
        if pattern.search(name):
            return group
    return "other"


def union_us(intervals: list[tuple[float, float]]) -> tuple[float, list[float]]:
    """Total covered time of (start, end) intervals, and the gaps between covered runs."""
    busy, gaps, end = 0.0, [], None
    for a, b in sorted(intervals):
        if end is None or a > end:
            if end is not None:
                gaps.append(a - end)
            busy += b - a
            end = b
        elif b > end:
            busy += b - end
            end = b
    return busy, gaps


def _leaf_cpu_ops(events: list[dict]) -> list[dict]:
    """Operators with no other operator inside them, per thread (the CPU's own work)."""
    by_tid: dict[Any, list[dict]] = defaultdict(list)
    for e in events:
        if e.get("cat") == "cpu_op" and e.get("ph") == "X":
            by_tid[e.get("tid")].append(e)
    leaves = []
    for ops in by_tid.values():
        ops.sort(key=lambda e: (e["ts"], -e.get("dur", 0)))
        for k, e in enumerate(ops):
            end = e["ts"] + e.get("dur", 0)
            nxt = ops[k + 1] if k + 1 < len(ops) else None
            if nxt is None or nxt["ts"] >= end:
                leaves.append(e)
    return leaves


def _annotations(events: list[dict]) -> dict[Any, tuple[list[float], list[tuple]]]:
    """The record_function ranges of interest, per thread, sorted by start."""
    found: dict[Any, list[tuple]] = defaultdict(list)
    for e in events:
        if e.get("cat") != "user_annotation" or e.get("ph") != "X":
            continue
        group = next((g for prefix, g in ANNOTATED if e["name"].startswith(prefix)), None)
        if group:
            found[e.get("tid")].append((e["ts"], e["ts"] + e.get("dur", 0), group))
    return {t: ([r[0] for r in sorted(rs)], sorted(rs)) for t, rs in found.items()}


def _annotated(ann: dict, tid: Any, ts: float) -> str | None:
    if tid not in ann:
        return None
    starts, ranges = ann[tid]
    k = bisect.bisect_right(starts, ts) - 1
    for a, b, group in reversed(ranges[max(0, k - 3) : k + 1]):  # nested: the innermost first
        if a <= ts <= b:
            return group
    return None


def summarize(trace: dict, wall_us: float | None = None, top: int = 12) -> dict:
    """Group the items of one profiled step; `wall_us`: the step's wall time (synced)."""
    events = [e for e in trace.get("traceEvents", []) if isinstance(e, dict)]
    kernels = [e for e in events if e.get("cat") in KERNEL_CATS and e.get("ph") == "X"]
    device = "gpu" if kernels else "cpu"
    launches = {}
    for e in events:
        if e.get("cat") in ("cuda_runtime", "cuda_driver") and "correlation" in e.get("args", {}):
            launches[e["args"]["correlation"]] = e
    items = kernels if kernels else _leaf_cpu_ops(events)
    ann = _annotations(events)
    groups: dict[str, float] = defaultdict(float)
    names: dict[str, list] = {}
    intervals = []
    for e in items:
        dur = float(e.get("dur", 0))
        if device == "gpu":
            launch = launches.get(e.get("args", {}).get("correlation"))
            where = (launch.get("tid"), launch["ts"]) if launch else (None, e["ts"])
        else:
            where = (e.get("tid"), e["ts"])
        group = _annotated(ann, *where) or classify(e["name"])
        groups[group] += dur
        rec = names.setdefault(e["name"], [0.0, 0, group])
        rec[0] += dur
        rec[1] += 1
        intervals.append((float(e["ts"]), float(e["ts"]) + dur))
    busy, gaps = union_us(intervals)
    span = (max(b for _, b in intervals) - min(a for a, _ in intervals)) if intervals else 0.0
    wall = max(wall_us or span, busy)
    syncs = sum(1 for e in events if e.get("cat") == "cuda_runtime" and SYNC.search(e["name"]))
    reads = sum(1 for e in kernels if "DtoH" in e["name"] or "Device -> Host" in e["name"])
    top_items = sorted(names.items(), key=lambda kv: -kv[1][0])[:top]
    return {
        "device": device,
        "items": len(items),
        "wall_us": wall,
        "busy_us": busy,
        "idle_us": wall - busy,
        "gaps_over_20us": sum(1 for g in gaps if g > 20),
        "gap_us_over_20us": sum(g for g in gaps if g > 20),
        "syncs": syncs,
        "device_to_host_copies": reads,
        "groups_us": dict(sorted(groups.items(), key=lambda kv: -kv[1])),
        "top": [{"name": n, "us": v[0], "count": v[1], "group": v[2]} for n, v in top_items],
    }


def table(s: dict) -> list[str]:
    """The summary as text: groups (share of the step's wall time), idle, top items."""
    wall = s["wall_us"] or 1.0
    what = "kernels" if s["device"] == "gpu" else "leaf CPU ops"
    lines = [
        f"one step: {wall / 1e3:,.1f} ms wall, {what} busy {s['busy_us'] / 1e3:,.1f} ms "
        f"({100 * s['busy_us'] / wall:.1f}%), {s['items']:,} {what}",
        f"{'group':30s} {'ms':>10s} {'% step':>7s}",
    ]
    for g, us in s["groups_us"].items():
        lines.append(f"{g:30s} {us / 1e3:10.1f} {100 * us / wall:6.1f}%")
    lines.append(
        f"{'idle (launch gaps, syncs)':30s} {s['idle_us'] / 1e3:10.1f} "
        f"{100 * s['idle_us'] / wall:6.1f}%  ({s['gaps_over_20us']:,} gaps > 20 us = "
        f"{s['gap_us_over_20us'] / 1e3:.1f} ms; {s['syncs']} syncs, "
        f"{s['device_to_host_copies']} device-to-host copies)"
    )
    lines.append(f"top {len(s['top'])} by time:")
    for t in s["top"]:
        name = t["name"] if len(t["name"]) <= 70 else t["name"][:67] + "..."
        lines.append(
            f"  {t['us'] / 1e3:9.1f} ms {100 * t['us'] / wall:5.1f}% x{t['count']:<6d} "
            f"[{t['group'].split(' ')[0]}] {name}"
        )
    return lines
