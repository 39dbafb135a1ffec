"""One optimizer step of `s1 train` profiled on one GPU, then each speed change measured
alone and the best combination, the losses compared: issue 25 in one device call.

    python3 bench/train/gpu_train_profile.py --out $OUT --deadline-s 420     # one H200, 1.5B shape
    python3 bench/train/gpu_train_profile.py --device cpu --shape tiny --steps 3 --loss-steps 4 \\
        --batch-size 4 --block-size 256 --variants base,nometrics,foreach   # the CPU check

What runs: a model of the shape (random weights, Qwen2.5 config, `gpu_train.make_model`)
and s1-format rows of a quarter of the block to the whole block (`gpu_train.make_data`)
are made there. Every variant is the library's run (`s1_train.train.build_trainer`, then
`trainer.train()`: what `s1 train` runs, without the final save) in a process of its own,
the s1 recipe at the given block and effective batch with the GPU defaults (padding-free
micro-batches, selective checkpointing) and TRL's metrics on (`base`: the plain recipe as it
was), plus one change (VARIANTS). Each step is timed between the ends of consecutive
optimizer steps with the device synced (data, forward/backward, optimizer, logging: all
of it); the first `--warmup` steps and the profiled step are left out; median, min and max
of the rest. MFU = tokens/s x (6N + 12 L H S) / the bf16 matmul rate measured there (S the
data's token-weighted mean length), as bench/train/gpu_train.md. Peak memory: rank 0's
`max_memory_allocated`, against the plan (`s1_train.plan`) at the run's largest micro-batch.

`base` runs `--loss-steps` steps (the loss curve everything is compared with) and its step
`--warmup + 1` is profiled (torch.profiler; `profile_trace` groups where the time went).
Each change alone runs `--steps`; the changes at least 2% faster (median) with losses
within `--loss-tolerance` of base's are combined (as long as the plan says the combination
fits the GPU) and that `best` runs `--loss-steps` and is profiled too. `--deadline-s`: no
run starts after it; `--budget-s`: every run ends by it (a run that would not leave the
best combination its time is skipped; a killed run keeps the steps it logged).
Writes `gpu_train_profile.json` (and the two profiles' traces, gzipped) to --out.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(HERE.parent), str(HERE)]  # its packages; common; gpu_train
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
T0 = time.time()  # this process's start (a variant's startup: imports, data, model)

SHAPE_NAMES = {"tiny": "smoke", "0.5b": "0.5b", "1.5b": "1.5b", "7b": "7b"}
# the plain recipe on a GPU before issue 25: TRL's chunked head with its metrics, fused AdamW
BASE = {
    "gradient_checkpointing": True,
    "token_metrics": True,
    "loss_kernel": "chunked",
    "optimizer": "fused",
    "compile_layers": False,
    "bounds_once": False,  # the bench's own: s1_varlen read its boundaries in every layer
}
# each change alone, in the order they run (the likeliest gains first)
VARIANTS: dict[str, dict] = {
    "base": {},
    "bounds-once": {"bounds_once": True},  # s1_varlen reads them once a micro-batch
    "nogc": {"gradient_checkpointing": False},  # no recomputation, if the memory allows
    "liger-ce": {"loss_kernel": "liger"},  # Liger's fused linear cross-entropy
    "nometrics": {"token_metrics": False},  # no per-token entropy/accuracy, no syncs
    "liger": {"liger": True},  # Liger's RMSNorm, SwiGLU, RoPE kernels
    "compile": {"compile_layers": True},  # torch.compile of each decoder layer
    "mb8": {"per_device_batch_size": 8},  # 8 sequences a micro-batch (x 2)
    "foreach": {"optimizer": "foreach"},
}
BENCH_ONLY = ("bounds_once",)  # settings of this bench, not of `s1 train`
EXTRA_S = {"compile": 150.0}  # compile time on top of the steps (a guess, for the budget)
WORK = Path(os.environ.get("S1_GPU_PROFILE_WORK", "/tmp/s1_gpu_profile"))


# ----- in the variant's own process ---------------------------------------------------------
def annotate_for_profile(trainer) -> None:
    """record_function ranges the profile table groups by: the loss head (TRL's chunked
    head, forward and backward) and gradient clipping (AdamW's step has its own)."""
    from torch.profiler import record_function

    try:
        from trl.kernels import ChunkedLogProbFunction as F
    except ImportError:
        F = None
    if F is not None and not getattr(F, "_s1_annotated", False):
        fwd, bwd = F.forward, F.backward

        def forward(ctx, *a, **k):
            with record_function("s1:lm_head+loss"):
                return fwd(ctx, *a, **k)

        def backward(ctx, *a):
            with record_function("s1:lm_head+loss"):
                return bwd(ctx, *a)

        F.forward, F.backward, F._s1_annotated = staticmethod(forward), staticmethod(backward), True
    clip = trainer._clip_grad_norm

    def clip_grad_norm(*a, **k):
        with record_function("s1:clip_grad_norm"):
            return clip(*a, **k)

    trainer._clip_grad_norm = clip_grad_norm


def _boundaries_every_layer(kwargs: dict) -> list[int] | None:
    """s1_varlen's boundaries as they were read before issue 25: in every layer."""
    from s1_train.attention import _read

    cu = kwargs.get("cu_seq_lens_q")
    return None if cu is None else _read(cu)


def run_variant(spec: dict) -> None:
    """Train `spec["steps"]` steps; every step's record appended to spec["log"] at once."""
    from dataclasses import replace

    import torch
    from transformers import TrainerCallback

    from s1_train import plan
    from s1_train.shapes import shape_from_config
    from s1_train.train import build_trainer, resolve_config

    cuda = torch.cuda.is_available()
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    log = Path(spec["log"])
    cfg = dict(spec["config"])
    if not cfg.pop("bounds_once", True):  # as before issue 25: a device wait in every layer
        from s1_train import attention

        attention._boundaries = _boundaries_every_layer
    config = resolve_config(None, cfg)
    config.validate()
    trainer, data, info = build_trainer(config)
    annotate_for_profile(trainer)
    tokens: list[int] = []
    step_tokens: list[int] = []
    train_step = trainer.training_step

    def training_step(model, inputs, *a, **k):
        n = inputs["position_ids"].size(1) if "attention_mask" not in inputs else None
        n = n if n is not None else int(inputs["attention_mask"].sum())
        tokens.append(int(n))
        step_tokens.append(int(n))
        return train_step(model, inputs, *a, **k)

    trainer.training_step = training_step
    prof_step = spec.get("profile_step") or 0
    state = {"t": None, "prof": None, "prof_t0": None, "losses": {}}

    def write(rec: dict) -> None:
        with log.open("a") as f:
            f.write(json.dumps(rec) + "\n")

    class Timer(TrainerCallback):
        def on_train_begin(self, args, st, control, **kw):  # noqa: ANN001
            sync()
            state["t"] = time.perf_counter()
            write({"event": "start", "startup_s": time.time() - T0})

        def on_step_begin(self, args, st, control, **kw):  # noqa: ANN001
            if st.global_step + 1 == prof_step:
                from torch.profiler import ProfilerActivity, profile

                acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
                state["prof"] = profile(activities=acts)
                sync()
                state["prof"].__enter__()
                state["prof_t0"] = time.perf_counter()

        def on_step_end(self, args, st, control, **kw):  # noqa: ANN001
            sync()
            now = time.perf_counter()
            rec = {"step": st.global_step, "s": now - state["t"], "tokens": sum(step_tokens)}
            rec["micro_max"] = max(step_tokens) if step_tokens else 0
            if state["prof"] is not None:
                rec["profiled"] = True
                rec["profiled_s"] = now - state["prof_t0"]
                state["prof"].__exit__(None, None, None)
                state["trace"] = str(log.with_suffix(".trace.json"))
                state["prof"].export_chrome_trace(state["trace"])
                state["prof"] = None
                sync()
                now = time.perf_counter()  # the export is not the next step's time
            if cuda:
                rec["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
            state["pending"] = rec
            step_tokens.clear()
            state["t"] = now
            if st.global_step >= spec.get("stop_after", 1 << 30):
                control.should_training_stop = True  # the schedule is the loss run's
            return control

        def on_log(self, args, st, control, logs=None, **kw):  # noqa: ANN001
            rec = state.pop("pending", None)
            if rec is not None and logs and "loss" in logs:
                rec["loss"] = logs["loss"]
                rec["metrics"] = sorted(k for k in ("entropy", "mean_token_accuracy") if k in logs)
                write(rec)

    trainer.add_callback(Timer())
    trainer.train()
    shape = shape_from_config(trainer.model.config)
    setup = plan.setup_for(config, 1, fsdp=False)
    est = plan.estimate(shape, replace(setup, tokens=max(tokens)))
    result = {
        "event": "done",
        "speed": info["speed"],
        "padding_free": info["padding_free"],
        "per_device": info["per_device"],
        "accum": info["accum"],
        "selective_checkpointing": info["selective_checkpointing"],
        "max_micro_tokens": max(tokens),
        "plan_gib_at_max_micro": est.total / 2**30,
        "plan_parts_gib": {k: v / 2**30 for k, v in est.parts.items()},
        "gpu": torch.cuda.get_device_name() if cuda else "cpu",
        "gpu_gib": torch.cuda.get_device_properties(0).total_memory / 2**30 if cuda else None,
        "trace": state.get("trace"),
    }
    if cuda:
        result["peak_alloc_gib"] = torch.cuda.max_memory_allocated() / 2**30
    write(result)


# ----- the orchestrator (holds no device context) -------------------------------------------
def helper(argv: list[str], timeout: float = 900) -> dict:
    p = subprocess.run(
        [sys.executable, __file__, *argv],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        timeout=timeout,
    )
    if p.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def make(shape: str, block: int, rows: int) -> dict:
    """The model, the data and the matmul rate (in a helper process: CUDA lives there)."""
    import gpu_train

    model, data = WORK / f"model_{shape}", WORK / f"data_{shape}_{block}.jsonl"
    info = gpu_train.make_model(SHAPE_NAMES[shape], model)
    info["data"] = gpu_train.make_data(model, rows, block, data)
    info["matmul_flops"] = gpu_train.matmul_rate()
    info["model"], info["data_path"] = str(model), str(data)
    return info


def stats(steps: list[dict], warmup: int) -> dict:
    timed = [r for r in steps if r["step"] > warmup and not r.get("profiled")]
    if not timed:
        return {"timed_steps": 0}
    secs = [r["s"] for r in timed]
    rates = [r["tokens"] / r["s"] for r in timed]
    return {
        "timed_steps": len(timed),
        "step_s_median": statistics.median(secs),
        "step_s_min": min(secs),
        "step_s_max": max(secs),
        "tokens_per_s_median": statistics.median(rates),
        "tokens_per_s_all": sum(r["tokens"] for r in timed) / sum(secs),
        "tokens_per_step": statistics.mean(r["tokens"] for r in timed),
    }


def loss_gap(a: list[float], b: list[float]) -> float | None:
    """The largest relative difference over the steps both have."""
    both = list(zip(a, b))
    return max(abs(x - y) / abs(x) for x, y in both) if both else None


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.t0 = time.time()
        self.results: dict[str, dict] = {}

    def left(self) -> float:
        return self.args.budget_s - (time.time() - self.t0)

    def config(self, name: str, changes: dict, steps: int) -> dict:
        a = self.args
        cfg = {
            "dataset": self.info["data_path"],
            "model": self.info["model"],
            "output_dir": str(WORK / "runs" / name),
            "block_size": a.block_size,
            "batch_size": a.batch_size,
            # every run on the loss run's schedule (its learning rate at each step), so
            # that the first steps' losses compare; a shorter run stops early
            "max_steps": max(steps, a.loss_steps),
            "epochs": 100,
            "save_steps": 1_000_000,
            "logging_steps": 1,
            "progress": False,
            "resume": False,
            "overwrite": True,
            "bf16": a.device == "cuda",
            "seed": 42,
            **BASE,
            **changes,
        }
        if a.device == "cpu":  # the GPU defaults, on the CPU check too
            cfg.setdefault("padding_free", True)
            cfg.setdefault("selective_checkpointing", cfg["gradient_checkpointing"])
        return cfg

    def estimate_s(self, name: str, steps: int) -> float:
        base = self.results.get("base", {})
        per = base.get("step_s_median") or 10.0
        return base.get("startup_s", 60.0) + steps * per * 1.1 + EXTRA_S.get(name, 0.0)

    def run(self, name: str, changes: dict, steps: int, profile: bool) -> dict:
        a = self.args
        log = WORK / "runs" / f"{name}.steps.jsonl"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.unlink(missing_ok=True)
        spec = {
            "config": self.config(name, changes, steps),
            "log": str(log),
            "profile_step": a.warmup + 1 if profile else 0,
            "stop_after": steps,
        }
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if a.device == "cpu":
            env["CUDA_VISIBLE_DEVICES"] = ""
        t = time.time()
        res: dict = {"name": name, "changes": changes, "steps_asked": steps}
        print(f"== {name}: {json.dumps(changes)}, {steps} steps", flush=True)
        try:
            p = subprocess.run(
                [sys.executable, __file__, "--_variant", json.dumps(spec)],
                capture_output=True,
                text=True,
                cwd=str(ROOT),
                env=env,
                timeout=max(10.0, self.left()),
            )
            if p.returncode != 0:
                res["error"] = p.stderr[-1500:]
            (WORK / "runs" / f"{name}.log").write_text(p.stdout + "\n----\n" + p.stderr)
        except subprocess.TimeoutExpired:
            res["error"] = (
                f"killed at the budget ({a.budget_s:.0f} s) after {time.time() - t:.0f} s"
            )
        res["wall_s"] = time.time() - t
        recs = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
        steps_done = [r for r in recs if "step" in r]
        for r in recs:
            if r.get("event") == "start":
                res["startup_s"] = r["startup_s"]
            if r.get("event") == "done":
                res.update({k: v for k, v in r.items() if k != "event"})
        res["steps"] = steps_done
        res["losses"] = [r["loss"] for r in steps_done]
        res.update(stats(steps_done, a.warmup + (1 if name == "compile" else 0)))
        if "tokens_per_s_median" in res:
            res["mfu_median"] = res["tokens_per_s_median"] * self.fpt / self.info["matmul_flops"]
        if res.get("peak_alloc_gib") and res.get("plan_gib_at_max_micro"):
            res["plan_over_measured"] = res["plan_gib_at_max_micro"] / res["peak_alloc_gib"]
        if res.get("trace") and Path(res["trace"]).exists():
            from profile_trace import summarize, table

            prof = next((r for r in steps_done if r.get("profiled")), None)
            trace = json.loads(Path(res["trace"]).read_text())
            res["profile"] = summarize(trace, wall_us=prof["profiled_s"] * 1e6 if prof else None)
            res["profile_table"] = table(res["profile"])
            print("\n".join(res["profile_table"]), flush=True)
            gz = Path(a.out) / f"trace_{name}.json.gz"
            with gzip.open(gz, "wt", compresslevel=4) as f:
                json.dump(trace, f)
            if gz.stat().st_size > 15 * 2**20:
                gz.unlink()
        base = self.results.get("base")
        if base and name != "base":
            res["loss_gap_vs_base"] = loss_gap(base["losses"], res["losses"])
            if res.get("step_s_median") and base.get("step_s_median"):
                res["speedup_median"] = base["step_s_median"] / res["step_s_median"]
        self.results[name] = res
        print(
            json.dumps(
                {k: v for k, v in res.items() if k not in ("steps", "profile", "profile_table")},
                default=str,
            ),
            flush=True,
        )
        self.save()
        return res

    def skip(self, name: str, why: str) -> None:
        self.results[name] = {"name": name, "skipped": why}
        print(f"== {name}: skipped ({why})", flush=True)

    def best_changes(self) -> tuple[dict, list[str]]:
        """The changes that helped (>= 2% median, same losses), while the plan says it fits."""
        from s1_train import plan
        from s1_train.config import TrainConfig
        from s1_train.shapes import KNOWN

        good = [
            (r["speedup_median"], n)
            for n, r in self.results.items()
            if n != "base"
            and not r.get("error")
            and r.get("speedup_median", 0) >= 1.02
            and (
                r.get("loss_gap_vs_base") is not None
                and r["loss_gap_vs_base"] <= self.args.loss_tolerance
            )
        ]
        picked = [n for _, n in sorted(good, reverse=True)]
        gpu_gib = self.results["base"].get("gpu_gib")
        shape = KNOWN.get(f"qwen2.5-{self.args.shape}")
        while picked and gpu_gib and shape:
            changes = {k: v for n in picked for k, v in VARIANTS[n].items()}
            cfg = TrainConfig(
                **{k: v for k, v in self.config("best", changes, 1).items() if k not in BENCH_ONLY}
            )
            if plan.estimate(shape, plan.setup_for(cfg, 1, fsdp=False)).fits(gpu_gib):
                break
            picked.pop()  # the smallest gain goes first
        return {k: v for n in picked for k, v in VARIANTS[n].items()}, picked

    def main(self) -> None:
        a = self.args
        import gpu_train
        from common import versions

        names = [n for n in a.variants.split(",") if n]
        unknown = [n for n in names if n not in VARIANTS]
        if unknown:
            raise SystemExit(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
        WORK.mkdir(parents=True, exist_ok=True)
        Path(a.out).mkdir(parents=True, exist_ok=True)
        rows = max(a.steps, a.loss_steps) * a.batch_size + 16
        env_cpu = {"CUDA_VISIBLE_DEVICES": ""} if a.device == "cpu" else {}
        os.environ.update(env_cpu)
        t = time.time()
        self.info = helper(["--_make", a.shape, str(a.block_size), str(rows)])
        self.info["prep_s"] = time.time() - t
        s = gpu_train.SHAPES[SHAPE_NAMES[a.shape]]
        lw = self.info["data"]["token_weighted_mean_len"]
        self.fpt = 6 * self.info["params"] + 12 * s["layers"] * s["hidden"] * lw
        if a.device == "cpu":
            self.info["matmul_flops"] = 1e12  # a placeholder: MFU means nothing on a CPU
        self.summary = {
            "argv": sys.argv,
            "versions": versions(*gpu_train.LIBRARIES),
            "host": platform.node(),
            "bf16_matmul_TFLOPs": self.info["matmul_flops"] / 1e12,
            "shape": a.shape,
            "model_info": self.info,
            "flops_per_token": self.fpt,
            "base_settings": BASE,
            "results": self.results,
        }
        print(
            json.dumps(self.summary["versions"]),
            f"matmul {self.info['matmul_flops'] / 1e12:.0f} TFLOP/s",
            flush=True,
        )
        liger = importable("liger_kernel")
        for name in ["base"] + [n for n in names if n != "base"]:
            elapsed = time.time() - self.t0
            steps = a.loss_steps if name == "base" else a.steps
            if name.startswith("liger") and not liger:
                self.skip(name, "liger-kernel is not installed")
            elif (
                name == "liger-ce"
                and a.device == "cpu"
                and os.environ.get("TRITON_INTERPRET") != "1"
            ):
                self.skip(name, "Liger's Triton kernels need a GPU")
            elif name != "base" and a.deadline_s and elapsed > a.deadline_s:
                self.skip(name, f"deadline ({a.deadline_s:.0f} s) passed")
            elif (
                name != "base"
                and self.estimate_s(name, steps) + self.estimate_s("best", a.loss_steps)
                > self.left()
            ):
                self.skip(name, "it would leave the best combination too little of the budget")
            else:
                self.run(name, VARIANTS[name], steps, profile=name == "base")
            if name == "base" and "step_s_median" not in self.results["base"]:
                break  # nothing to compare with
        base = self.results["base"]
        if a.best:  # named: e.g. measured alone in an earlier run of this bench
            picked = [n for n in a.best.split(",") if n]
            changes = {k: v for n in picked for k, v in VARIANTS[n].items()}
        else:
            changes, picked = self.best_changes() if "step_s_median" in base else ({}, [])
        self.summary["best"] = {"changes": changes, "of": picked}
        left_steps = int(
            (self.left() - self.estimate_s("", 0)) / ((base.get("step_s_median") or 10) * 1.1)
        )
        steps = min(a.loss_steps, left_steps)
        if not picked:
            self.skip("best", "no change helped by 2% with the same losses")
        elif a.deadline_s and time.time() - self.t0 > a.deadline_s + 60:
            self.skip("best", "deadline passed")
        elif steps < min(a.loss_steps, a.warmup + 5):
            self.skip("best", f"too little of the budget left ({self.left():.0f} s)")
        else:
            self.run("best", changes, steps, profile=True)
        self.save()
        print("\n".join(self.summary["table"]))

    def save(self) -> None:
        self.summary["table"] = table(self.results, self.args)
        self.summary["elapsed_s"] = time.time() - self.t0
        (Path(self.args.out) / "gpu_train_profile.json").write_text(
            json.dumps(self.summary, indent=2, default=str)
        )


def importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def table(results: dict[str, dict], args: argparse.Namespace) -> list[str]:
    head = (
        f"{'variant':10s} {'steps':>5s} {'median s (min-max)':>20s} {'tok/s':>8s} {'MFU':>6s} "
        f"{'x base':>6s} {'peak GiB (plan)':>16s} {'loss gap':>9s}"
    )
    lines = [head]
    for n, r in results.items():
        if "step_s_median" not in r:
            why = r.get("skipped") or (r.get("error") or "no timed step")[-90:].replace("\n", " ")
            lines.append(f"{n:10s} -- {why}")
            continue
        peak = r.get("peak_alloc_gib")
        mem = f"{peak:.1f} ({r['plan_gib_at_max_micro']:.1f})" if peak else "-"
        gap = r.get("loss_gap_vs_base")
        lines.append(
            f"{n:10s} {len(r['steps']):5d} {r['step_s_median']:8.3f} ({r['step_s_min']:.2f}-{r['step_s_max']:.2f})"
            f" {r['tokens_per_s_median']:8.0f} {100 * r.get('mfu_median', 0):5.1f}% "
            f"{r.get('speedup_median', 1.0):6.2f} {mem:>16s} "
            + (f"{gap:9.2e}" if gap is not None else f"{'-':>9s}")
        )
    lines.append(f"losses (first {args.loss_steps} steps):")
    for n, r in results.items():
        if r.get("losses"):
            lines.append(f"  {n:9s} " + " ".join(f"{x:.4f}" for x in r["losses"]))
    return lines


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--_make":
        print(json.dumps(make(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--_variant":
        run_variant(json.loads(sys.argv[2]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/gpu_train_profile_out"))
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--shape", default="1.5b", choices=sorted(SHAPE_NAMES))
    ap.add_argument("--block-size", type=int, default=8192)
    ap.add_argument("--batch-size", type=int, default=16, help="the effective batch (sequences)")
    ap.add_argument("--steps", type=int, default=8, help="steps of each change alone")
    ap.add_argument("--loss-steps", type=int, default=20, help="steps of base and best")
    ap.add_argument("--warmup", type=int, default=2, help="steps left out of the timing")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="in this order; base first")
    ap.add_argument(
        "--best", default="", help="the combination to run as best (variants), not picked here"
    )
    ap.add_argument("--loss-tolerance", type=float, default=0.01, help="relative, any step")
    ap.add_argument("--deadline-s", type=float, default=420, help="no run starts after this")
    ap.add_argument("--budget-s", type=float, default=530, help="every run ends by this")
    args = ap.parse_args()
    if args.steps < args.warmup + 5 and args.device == "cuda":
        ap.error(f"--steps must leave >= 5 timed steps after --warmup {args.warmup}")
    Bench(args).main()


if __name__ == "__main__":
    main()
