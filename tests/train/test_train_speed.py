"""The training-speed options: each trains the tiny recipe to the same losses (real TRL
steps on a tiny random Qwen2, fp32 on the CPU), and does what it says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s1_train.train import resolve_config, run

ROOT = Path(__file__).resolve().parents[2]
STEPS = 4


def settings(model: Path, data: Path, out: Path, **opts: object) -> dict:
    return {
        "dataset": str(data),
        "model": str(model),
        "output_dir": str(out),
        "max_steps": STEPS,
        "batch_size": 8,
        "per_device_batch_size": 4,
        "block_size": 512,
        "learning_rate": 1e-3,
        "warmup_ratio": 0.0,
        "progress": False,
        "save_steps": 100,
        "logging_steps": 1,
        **opts,
    }


def train(model: Path, data: Path, out: Path, log: list | None = None, **opts: object):
    report = run(
        resolve_config(None, settings(model, data, out, **opts)),
        log=log.append if log is not None else None,
    )
    rows = [json.loads(x) for x in (out / "loss_log.jsonl").read_text().splitlines()]
    assert len(rows) == STEPS
    return report, rows


def same_losses(a: list[dict], b: list[dict], rel: float) -> None:
    for x, y in zip(a, b):
        assert abs(x["loss"] - y["loss"]) <= rel * abs(x["loss"]), (x["loss"], y["loss"])
        assert x["num_tokens"] == y["num_tokens"]  # TRL's token count kept (tokens/s)


@pytest.fixture(scope="module")
def plain(tiny_random_model: Path, synthetic_jsonl: Path, tmp_path_factory: pytest.TempPathFactory):
    """The tiny recipe as it trains by default on the CPU (TRL's chunked head, metrics on)."""
    log: list[str] = []
    report, rows = train(tiny_random_model, synthetic_jsonl, tmp_path_factory.mktemp("plain"), log)
    assert report["speed"] == {
        "loss_kernel": "chunked",
        "token_metrics": True,
        "optimizer": "fused",
        "compile_layers": False,
    }
    plan = [m for m in log if m.startswith("memory plan:")]  # the one line before training
    assert len(plan) == 1 and "x 16.00 B (no sharding)" in plan[0] and "(on the CPU)" in plan[0]
    return rows


def test_full_logits_and_no_metrics_train_the_same_losses(
    plain: list[dict], tiny_random_model: Path, synthetic_jsonl: Path, tmp_path: Path
) -> None:
    """The model's own loss on the full logits, and TRL's chunked head without its per-token
    metrics (the GPU default), give the chunked head's losses; the metrics go and come."""
    assert all("entropy" in r and "mean_token_accuracy" in r for r in plain)
    _, logits = train(tiny_random_model, synthetic_jsonl, tmp_path / "a", loss_kernel="logits")
    same_losses(plain, logits, 1e-5)
    for x, y in zip(plain, logits):  # the same metrics, computed from the logits
        assert x["entropy"] == pytest.approx(y["entropy"], rel=1e-4)
        assert x["mean_token_accuracy"] == pytest.approx(y["mean_token_accuracy"], abs=1e-6)
    report, quiet = train(tiny_random_model, synthetic_jsonl, tmp_path / "b", token_metrics=False)
    assert report["speed"]["token_metrics"] is False
    same_losses(plain, quiet, 1e-5)
    assert not any("entropy" in r or "mean_token_accuracy" in r for r in quiet)


def test_padding_free_without_metrics_counts_tokens_without_a_sync(
    tiny_random_model: Path, synthetic_jsonl: Path, tmp_path: Path
) -> None:
    """Padding-free rows (the GPU default): the token count comes from the row's length."""
    pf = {"padding_free": True}
    _, with_metrics = train(tiny_random_model, synthetic_jsonl, tmp_path / "a", **pf)
    _, without = train(
        tiny_random_model, synthetic_jsonl, tmp_path / "b", token_metrics=False, **pf
    )
    same_losses(with_metrics, without, 1e-5)


def test_foreach_adamw_trains_the_fused_losses(
    plain: list[dict], tiny_random_model: Path, synthetic_jsonl: Path, tmp_path: Path
) -> None:
    from s1_train.train import build_trainer

    config = resolve_config(None, settings(tiny_random_model, synthetic_jsonl, tmp_path / "o"))
    for name, want in (("fused", "fused"), ("foreach", "foreach")):
        trainer, _, _ = build_trainer(config.with_overrides({"optimizer": name}))
        opt = trainer.create_optimizer()
        assert opt.defaults[want] is True and opt.defaults["betas"] == (0.9, 0.95)
    report, rows = train(tiny_random_model, synthetic_jsonl, tmp_path / "a", optimizer="foreach")
    assert report["speed"]["optimizer"] == "foreach"
    same_losses(plain, rows, 1e-5)


def test_compiled_layers_train_the_same_losses(
    plain: list[dict], tiny_random_model: Path, synthetic_jsonl: Path, tmp_path: Path
) -> None:
    import torch._dynamo

    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    report, rows = train(tiny_random_model, synthetic_jsonl, tmp_path / "a", compile_layers=True)
    assert report["speed"]["compile_layers"] is True
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 1  # it did compile
    same_losses(plain, rows, 1e-4)


def test_liger_loss_needs_its_package_and_a_gpu(
    tiny_random_model: Path, synthetic_jsonl: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Refused in one line before any model loads: no package, or no GPU (Triton)."""
    from s1_cli.main import main

    argv = ["train", str(synthetic_jsonl), "-m", str(tiny_random_model), "-o", str(tmp_path)]
    assert main([*argv, "--loss-kernel", "liger"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: --loss-kernel liger"), err
    assert "needs the liger-kernel package" in err or "need a GPU" in err
    assert not (tmp_path / "loss_log.jsonl").exists()


def test_liger_loss_trains_the_same_losses_under_the_triton_interpreter(
    plain: list[dict], tiny_random_model: Path, synthetic_jsonl: Path, tmp_path: Path
) -> None:
    """Liger's fused linear cross-entropy, its Triton kernels interpreted on the CPU
    (TRITON_INTERPRET=1, read when Triton compiles, so in a process of its own)."""
    pytest.importorskip("liger_kernel")
    out = tmp_path / "liger"
    argv = [sys.executable, "-m", "s1_cli.main", "train", str(synthetic_jsonl)]
    argv += ["-m", str(tiny_random_model), "-o", str(out), "--loss-kernel", "liger"]
    opts = settings(tiny_random_model, synthetic_jsonl, out)
    for key in ("max_steps", "batch_size", "per_device_batch_size", "block_size", "save_steps"):
        argv += [f"--{key.replace('_', '-')}", str(opts[key])]
    argv += ["--lr", "1e-3", "--warmup-ratio", "0", "--no-progress", "--logging-steps", "1"]
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(x) for x in (out / "loss_log.jsonl").read_text().splitlines()]
    same_losses(plain, rows, 1e-5)
    for x, y in zip(plain, rows):  # Liger's accuracy, no entropy
        assert y["mean_token_accuracy"] == pytest.approx(x["mean_token_accuracy"], abs=1e-6)
        assert "entropy" not in y
