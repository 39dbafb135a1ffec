"""The curation report: survivors per stage, reasons, domains, lengths, dropped examples."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .stages.select import entropy

EXAMPLES_PER_REASON = 5


def length_summary(values: Sequence[int], bins: int = 10) -> dict[str, Any]:
    vals = sorted(int(v) for v in values if v is not None)
    if not vals:
        return {"count": 0}
    q = statistics.quantiles(vals, n=10) if len(vals) > 1 else [vals[0]] * 9
    lo, hi = vals[0], vals[-1]
    width = max(1, -(-(hi - lo + 1) // bins))
    hist = Counter((v - lo) // width for v in vals)
    return {
        "count": len(vals),
        "min": lo,
        "p10": round(q[0], 1),
        "median": statistics.median(vals),
        "mean": round(statistics.fmean(vals), 1),
        "p90": round(q[-1], 1),
        "max": hi,
        "histogram": [
            {"lo": lo + b * width, "hi": lo + (b + 1) * width - 1, "count": hist.get(b, 0)}
            for b in range(-(-(hi - lo + 1) // width))
        ],
    }


def build_report(
    config: dict[str, Any],
    stages: list[dict[str, Any]],
    dropped: list[dict[str, Any]],
    candidates: Sequence[dict[str, Any]],
    final: Sequence[dict[str, Any]],
    output: str,
) -> dict[str, Any]:
    by_reason = Counter(d["reason"] for d in dropped)
    examples: dict[str, list[dict[str, Any]]] = {}
    for d in dropped:
        bucket = examples.setdefault(d["reason"], [])
        if len(bucket) < EXAMPLES_PER_REASON:
            bucket.append(d)
    domains_c = Counter(it.get("domain") or "(none)" for it in candidates)
    domains_f = Counter(it.get("domain") or "(none)" for it in final)
    return {
        "config": config,
        "stages": stages,
        "survivors": {s["name"]: s["kept"] for s in stages},
        "dropped_total": len(dropped),
        "dropped_by_reason": dict(sorted(by_reason.items())),
        "dropped_examples": examples,
        "domains": {
            "candidates": dict(domains_c.most_common()),
            "selected": dict(domains_f.most_common()),
            "entropy_candidates": round(entropy(domains_c), 4),
            "entropy_selected": round(entropy(domains_f), 4),
        },
        "lengths": {
            "candidates": length_summary([it.get("trace_tokens") for it in candidates]),
            "selected": length_summary([it.get("trace_tokens") for it in final]),
        },
        "output": {"path": output, "rows": len(final)},
    }


def _bar(n: int, most: int, width: int = 30) -> str:
    return "█" * max(1 if n else 0, round(width * n / most)) if most else ""


def render_markdown(report: dict[str, Any]) -> str:
    out = ["# s1 curate report", ""]
    out += [f"Output: `{report['output']['path']}` ({report['output']['rows']} items)", ""]
    out += [
        "## Survivors per stage",
        "",
        "| stage | in | kept | dropped | reasons | resumed | seconds |",
    ]
    out += ["| --- | ---: | ---: | ---: | --- | --- | ---: |"]
    for s in report["stages"]:
        reasons = ", ".join(f"{k} {v}" for k, v in s.get("reasons", {}).items()) or "-"
        out.append(
            f"| {s['name']} | {s['input']} | {s['kept']} | {s['dropped']} | {reasons} | "
            f"{'yes' if s.get('resumed') else 'no'} | {s.get('seconds', 0):.1f} |"
        )
    out.append("")
    notes = [(s["name"], s["stats"]) for s in report["stages"] if s.get("stats")]
    if notes:
        out += ["Stage details:", ""]
        out += [f"- **{n}**: " + json.dumps(st, ensure_ascii=False) for n, st in notes]
        out.append("")
    for key, title in (
        ("selected", "Domains (output)"),
        ("candidates", "Domains (before selection)"),
    ):
        hist = report["domains"][key]
        if not hist:
            continue
        most = max(hist.values())
        ent = report["domains"][f"entropy_{key}"]
        out += [f"## {title}", "", f"{len(hist)} domains, entropy {ent:.3f} bits", "", "```"]
        width = max(len(d) for d in hist)
        out += [f"{d:<{width}} {n:>5} {_bar(n, most)}" for d, n in hist.items()]
        out += ["```", ""]
    for key, title in (
        ("selected", "Trace length, tokens (output)"),
        ("candidates", "Trace length, tokens (before selection)"),
    ):
        s = report["lengths"][key]
        if not s.get("count"):
            continue
        out += [
            f"## {title}",
            "",
            f"count {s['count']}, min {s['min']}, p10 {s['p10']}, median {s['median']}, "
            f"mean {s['mean']}, p90 {s['p90']}, max {s['max']}",
            "",
            "```",
        ]
        most = max(b["count"] for b in s["histogram"])
        out += [
            f"{b['lo']:>7}-{b['hi']:<7} {b['count']:>5} {_bar(b['count'], most)}"
            for b in s["histogram"]
        ]
        out += ["```", ""]
    out += ["## Dropped items", "", f"{report['dropped_total']} in all.", ""]
    if report["dropped_by_reason"]:
        out += ["| reason | count |", "| --- | ---: |"]
        out += [f"| {r} | {n} |" for r, n in report["dropped_by_reason"].items()]
        out.append("")
    for reason, items in report["dropped_examples"].items():
        out += [f"### {reason}", ""]
        for d in items:
            q = " ".join(str(d.get("question") or "").split())[:160]
            out.append(f"- `{d['id']}` ({d['stage']}): {d['detail']} — {q!r}")
        out.append("")
    return "\n".join(out)


def write_report(report: dict[str, Any], out: str | Path) -> tuple[Path, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    j = out / "report.json"
    m = out / "report.md"
    j.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    m.write_text(render_markdown(report), encoding="utf-8")
    return j, m
