"""Padding-free training: the packed attention equals per-sequence attention, and a run uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def packed_logits(model, seqs: list) -> object:  # noqa: ANN001
    """The logits of `seqs` packed into one row, their boundaries passed as TRL passes them."""
    import torch

    lengths = [len(s) for s in seqs]
    cu = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32)
    with torch.no_grad():
        return model(
            input_ids=torch.cat(seqs)[None],
            position_ids=torch.cat([torch.arange(n) for n in lengths])[None],
            cu_seq_lens_q=cu,
            cu_seq_lens_k=cu,
            max_length_q=max(lengths),
            max_length_k=max(lengths),
        ).logits


def test_packed_rows_give_the_logits_of_separate_rows(tiny_random_model: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from s1_train.attention import register

    name = register()
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(
        str(tiny_random_model), dtype=torch.float32, attn_implementation=name
    ).eval()
    lengths = [7, 12, 5]
    seqs = [torch.randint(10, 200, (n,)) for n in lengths]
    got = packed_logits(model, seqs)[0]
    with torch.no_grad():
        want = torch.cat([model(input_ids=s[None]).logits[0] for s in seqs])
        # a padded batch (attention mask) still goes through SDPA with its mask
        padded = torch.zeros(2, 12, dtype=torch.long)
        padded[0, :7], padded[1] = seqs[0], seqs[1]
        mask = torch.zeros(2, 12, dtype=torch.long)
        mask[0, :7], mask[1] = 1, 1
        both = model(input_ids=padded, attention_mask=mask).logits
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()
    assert torch.allclose(both[0, :7], want[:7], atol=1e-5)
    assert torch.allclose(both[1], want[7:19], atol=1e-5)


def test_padding_free_run_logs_time_and_loads_in_the_engine(
    tiny_random_model: Path, synthetic_jsonl: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GPU defaults (padding-free, 4 sequences a micro-batch, selective checkpointing),
    run here on the CPU by pretending to be on a GPU."""
    from s1_engine import BudgetPolicy, Engine
    from s1_train import defaults
    from s1_train.train import resolve_config, run

    monkeypatch.setattr(defaults, "on_gpu", lambda: True)
    out = tmp_path / "pf"
    config = resolve_config(
        None,
        {
            "dataset": str(synthetic_jsonl),
            "model": str(tiny_random_model),
            "output_dir": str(out),
            "gradient_checkpointing": True,
            "batch_size": 8,
            "max_steps": 2,
            "block_size": 512,
            "progress": False,
            "save_steps": 100,
        },
    )
    report = run(config)
    assert report["padding_free"] and report["attn_implementation"] == "s1_varlen"
    assert report["per_device_batch"] == 4 and report["effective_batch"] == 8
    assert report["selective_checkpointing"]
    log = [json.loads(x) for x in (out / "loss_log.jsonl").read_text().splitlines()]
    assert len(log) == 2 and all("time" in r and r["num_tokens"] > 0 for r in log)
    cfg = json.loads((out / "config.json").read_text())
    assert "s1_varlen" not in json.dumps(cfg)  # the saved model needs nothing of ours
    with Engine(str(out), backend="hf") as engine:
        r = engine.generate("Add: 1 2", BudgetPolicy(max_thinking_tokens=8, answer_max_tokens=4))
        assert r.thinking_tokens <= 8


def test_padding_free_refuses_truncation(tiny_random_model: Path, synthetic_jsonl: Path) -> None:
    from s1_engine.errors import S1Error
    from s1_train.train import TrainConfig, padding_free_for

    assert not padding_free_for(TrainConfig())
    with pytest.raises(S1Error, match="padding-free"):
        padding_free_for(TrainConfig(padding_free=True, overlong="truncate"))


def test_gpu_defaults_padding_free_micro_batches_and_selective_checkpointing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a GPU the recipe packs up to 4 sequences (32,768 tokens) a micro-batch padding-free
    and keeps attention outputs under checkpointing; on a CPU nothing changes."""
    from s1_train import defaults
    from s1_train import train as t

    cfg = t.TrainConfig(block_size=8192)
    monkeypatch.setattr(defaults, "on_gpu", lambda: False)
    assert not t.padding_free_for(cfg) and t.per_device_for(cfg) == 1
    assert not t.selective_for(t.TrainConfig(block_size=8192, gradient_checkpointing=True))
    assert t.grad_accum_for(cfg) == 16
    monkeypatch.setattr(defaults, "on_gpu", lambda: True)
    assert t.padding_free_for(cfg) and t.per_device_for(cfg) == 4
    assert t.grad_accum_for(cfg) == 4  # the effective batch stays 16 sequences
    assert t.per_device_for(t.TrainConfig()) == 1  # block 32768: one sequence a micro-batch
    assert t.per_device_for(t.TrainConfig(block_size=8192, per_device_batch_size=2)) == 2
    assert not t.padding_free_for(t.TrainConfig(overlong="truncate"))
    gc = {"gradient_checkpointing": True}
    assert t.selective_for(t.TrainConfig(block_size=8192, **gc))
    assert not t.selective_for(t.TrainConfig(block_size=32768, **gc))  # not measured there
    assert not t.selective_for(t.TrainConfig(block_size=8192))  # no checkpointing at all
    monkeypatch.setenv("WORLD_SIZE", "8")
    assert t.per_device_for(cfg) == 2 and t.grad_accum_for(cfg) == 1  # 2 x 1 x 8 = 16


def test_the_boundaries_are_read_once_a_forward_not_once_a_layer(
    tiny_random_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each read of a device tensor's values waits for the device: one per micro-batch."""
    import torch
    from transformers import AutoModelForCausalLM

    from s1_train import attention

    reads: list[list[int]] = []
    real = attention._read
    monkeypatch.setattr(attention, "_read", lambda cu: reads.append(real(cu)) or reads[-1])
    model = AutoModelForCausalLM.from_pretrained(
        str(tiny_random_model), dtype=torch.float32, attn_implementation=attention.register()
    ).eval()
    assert model.config.num_hidden_layers >= 2

    packed_logits(model, [torch.randint(10, 200, (n,)) for n in (3, 5)])
    # a new tensor (maybe at the old one's address): read again, not reused
    packed_logits(model, [torch.randint(10, 200, (n,)) for n in (4, 4)])
    assert reads == [[0, 3, 8], [0, 4, 8]]
