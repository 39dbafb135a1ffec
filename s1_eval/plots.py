"""The scaling plot: accuracy against mean thinking tokens, one line per method."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .metrics import METHOD_TITLES, METHODS

STYLES = {
    "budget_forcing": {"marker": "o", "color": "tab:blue"},
    "wait_count": {"marker": "s", "color": "tab:orange"},
    "majority_voting": {"marker": "^", "color": "tab:green", "linestyle": "--"},
}


def plot_scaling(summary: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Write `scaling.png` from a summary's method curves (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    drawn = 0
    for name in METHODS:
        curve = summary.get("methods", {}).get(name)
        if not curve or not curve["points"]:
            continue
        xs = [p["thinking_tokens"] for p in curve["points"]]
        ys = [p["accuracy"] for p in curve["points"]]
        ax.plot(xs, ys, label=METHOD_TITLES[name], linewidth=1.8, markersize=6, **STYLES[name])
        for p, x, y in zip(curve["points"], xs, ys):
            note = f"maj@{p['votes']}" if "votes" in p else _short(p["policy"])
            ax.annotate(note, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        drawn += 1
    if not drawn:
        ax.text(0.5, 0.5, "no results yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("mean thinking tokens")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(-2, 102)
    ax.grid(True, alpha=0.3)
    ax.set_title(title or "test-time scaling")
    if drawn:
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def _short(label: str) -> str:
    """'think=512,wait=2' -> '512/2W'."""
    parts = dict(p.split("=", 1) for p in label.split(",") if "=" in p)
    return f"{parts.get('think', '?')}/{parts.get('wait', '0')}W"
