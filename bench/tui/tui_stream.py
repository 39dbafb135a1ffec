"""Stream a synthetic thinking trace into the console's panes and measure if it keeps up.

    python bench/tui/tui_stream.py --rate 5000 --tokens 30000

The app runs headless (Textual's test harness, a real compositor and real widgets),
fed by `s1_tui.fakes.FakeSession` at a fixed token rate through the same
path as an engine session (`stream()` -> Trace -> timer flush -> MarkdownStream).
Every 100 ms it samples how many tokens were produced, consumed (in the Trace) and
rendered (in the pane's Markdown widgets); every 0.5 s it presses "w" the way the
terminal driver does and times how long until the session gets the Wait. At the
end it reports the rates, the worst backlog, the drain time after the last token,
and the key latencies. Exit code 1 if the panes fell behind (backlog growing, or
a drain over 0.5 s) or a key took 100 ms or more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's packages
os.environ.setdefault("S1_DATA_DIR", tempfile.mkdtemp(prefix="s1-bench-"))
os.environ.setdefault("S1_CONFIG", os.path.join(os.environ["S1_DATA_DIR"], "none.toml"))


def rendered_chars(pane) -> int:
    from textual.widgets import Markdown

    return sum(len(md.source) for md in pane.query(Markdown))


async def bench(tokens: int, rate: float, size: tuple[int, int], press_every: float) -> dict:
    from textual import events

    from s1_tui.app import S1App
    from s1_tui.fakes import FakeSession

    app = S1App(load=False)
    src = FakeSession(tokens=tokens, rate=rate)
    samples: list[tuple[float, int, int, int, int]] = []  # t, produced, consumed, chars, rendered
    lat: list[float] = []
    async with app.run_test(size=size) as pilot:
        app.main.show_source(src, "benchmark", session=src)
        while not app.main.runs:
            await asyncio.sleep(0.01)
        run = app.main.runs[0]
        pane = run.view.thinking
        t0 = time.perf_counter()
        next_press = t0 + press_every
        while not run.finished:
            await asyncio.sleep(0.1)
            now = time.perf_counter()
            trace_chars = len(run.trace.thinking)
            samples.append(
                (
                    now - t0,
                    src.produced,
                    run.trace.thinking_tokens,
                    trace_chars,
                    rendered_chars(pane),
                )
            )
            if now >= next_press and not src.done:
                n = len(src.calls)
                k0 = time.perf_counter()
                app.post_message(events.Key("w", "w"))
                while len(src.calls) == n and time.perf_counter() - k0 < 2:
                    await asyncio.sleep(0.001)
                if len(src.calls) > n:
                    lat.append(src.calls[-1][1] - k0)
                next_press = time.perf_counter() + press_every
        produced_done = src.finished
        # drain: until the pane holds the whole trace
        drain_deadline = time.perf_counter() + 30
        while rendered_chars(pane) < len(run.trace.thinking):
            if time.perf_counter() > drain_deadline:
                break
            await asyncio.sleep(0.005)
        drained = time.perf_counter()
        chars = len(run.trace.thinking)
        n_widgets = len(pane.query("Markdown"))
        waits_shown = pane.text.count("⟪Wait · user⟫")
        await pilot.pause(0.05)
    producing = src.finished - src.started
    backlog = [c - r for _, _, _, c, r in samples]
    lag_tokens = [p - c for _, p, c, _, _ in samples]
    half = len(backlog) // 2
    return {
        "tokens": src.produced,
        "target_rate": rate,
        "produced_rate": round(src.produced / producing, 1),
        "rendered_rate_tokens_s": round(src.produced / (drained - src.started), 1),
        "seconds": round(producing, 2),
        "drain_after_last_token_s": round(drained - produced_done, 3),
        "chars": chars,
        "markdown_widgets": n_widgets,
        "max_backlog_chars": max(backlog, default=0),
        "backlog_first_half_mean": round(statistics.mean(backlog[:half] or [0]), 1),
        "backlog_second_half_mean": round(statistics.mean(backlog[half:] or [0]), 1),
        "max_consumer_lag_tokens": max(lag_tokens, default=0),
        "key_presses": len(lat),
        "key_latency_ms_median": round(1000 * statistics.median(lat), 1) if lat else None,
        "key_latency_ms_max": round(1000 * max(lat), 1) if lat else None,
        "waits_shown": waits_shown,
        "flushes": app.flushes,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=30000)
    ap.add_argument("--rate", type=float, default=5000)
    ap.add_argument("--width", type=int, default=120)
    ap.add_argument("--height", type=int, default=40)
    ap.add_argument("--press-every", type=float, default=0.5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = asyncio.run(bench(args.tokens, args.rate, (args.width, args.height), args.press_every))
    r["load_average_1m"] = round(os.getloadavg()[0], 2)
    r["cpus"] = os.cpu_count()
    behind = r["drain_after_last_token_s"] > 0.5 or r["produced_rate"] < 0.9 * args.rate
    slow_keys = (r["key_latency_ms_max"] or 0) >= 100
    r["kept_up"] = not behind
    r["keys_under_100ms"] = not slow_keys
    print(json.dumps(r, indent=None if args.json else 2))
    return 1 if behind or slow_keys else 0


if __name__ == "__main__":
    sys.exit(main())
