"""The processor's whole run without an engine: where forced pays more than plain.

`S1BudgetForcing.apply()` driven step by step over N rows exactly as vLLM's step loop
drives it, with the scripted model's logits computed from its own weights (a token's
logits are its column of the head: the model is a successor table) and greedy picks, so
every end attempt, forced Wait, budget cut and answer lands where it does in the engine.
Only the processor's cost is timed: it is the engine core's Python per step, the part
that ours adds to vLLM's own step. On a CPU the device work of a small vocabulary is
cheap, so this shows the per-row Python; on a GPU it runs the same on the card.

    python bench/engine/processor_run.py --requests 1024            # plain and forced
    python bench/engine/processor_run.py --requests 1024 --profile  # where forced's time goes
    python bench/engine/processor_run.py --requests 1024 --vocab 151936  # on a GPU
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT.parent)]

THINK, WAITS, ANSWER = 512, 3, 16


def load(path: Path):
    import torch
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    w = load_file(str(path / "model.safetensors"))
    head = w["lm_head.weight"].float()  # [vocab, hidden]; the embedding is the identity
    return AutoTokenizer.from_pretrained(str(path)), head.T.contiguous(), torch


def run(path: Path, n: int, fmt: str, args: dict, profile: bool) -> dict:
    import torch
    from vllm import SamplingParams
    from vllm.v1.sample.logits_processor import BatchUpdate

    from s1_engine.vllm_plugin import S1BudgetForcing

    tok, table, _ = load(path)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    table = table.to(dev)
    mc = types.SimpleNamespace(
        max_model_len=2048, tokenizer=str(path), model=str(path), trust_remote_code=False
    )
    proc = S1BudgetForcing(types.SimpleNamespace(model_config=mc), torch.device(dev), dev == "cuda")
    start = "<|im_start|>think" if fmt == "s1" else "<think>"
    prompt = tok.encode(f"<|im_start|>user\nQuestion<|im_end|>\n<|im_start|>assistant\n{start}")
    outs: list[list[int]] = [[] for _ in range(n)]
    params = dict(args, format=fmt, answer_max_tokens=ANSWER, max_thinking_tokens=THINK)
    added = [
        (
            i,
            SamplingParams(max_tokens=4000, temperature=0.0, extra_args=dict(params)),
            prompt,
            outs[i],
        )
        for i in range(n)
    ]
    proc.update_state(BatchUpdate(batch_size=n, removed=[], added=added, moved=[]))
    eos = {int(tok.eos_token_id)}
    live = list(range(n))
    last = torch.full((n,), prompt[-1], dtype=torch.long, device=dev)
    times, steps = [], 0
    pauses: list[float] = []
    began = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        elif info["generation"] == 2:
            pauses.append(time.perf_counter() - began[0])

    gc.callbacks.append(on_gc)
    prof = cProfile.Profile() if profile else None
    removed: list[int] = []
    while live and steps < 4 * THINK:
        rows = torch.tensor(live, device=dev)
        logits = table.index_select(0, last[rows]) if len(live) < n else table[last]
        # vLLM's batch is condensed; here a finished row is removed and the rest keep
        # their index (the processor sees the same update either way)
        if len(live) < n:
            full = torch.full((n, table.shape[1]), -1e4, device=dev)
            full[rows] = logits
            logits = full
        logits = logits.clone()
        proc.update_state(
            BatchUpdate(batch_size=n, removed=removed, added=[], moved=[]) if removed else None
        )
        removed = []
        if dev == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        if prof:
            prof.enable()
        proc.apply(logits)
        if prof:
            prof.disable()
        if dev == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
        picks = logits.argmax(-1)
        last = picks
        picked = picks.tolist()
        still = []
        for i in live:
            outs[i].append(picked[i])
            if picked[i] in eos:
                removed.append(i)
            else:
                still.append(i)
        live = still
        steps += 1
    gc.callbacks.remove(on_gc)
    lens = sorted({len(o) for o in outs})
    slow = sorted(range(len(times)), key=lambda i: -times[i])[:6]
    out = {
        "format": fmt,
        "rows": n,
        "steps": steps,
        "tokens": lens,
        "apply_s_total": round(sum(times), 3),
        "apply_ms_median": round(1e3 * sorted(times)[len(times) // 2], 3),
        "full_gc_ms": [round(1e3 * p, 1) for p in pauses],
        "slowest_steps_ms": {i: round(1e3 * times[i], 1) for i in slow},
    }
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    return out


def main() -> None:
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--requests", type=int, default=1024)
    a.add_argument("--model", default="runs/bench_processor/model")
    a.add_argument("--profile", action="store_true")
    a.add_argument("--vocab", type=int, default=0, help="e.g. 151936, the Qwen2.5 vocabulary")
    args = a.parse_args()
    from s1_engine.testing import make_scripted_model

    path = Path(f"{args.model}-{args.vocab}")
    if not (path / "model.safetensors").exists():  # one layer: only the head is read
        make_scripted_model(path, think_len=128, wait_len=127, vocab_size=args.vocab)
    print(run(path, args.requests, "think-tags", {}, False))
    print(run(path, args.requests, "s1", {"num_ignore": WAITS}, args.profile))


if __name__ == "__main__":
    main()
