"""`s1 train` on the GPU machine: tokens/s per GPU, MFU and peak memory, 1 to N GPUs.

Every run is the documented command, run as a subprocess:

    python3 -m s1_cli.main train DATA -m MODEL -o OUT --recipe RUN.yaml        # one GPU
    python3 -m accelerate.commands.launch --config_file s1_train/configs/fsdp_qwen2.yaml \\
        --num_processes N -m s1_cli.main train DATA -m MODEL -o OUT --recipe RUN.yaml

RUN.yaml holds the variant's settings (block size, gradient checkpointing, padding-free,
Liger, per-device batch); the effective batch is the recipe's 16 sequences throughout.
Models are made on the machine from Qwen2.5 configs (random weights; `--shape` 0.5b,
1.5b, 7b: the released models' sizes, tied embeddings where those have them); the data
are s1-format rows of varied length (a quarter of the block up to the whole block,
thinking made of numbered steps), made on the machine.

Throughput comes from the run's own loss log (`loss_log.jsonl`: a wall-clock time and
TRL's cumulative `num_tokens`, all processes together, at every optimizer step): the
steps after `--warmup` are the measurement, each step one sample, median and spread
reported. MFU = tokens/s per GPU x (6 N + 12 L H S) / the bf16 matmul rate measured
there (N parameters, L layers, H hidden, S the token-weighted mean sequence length, as
attention stays within each sequence), the PaLM accounting; gradient checkpointing's
recomputation is not counted as useful work. Peak memory per GPU: nvidia-smi's
`memory.used`, sampled every 0.5 s, over the idle reading, and rank 0's
`torch.cuda.max_memory_allocated`/`max_memory_reserved`.

Runs are `GPUS:VARIANT[:SHAPE]`; VARIANT `best` is the fastest one-GPU variant so far.
After the last multi-GPU run of the first shape its checkpoint is checked: it loads with
no missing weights, and `s1 generate --model OUT` (the engine, hf backend, one GPU) gives
the greedy tokens that plain transformers gives for the same weights on one GPU.

    python3 bench/train/gpu_train.py --out $OUT --runs 1:recipe,1:pf,1:pf-liger,2:best,4:best
    python3 bench/train/gpu_train.py --smoke --runs 1:recipe,1:pf,2:pf      # CPU check, tiny shape
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
BENCH = ROOT / "bench"
sys.path[:0] = [str(ROOT), str(BENCH), str(BENCH / "engine")]  # its packages; common; gpu_engine
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

LIBRARIES = ("accelerate", "datasets", "liger_kernel")  # recorded besides common's

# Qwen2.5 configs (the released models' config.json): layers, hidden, MLP, heads, KV heads.
SHAPES = {
    "0.5b": dict(
        layers=24, hidden=896, intermediate=4864, heads=14, kv_heads=2, vocab=151936, tied=True
    ),
    "1.5b": dict(
        layers=28, hidden=1536, intermediate=8960, heads=12, kv_heads=2, vocab=151936, tied=True
    ),
    "7b": dict(
        layers=28, hidden=3584, intermediate=18944, heads=28, kv_heads=4, vocab=152064, tied=False
    ),
    "smoke": dict(
        layers=2, hidden=64, intermediate=128, heads=2, kv_heads=1, vocab=1024, tied=True
    ),
}

# Variants: TrainConfig settings on top of the s1 recipe (bf16, effective batch 16).
VARIANTS: dict[str, dict] = {
    # the recipe as it was, with gradient checkpointing: one sequence per micro-batch
    "recipe": {
        "gradient_checkpointing": True,
        "per_device_batch_size": 1,
        "padding_free": False,
        "selective_checkpointing": False,
    },
    # the same without checkpointing (memory permitting)
    "nogc": {"gradient_checkpointing": False, "per_device_batch_size": 1, "padding_free": False},
    # padding-free micro-batches of 4 sequences (s1_train.attention)
    "pf": {
        "gradient_checkpointing": True,
        "per_device_batch_size": 4,
        "padding_free": True,
        "selective_checkpointing": False,
    },
    "pf-liger": {
        "gradient_checkpointing": True,
        "per_device_batch_size": 4,
        "padding_free": True,
        "selective_checkpointing": False,
        "liger": True,
    },
    # TRL's selective activation checkpointing (keeps each layer's attention output)
    "pf-sac": {
        "gradient_checkpointing": True,
        "per_device_batch_size": 4,
        "padding_free": True,
        "extra": {"gradient_checkpointing_kwargs": {"selective": True}},
    },
    "pf-liger-sac": {
        "gradient_checkpointing": True,
        "per_device_batch_size": 4,
        "padding_free": True,
        "liger": True,
        "extra": {"gradient_checkpointing_kwargs": {"selective": True}},
    },
    # what `s1 train --gradient-checkpointing` does on a GPU by default now (= pf-sac)
    "default": {"gradient_checkpointing": True},
}

WORK = Path(os.environ.get("S1_GPU_TRAIN_WORK", "/tmp/s1_gpu_train"))


# ----- helpers run in subprocesses (so the orchestrator holds no CUDA context) -----------------
def make_model(shape_name: str, path: Path) -> dict:
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    from s1_engine.testing import make_tokenizer

    tok = make_tokenizer(path)
    s = SHAPES[shape_name]
    config = Qwen2Config(
        vocab_size=s["vocab"],
        hidden_size=s["hidden"],
        intermediate_size=s["intermediate"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        num_key_value_heads=s["kv_heads"],
        max_position_embeddings=32768,
        rope_theta=1_000_000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=s["tied"],
        bos_token_id=None,
        eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tok.convert_tokens_to_ids("<|endoftext|>"),
    )
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_default_dtype(torch.bfloat16)
    with torch.device(device):
        model = Qwen2ForCausalLM(config)
    torch.set_default_dtype(torch.float32)
    model.generation_config = GenerationConfig(
        eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id
    )
    model.save_pretrained(str(path))
    return {"params": sum(p.numel() for p in model.parameters())}


def matmul_rate() -> float:
    import torch

    if not torch.cuda.is_available():
        return float("nan")
    from gpu_engine import matmul_rate as rate

    return rate()


def check_checkpoint(path: Path, n_tokens: int) -> dict:
    """The engine on one GPU (`s1 generate`, hf backend) against plain transformers."""
    import torch
    from transformers import AutoModelForCausalLM

    from s1_engine import BudgetPolicy, Engine

    question = "Question 7: add the numbers and then the steps."
    policy = BudgetPolicy(max_thinking_tokens=n_tokens, answer_max_tokens=8)
    with Engine(str(path), backend="hf") as engine:
        prompt = engine.prompt_ids(question)
        r = engine.generate(question, policy)
    sampled = []
    for t, forced in zip(r.output_ids, r.forced_mask):
        if forced:
            break
        sampled.append(int(t))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, info = AutoModelForCausalLM.from_pretrained(
        str(path), dtype=torch.bfloat16, output_loading_info=True
    )
    model = model.to(device).eval()
    with torch.no_grad():
        out = model.generate(
            torch.tensor([prompt], device=device),
            attention_mask=torch.ones(1, len(prompt), dtype=torch.long, device=device),
            max_new_tokens=max(1, len(sampled)),
            do_sample=False,
            eos_token_id=None,
            pad_token_id=0,
        )
    ref = out[0, len(prompt) :].tolist()[: len(sampled)]
    cli = subprocess.run(
        [sys.executable, "-m", "s1_cli.main", "generate", question, "-m", str(path)]
        + ["--backend", "hf", "--json", "--max-thinking", str(n_tokens)]
        + ["--answer-max-tokens", "8"],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
    )
    cli_rec = json.loads(cli.stdout) if cli.returncode == 0 else None
    return {
        "missing_keys": list(info.get("missing_keys", [])),
        "unexpected_keys": list(info.get("unexpected_keys", [])),
        "tensors": len(model.state_dict()),
        "engine_sampled_tokens": len(sampled),
        "engine_equals_transformers": sampled == ref,
        "first_difference": next((i for i, (a, b) in enumerate(zip(sampled, ref)) if a != b), None),
        "cli_rc": cli.returncode,
        "cli_thinking_same": bool(cli_rec) and cli_rec["thinking"] == r.thinking,
        "cli_stderr_tail": cli.stderr[-400:] if cli.returncode else "",
    }


# ----- data ---------------------------------------------------------------------------------
def make_rows(n: int, tokens: list[int], chars_per_token: float, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i, target in enumerate(tokens):
        steps, total, k = [], 0, 0
        length = 0
        while length < target * chars_per_token:
            x = rng.randint(1, 99)
            total += x
            k += 1
            steps.append(f"step {k}: add {x}, total {total}.")
            length += len(steps[-1]) + 1
        rows.append(
            {
                "question": f"Question {i}: add the numbers and then the steps.",
                "thinking_trajectories": [" ".join(steps)],
                "attempt": f"Final Answer: {total}",
            }
        )
    return rows[:n]


def s1_lengths(tok, rows: list[dict]) -> list[int]:
    from s1_train.formatting import s1_text

    return [
        len(
            tok(
                s1_text(r["question"], r["thinking_trajectories"][0], r["attempt"], tok),
                add_special_tokens=False,
            )["input_ids"]
        )
        for r in rows
    ]


def make_data(model_dir: Path, n: int, block: int, path: Path) -> dict:
    """n rows of s1 format, lengths uniform in [block/4, block - 64] tokens."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    probe = make_rows(1, [2000], 1.0, seed=99)
    cpt = 1.0 * 2000 / max(1, s1_lengths(tok, probe)[0])  # chars per token
    rng = random.Random(1)
    targets = [rng.randint(block // 4, block - 64) for _ in range(n)]
    rows = make_rows(n, targets, cpt * 0.97)
    lengths = s1_lengths(tok, rows)
    keep = [(r, n_) for r, n_ in zip(rows, lengths) if n_ <= block]
    path.write_text("".join(json.dumps(r) + "\n" for r, _ in keep))
    lens = [n_ for _, n_ in keep]
    return {
        "rows": len(keep),
        "mean_tokens": statistics.mean(lens),
        "min_tokens": min(lens),
        "max_tokens": max(lens),
        # attention work per token grows with its own sequence's length
        "token_weighted_mean_len": sum(x * x for x in lens) / sum(lens),
    }


# ----- GPU memory sampler -------------------------------------------------------------------
class MemSampler:
    """Peak nvidia-smi memory.used per GPU (MiB) while a run lasts."""

    def __init__(self) -> None:
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def read() -> dict[int, int]:
        if not shutil.which("nvidia-smi"):
            return {}
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=index,memory.used", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
        except Exception:
            return {}
        res = {}
        for line in out.strip().splitlines():
            i, m = (x.strip() for x in line.split(","))
            res[int(i)] = int(m)
        return res

    def _loop(self) -> None:
        while not self._stop.is_set():
            for i, m in self.read().items():
                self.peak[i] = max(self.peak.get(i, 0), m)
            self._stop.wait(0.5)

    def __enter__(self) -> MemSampler:
        self._thread.start()
        return self

    def __exit__(self, *a: object) -> None:
        self._stop.set()
        self._thread.join()


# ----- one run ------------------------------------------------------------------------------
def throughput(log: list[dict], warmup: int) -> dict:
    """Tokens/s over the steps after `warmup` (each optimizer step one sample)."""
    recs = [r for r in log if "time" in r and "num_tokens" in r]
    if len(recs) < warmup + 2:
        return {"error": f"only {len(recs)} logged steps"}
    base = recs[warmup - 1] if warmup > 0 else recs[0]
    timed = recs[warmup:] if warmup > 0 else recs[1:]
    rates, prev = [], base
    for r in timed:
        rates.append((r["num_tokens"] - prev["num_tokens"]) / (r["time"] - prev["time"]))
        prev = r
    total = (timed[-1]["num_tokens"] - base["num_tokens"]) / (timed[-1]["time"] - base["time"])
    step_s = [(b["time"] - a["time"]) for a, b in zip([base, *timed[:-1]], timed)]
    return {
        "timed_steps": len(timed),
        "tokens_per_s": total,
        "tokens_per_s_median_step": statistics.median(rates),
        "tokens_per_s_min_step": min(rates),
        "tokens_per_s_max_step": max(rates),
        "step_s_median": statistics.median(step_s),
        "tokens_per_step": (timed[-1]["num_tokens"] - base["num_tokens"]) / len(timed),
    }


def parse_spec(spec: str, args, ctx: dict) -> dict:
    """GPUS:VARIANT[:SHAPE[:STEPS]] -> the run's settings ('best' resolved now)."""
    parts = spec.split(":")
    gpus, variant = int(parts[0]), parts[1]
    shape = parts[2] if len(parts) > 2 and parts[2] else args.shape
    steps = int(parts[3]) if len(parts) > 3 else args.steps * gpus
    if args.smoke:
        shape, steps = "smoke", args.steps
    run = {"spec": spec, "gpus": gpus, "variant": variant, "shape": shape, "steps": steps}
    if variant == "best":
        done = [
            r
            for r in ctx["results"]
            if r.get("gpus") == 1
            and r.get("shape") == ("smoke" if args.smoke else args.shape)
            and "tokens_per_s" in r
        ]
        if not done:
            return {**run, "skipped": "no one-GPU run to pick the best variant from"}
        run["variant"] = max(done, key=lambda r: r["tokens_per_s"])["variant"]
    if run["variant"] not in VARIANTS:
        return {**run, "skipped": f"unknown variant {run['variant']}"}
    if VARIANTS[run["variant"]].get("liger") and not ctx["versions"].get("liger_kernel"):
        return {**run, "skipped": "liger-kernel is not installed"}
    return run


def run_one(run: dict, first_gpu: int, args, ctx: dict) -> dict:
    spec, gpus, variant, shape, steps = (
        run[k] for k in ("spec", "gpus", "variant", "shape", "steps")
    )
    devices = ",".join(str(first_gpu + i) for i in range(gpus))
    model = WORK / f"model_{shape}"
    name = f"{shape}_{gpus}gpu_{variant}"
    out = WORK / "runs" / name
    shutil.rmtree(out, ignore_errors=True)
    recipe = {
        "epochs": 100,
        "block_size": args.block_size,
        "batch_size": 16,
        "max_steps": steps,
        "save_steps": 100_000,
        "logging_steps": 1,
        "progress": False,
        "resume": False,
        **{k: v for k, v in VARIANTS[variant].items()},
    }
    if args.smoke:
        recipe["bf16"] = False
        recipe["batch_size"] = 4
        if recipe.get("per_device_batch_size", 2) > 1:
            recipe["per_device_batch_size"] = 2
    rfile = WORK / f"{name}.yaml"
    import yaml

    rfile.write_text(yaml.safe_dump({"train": recipe}))
    train = ["-m", "s1_cli.main", "train", str(ctx["data"][shape]), "-m", str(model)]
    train += ["-o", str(out), "--recipe", str(rfile)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if gpus == 1:
        cmd = [sys.executable, *train]
        if not args.smoke:
            env["CUDA_VISIBLE_DEVICES"] = devices
    else:
        cfg = ROOT / "s1_train" / "configs" / "fsdp_qwen2.yaml"
        if args.smoke:  # the CPU test's adaptation: gloo processes, no mixed precision
            c = yaml.safe_load(cfg.read_text())
            c.update(num_processes=gpus, mixed_precision="no")
            cfg = WORK / "cpu_fsdp.yaml"
            cfg.write_text(yaml.safe_dump(c))
            env["OMP_NUM_THREADS"] = "1"
        launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(cfg)]
        cmd = [*launch, "--num_processes", str(gpus), *train]
        if not args.smoke:
            env["CUDA_VISIBLE_DEVICES"] = devices
        # one rendezvous port per concurrent launch
        cmd[3:3] = ["--main_process_port", str(29500 + first_gpu)]
    print(f"== {spec} -> {name} on GPU {devices}: {' '.join(cmd)}", flush=True)
    mem = ctx["mem"]
    t0 = time.time()
    proc = subprocess.run(
        cmd, env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=args.run_timeout
    )
    wall = time.time() - t0
    res: dict = {
        "spec": spec,
        "gpus": gpus,
        "variant": variant,
        "shape": shape,
        "settings": VARIANTS[variant],
        "steps": steps,
        "devices": devices,
        "concurrent_with": run.get("concurrent_with", []),
        "command": " ".join(cmd[1:]).replace(str(WORK), "$WORK"),
        "wall_s": wall,
        "rc": proc.returncode,
    }
    (WORK / f"{name}.log").write_text(proc.stdout + "\n----\n" + proc.stderr)
    if proc.returncode != 0:
        res["error"] = proc.stderr[-1500:]
        print(res["error"], flush=True)
        return res
    log = [json.loads(x) for x in (out / "loss_log.jsonl").read_text().splitlines()]
    tp = throughput(log, args.warmup if not args.smoke else 1)
    res.update(tp)
    if "tokens_per_s" in tp:
        per_gpu = tp["tokens_per_s"] / gpus
        info = ctx["shape_info"][shape]
        res["tokens_per_s_per_gpu"] = per_gpu
        res["tokens_per_s_per_gpu_median_step"] = tp["tokens_per_s_median_step"] / gpus
        res["mfu"] = per_gpu * info["flops_per_token"] / ctx["matmul_flops"]
        res["mfu_median_step"] = res["tokens_per_s_per_gpu_median_step"] * (
            info["flops_per_token"] / ctx["matmul_flops"]
        )
    res["first_loss"], res["last_loss"] = log[0].get("loss"), log[-1].get("loss")
    res["rank0_max_allocated_gib"] = max(r.get("max_memory_allocated_gib", 0) for r in log)
    res["rank0_max_reserved_gib"] = max(r.get("max_memory_reserved_gib", 0) for r in log)
    res["nvidia_smi_peak_mib"] = {
        i: mem.peak.get(i, 0) - ctx["idle"].get(i, 0)
        for i in range(first_gpu, first_gpu + gpus)
        if i in mem.peak
    }
    report = json.loads((out / "s1_train_report.json").read_text())
    res["report"] = {
        k: report.get(k)
        for k in (
            "distributed_type",
            "fsdp",
            "world_size",
            "effective_batch",
            "global_steps",
            "padding_free",
            "attn_implementation",
            "liger",
            "seconds",
        )
    }
    res["output_dir"] = str(out)
    return res


def _work(out: list, k: int, run: dict, first_gpu: int, args, ctx: dict) -> None:
    try:
        out[k] = run_one(run, first_gpu, args, ctx)
    except Exception as e:  # one failed run must not lose the others
        out[k] = {**run, "error": f"{type(e).__name__}: {e}"[-1500:]}


def ensure_shape(shape: str, args, ctx: dict) -> tuple[Path, dict]:
    model = WORK / f"model_{shape}"
    if shape not in ctx["shape_info"]:
        t = time.time()
        out = helper(["--_make-model", shape, str(model)], gpu="0")
        n_rows = max(args.steps * 4, 8) * 16 + 64
        data = WORK / f"data_{shape}.jsonl"
        d = helper(
            ["--_make-data", str(model), str(n_rows), str(args.block_size), str(data)], gpu=""
        )
        s = SHAPES[shape]
        fpt = 6 * out["params"] + 12 * s["layers"] * s["hidden"] * d["token_weighted_mean_len"]
        ctx["shape_info"][shape] = {
            **s,
            "params": out["params"],
            "data": d,
            "flops_per_token": fpt,
            "prep_s": time.time() - t,
        }
        ctx["data"][shape] = data
        print(f"shape {shape}: {ctx['shape_info'][shape]}", flush=True)
    return model, ctx["shape_info"][shape]


def helper(argv: list[str], gpu: str | None) -> dict:
    env = dict(os.environ)
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpu
    p = subprocess.run(
        [sys.executable, __file__, *argv], env=env, capture_output=True, text=True, cwd=str(ROOT)
    )
    if p.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def table(results: list[dict]) -> list[str]:
    lines = [
        f"{'run':28s} {'tok/s/GPU':>10s} {'median step':>12s} {'spread':>17s} {'MFU':>6s} "
        f"{'peak GiB/GPU (smi)':>19s} {'alloc GiB r0':>12s}"
    ]
    for r in results:
        if "tokens_per_s_per_gpu" not in r:
            why = r.get("skipped") or (r.get("error") or "")[-80:].replace("\n", " ")
            lines.append(f"{r['spec']:28s} -- {why}")
            continue
        g = r["gpus"]
        peaks = r["nvidia_smi_peak_mib"].values()
        peak = max(peaks) / 1024 if peaks else float("nan")
        lines.append(
            f"{r['shape'] + ' ' + str(g) + 'gpu ' + r['variant']:28s} "
            f"{r['tokens_per_s_per_gpu']:10.0f} {r['tokens_per_s_per_gpu_median_step']:12.0f} "
            f"{r['tokens_per_s_min_step'] / g:8.0f}-{r['tokens_per_s_max_step'] / g:<8.0f} "
            f"{100 * r['mfu']:5.1f}% {peak:19.1f} {r['rank0_max_allocated_gib']:12.1f}"
        )
    return lines


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--_make-model":
        print(json.dumps(make_model(sys.argv[2], Path(sys.argv[3]))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--_make-data":
        model, n, block, path = sys.argv[2:6]
        print(json.dumps(make_data(Path(model), int(n), int(block), Path(path))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--_matmul":
        print(json.dumps({"flops": matmul_rate()}))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--_check":
        print(json.dumps(check_checkpoint(Path(sys.argv[2]), int(sys.argv[3]))))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/gpu_train_out"))
    ap.add_argument(
        "--runs",
        default="1:recipe,1:pf,1:pf-liger,1:pf-sac;2:best;4:best",
        help="GPUS:VARIANT[:SHAPE[:STEPS]], comma: at once on disjoint GPUs, ';' one group after another",
    )
    ap.add_argument("--shape", default="1.5b", choices=sorted(SHAPES))
    ap.add_argument("--block-size", type=int, default=8192)
    ap.add_argument("--steps", type=int, default=7, help="optimizer steps on one GPU (x GPUs)")
    ap.add_argument("--warmup", type=int, default=2, help="steps left out of the timing")
    ap.add_argument("--check-tokens", type=int, default=48)
    ap.add_argument("--run-timeout", type=int, default=900)
    ap.add_argument("--deadline-s", type=float, default=0, help="start no run after this")
    ap.add_argument("--smoke", action="store_true", help="tiny shape on the CPU")
    ap.add_argument("--keep-models", action="store_true", help="keep the made models on disk")
    args = ap.parse_args()
    if args.smoke:
        args.block_size = min(args.block_size, 512)
        args.steps = min(args.steps, 3)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    from common import gpus, versions

    ctx: dict = {"results": [], "shape_info": {}, "data": {}, "versions": versions(*LIBRARIES)}
    ctx["gpu_count"] = len(gpus())
    ctx["matmul_flops"] = float("nan") if args.smoke else helper(["--_matmul"], gpu="0")["flops"]
    if args.smoke:
        ctx["matmul_flops"] = 1e12  # a placeholder: MFU means nothing on the CPU
    summary = {
        "argv": sys.argv,
        "versions": ctx["versions"],
        "bf16_matmul_TFLOPs": ctx["matmul_flops"] / 1e12,
        "block_size": args.block_size,
        "results": ctx["results"],
        "shapes": ctx["shape_info"],
    }

    def save() -> None:
        summary["table"] = table(ctx["results"])
        (out / "gpu_train.json").write_text(json.dumps(summary, indent=2, default=str))

    print(
        json.dumps(ctx["versions"]), f"matmul {ctx['matmul_flops'] / 1e12:.0f} TFLOP/s", flush=True
    )
    first_shape = "smoke" if args.smoke else args.shape
    groups = [[x for x in g.split(",") if x] for g in args.runs.split(";")]
    groups = [g for g in groups if g]
    multi_left = sum(1 for g in groups for x in g if int(x.split(":")[0]) > 1)
    with MemSampler() as mem:
        ctx["mem"] = mem
        for group in groups:
            if args.deadline_s and time.time() - t_start > args.deadline_s:
                ctx["results"] += [{"spec": x, "skipped": "deadline"} for x in group]
                continue
            runs = [parse_spec(x, args, ctx) for x in group]
            todo = [r for r in runs if "skipped" not in r]
            ctx["results"] += [r for r in runs if "skipped" in r]
            for shape in dict.fromkeys(r["shape"] for r in todo):
                try:
                    ensure_shape(shape, args, ctx)
                except Exception as e:
                    for r in todo:
                        if r["shape"] == shape:
                            r["skipped"] = f"model/data: {e}"[-1500:]
                    ctx["results"] += [r for r in todo if r["shape"] == shape]
            todo = [r for r in todo if "skipped" not in r]
            offsets, off = [], 0
            for r in todo:
                offsets.append(off)
                off += r["gpus"] if not args.smoke else 0
            if off > max(ctx["gpu_count"], 1) and not args.smoke:
                ctx["results"] += [{**r, "skipped": "too few GPUs for the group"} for r in todo]
                continue
            for r in todo:
                r["concurrent_with"] = [x["spec"] for x in todo if x is not r]
            ctx["idle"] = MemSampler.read()
            mem.peak.clear()
            out_res: list[dict] = [{} for _ in todo]

            threads = [
                threading.Thread(target=_work, args=(out_res, k, todo[k], offsets[k], args, ctx))
                for k in range(len(todo))
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for res in out_res:
                ctx["results"].append(res)
                print(json.dumps(res, default=str), flush=True)
                if res.get("gpus", 1) > 1:
                    multi_left -= 1
            save()
            for res in out_res:
                if (
                    res.get("gpus", 1) > 1
                    and res.get("shape") == first_shape
                    and "output_dir" in res
                    and not any(
                        int(x.split(":")[0]) > 1
                        and ((x.split(":") + [""])[2] or args.shape) == args.shape
                        for g in groups[groups.index(group) + 1 :]
                        for x in g
                    )
                    and "checkpoint_check" not in ctx
                ):
                    try:
                        res["checkpoint_check"] = helper(
                            ["--_check", res["output_dir"], str(args.check_tokens)], gpu="0"
                        )
                    except Exception as e:
                        res["checkpoint_check"] = {"error": str(e)[-1500:]}
                    ctx["checkpoint_check"] = res["checkpoint_check"]
                    print("checkpoint check", res["checkpoint_check"], flush=True)
                    save()
            if not args.smoke:
                # free the disk (a 7B checkpoint is 15 GB; a full disk once failed a run's
                # final save), failed runs too; keep the logs
                for f in (WORK / "runs").glob("*/**/*.safetensors"):
                    f.unlink()
    if not args.smoke and not args.keep_models:
        for m in WORK.glob("model_*"):
            shutil.rmtree(m, ignore_errors=True)
    save()
    print("\n".join(summary["table"]))


if __name__ == "__main__":
    main()
