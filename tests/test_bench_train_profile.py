"""bench/train/gpu_train_profile.py on the CPU (tiny shape), so the GPU call it is written for
does not fail on a typo, and its trace summary on a GPU-like trace made here."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "train"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCH))
    spec.loader.exec_module(mod)
    return mod


def kernel(name: str, ts: float, dur: float, corr: int) -> dict:
    return {
        "ph": "X",
        "cat": "kernel",
        "name": name,
        "ts": ts,
        "dur": dur,
        "pid": 1,
        "tid": 7,
        "args": {"correlation": corr},
    }


def launch(ts: float, corr: int, tid: int = 1) -> dict:
    return {
        "ph": "X",
        "cat": "cuda_runtime",
        "name": "cudaLaunchKernel",
        "ts": ts,
        "dur": 2,
        "pid": 0,
        "tid": tid,
        "args": {"correlation": corr},
    }


def test_trace_summary_groups_kernels_by_launcher_then_name() -> None:
    """The GEMMs of the LM head (launched inside its record_function range) count as the
    loss head, other GEMMs as matmuls; gaps between kernels are the idle time."""
    pt = load("profile_trace")
    events = [
        {
            "ph": "X",
            "cat": "user_annotation",
            "name": "s1:lm_head+loss",
            "ts": 100,
            "dur": 50,
            "pid": 0,
            "tid": 1,
        },
        {
            "ph": "X",
            "cat": "user_annotation",
            "name": "Optimizer.step#AdamW.step",
            "ts": 300,
            "dur": 20,
            "pid": 0,
            "tid": 1,
        },
        launch(10, 1),
        kernel("sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x256x64", 1000, 400, 1),
        launch(20, 2),
        kernel("void pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<128>>", 1400, 300, 2),
        launch(110, 3),
        kernel("nvjet_tst_128x256_64x4_1x2_h_bz_coopA_NTT", 1800, 200, 3),
        launch(120, 4),
        kernel("_forward_kernel", 2000, 50, 4),
        launch(200, 5),
        kernel("void at::native::vectorized_elementwise_kernel<4, at::native::silu>", 2100, 100, 5),
        launch(305, 6),
        kernel("void at::native::multi_tensor_apply_kernel<FusedAdamMathFunctor>", 2300, 100, 6),
        launch(400, 7),
        kernel("Memcpy DtoH (Device -> Pinned)", 2500, 5, 7),
        {
            "ph": "X",
            "cat": "cuda_runtime",
            "name": "cudaStreamSynchronize",
            "ts": 401,
            "dur": 90,
            "pid": 0,
            "tid": 1,
        },
        launch(410, 8),
        kernel("_rms_norm_forward_kernel", 2600, 40, 8),
    ]
    s = pt.summarize({"traceEvents": events}, wall_us=2000)
    assert s["device"] == "gpu" and s["items"] == 8
    g = s["groups_us"]
    assert g["matmul"] == 400 and g["attention"] == 300
    assert g["loss head (LM head + loss)"] == 250  # the head's GEMM + TRL's fold kernel
    assert g["norm/activation/rope"] == 140  # SiLU, and Liger's norm despite its name
    assert g["optimizer (clip + AdamW)"] == 100 and g["copy/memory"] == 5
    assert s["busy_us"] == 1195 and s["idle_us"] == 805  # 1000 before, 100 + 50 + ... between
    assert s["syncs"] == 1 and s["device_to_host_copies"] == 1
    assert s["top"][0]["name"].startswith("sm90_xmma_gemm")
    lines = pt.table(s)
    assert lines[0].startswith("one step: 2.0 ms wall, kernels busy 1.2 ms (59.8%)")
    assert any(x.startswith("idle (launch gaps, syncs)") and "40.2%" in x for x in lines)


def test_classify_names_of_both_devices() -> None:
    pt = load("profile_trace")
    assert pt.classify("aten::mm") == pt.classify("cutlass_80_wmma_tensorop_bf16_gemm") == "matmul"
    assert pt.classify("aten::_scaled_dot_product_flash_attention") == "attention"
    assert pt.classify("ncclDevKernel_AllGather_RING_LL") == "communication"
    assert pt.classify("triton_poi_fused_add_mul_0") == "elementwise/reduce"
    assert pt.classify("liger_cross_entropy_kernel") == "loss head (LM head + loss)"
    assert pt.union_us([(0, 10), (5, 20), (30, 40)]) == (30.0, [10])


def test_profile_script_runs_end_to_end_on_the_cpu(tmp_path: Path) -> None:
    """The lead's GPU command in miniature: make the model and data, profile base's step,
    each change alone, losses compared, the best combination, one JSON."""
    out = tmp_path / "out"
    cmd = [sys.executable, str(BENCH / "gpu_train_profile.py"), "--device", "cpu"]
    cmd += ["--shape", "tiny", "--steps", "3", "--loss-steps", "4", "--warmup", "1"]
    cmd += ["--batch-size", "4", "--block-size", "256", "--out", str(out)]
    cmd += ["--variants", "base,nometrics,nogc,liger-ce", "--deadline-s", "400"]
    env = {**os.environ, "S1_GPU_PROFILE_WORK": str(tmp_path / "work"), "HF_HUB_OFFLINE": "1"}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    env.pop("TRITON_INTERPRET", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "gpu_train_profile.json").read_text())
    res = summary["results"]
    base = res["base"]
    assert len(base["losses"]) == 4 and base["timed_steps"] == 2  # 4 - warm-up - profiled
    assert base["speed"]["token_metrics"] is True and base["padding_free"]
    prof = base["profile"]
    assert prof["device"] == "cpu" and prof["items"] > 100
    assert prof["groups_us"].get("loss head (LM head + loss)", 0) > 0  # TRL's head annotated
    assert (out / "trace_base.json.gz").exists()
    for name in ("nometrics", "nogc"):
        r = res[name]
        assert len(r["losses"]) == 3 and r["timed_steps"] == 2 and not r.get("error")
        assert r["loss_gap_vs_base"] <= 1e-5 and r["speedup_median"] > 0
    assert res["nometrics"]["speed"]["token_metrics"] is False
    assert res["nogc"]["selective_checkpointing"] is False
    assert res["liger-ce"]["skipped"]  # not installed, or no Triton without a GPU
    best = res["best"]
    if "skipped" not in best:  # a change was >= 2% faster on this shared CPU
        assert best["changes"] and best["loss_gap_vs_base"] <= 1e-5
        assert best["profile"]["items"] > 100
    assert (
        summary["table"][0].startswith("variant") and "losses (first 4 steps):" in summary["table"]
    )
    assert "base " in proc.stdout and "one step:" in proc.stdout


@pytest.mark.parametrize("bad", [["--variants", "base,warp"], ["--steps", "3"]])
def test_profile_script_refuses_bad_arguments(bad: list[str], tmp_path: Path) -> None:
    cmd = [sys.executable, str(BENCH / "gpu_train_profile.py"), "--out", str(tmp_path), *bad]
    env = {**os.environ, "S1_GPU_PROFILE_WORK": str(tmp_path / "work")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode != 0
    assert "warp" in proc.stderr or "--steps must leave >= 5 timed steps" in proc.stderr
