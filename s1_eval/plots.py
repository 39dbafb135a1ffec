"""The scaling plot: accuracy against thinking tokens spent, one line per method.

Sequential methods (budget forcing, the conditional methods, rejection) are solid lines,
parallel ones (majority votes) dashed, all on the same axes: the x of a point is every
thinking token spent for it (k samples cost k times one; rejection's rejected draws count).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .metrics import METHOD_TITLES

STYLES = {
    "budget_forcing": {"marker": "o", "color": "tab:blue"},
    "wait_count": {"marker": "s", "color": "tab:orange"},
    "majority_voting": {"marker": "^", "color": "tab:green", "linestyle": "--"},
    "shortest_majority": {"marker": "v", "color": "tab:olive", "linestyle": "--"},
    "token-conditional": {"marker": "D", "color": "tab:red"},
    "token-conditional+bf": {"marker": "D", "color": "tab:red", "linestyle": ":"},
    "step-conditional": {"marker": "P", "color": "tab:purple"},
    "step-conditional+bf": {"marker": "P", "color": "tab:purple", "linestyle": ":"},
    "class-conditional": {"marker": "X", "color": "tab:brown"},
    "class-conditional+bf": {"marker": "X", "color": "tab:brown", "linestyle": ":"},
    "rejection": {"marker": "*", "color": "tab:gray"},
    "deepconf": {"marker": "h", "color": "tab:pink", "linestyle": "--"},
    "deepconf_online": {"marker": "H", "color": "tab:pink", "linestyle": "-."},
}
OTHER = {"marker": ".", "color": "tab:cyan"}


def plot_scaling(summary: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Write `scaling.png` from a summary's method curves (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    drawn = 0
    for name, curve in summary.get("methods", {}).items():
        if not curve or not curve["points"]:
            continue
        style = dict(STYLES.get(name.split("[")[0], OTHER))
        if "[" in name:  # another ignore string of the "Wait" count curve
            style.update(color=None, marker="s", linestyle="-.")
        if curve.get("parallel"):
            style.setdefault("linestyle", "--")
        xs = [p.get("compute_tokens", p["thinking_tokens"]) for p in curve["points"]]
        ys = [p["accuracy"] for p in curve["points"]]
        label = METHOD_TITLES.get(name, name)
        ax.plot(xs, ys, label=label, linewidth=1.6, markersize=6, **style)
        for p, x, y in zip(curve["points"], xs, ys):
            ax.annotate(_note(p), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=6)
        drawn += 1
    if not drawn:
        ax.text(0.5, 0.5, "no results yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("mean thinking tokens spent per question (k samples count k times)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(-2, 102)
    ax.grid(True, alpha=0.3)
    ax.set_title(title or "test-time scaling")
    if drawn:
        ax.legend(loc="best", fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def _note(point: dict) -> str:
    if "votes" in point:
        return f"maj@{point['votes']}"
    return point.get("condition") or _short(point["policy"])


def _short(label: str) -> str:
    """'think=512,wait=2' -> '512/2W'."""
    parts = dict(p.split("=", 1) for p in label.split(",") if "=" in p)
    return f"{parts.get('think', '?')}/{parts.get('wait', '0')}W"
