"""`s1 train --plan`: the memory arithmetic, the GPUs a run needs, the measured peaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s1_train.config import TrainConfig
from s1_train.plan import GIB, Setup, estimate, needs, setup_for
from s1_train.shapes import KNOWN, shape_of

ROOT = Path(__file__).resolve().parents[2]
H200, H100 = 143771 / 1024, 81559 / 1024  # GiB as torch reports them


def test_exact_figures_for_the_1_5b_shape() -> None:
    """Qwen2.5-1.5B (28 layers, hidden 1,536, MLP 8,960, 12/2 heads of 128, vocab 151,936,
    tied), 4 x 8,192 tokens a micro-batch, selective checkpointing, bf16: every figure
    written out from the module's documented formula."""
    s = KNOWN["qwen2.5-1.5b"]
    layer_params = 1536 * 1536 + 1536 + 2 * (1536 * 256 + 256) + 1536 * 1536 + 3 * 1536 * 8960
    layer_params += 2 * 1536
    assert s.layer_params == layer_params == 46_797_824
    assert s.params == 28 * layer_params + 151936 * 1536 + 1536 == 1_543_714_304  # as measured
    t = 4 * 8192
    one = estimate(s, Setup(tokens=t, checkpointing="selective"))
    assert one.states == 8 * 1_543_714_304 and one.bytes_per_param == 8
    ckpt = 28 * 2 * 1536 + 28 * (2 * 1536 + 4 * 12)  # layer inputs + attention outputs, lse
    layer = 16 * 1536 + 6 * 1536 + 4 * 256 + 4 * 12 + 8 * 8960
    backward = 4 * 8960 + 2 * 1536
    head = 16 * 1536 * t + 6 * 151936 * 1536 + 4096 * 32768 * 2
    assert (layer + backward) * t > head  # the peak is a layer's backward, not the loss head
    assert one.activations == ckpt * t + (layer + backward) * t == 10_447_486_976
    assert one.total == 22_797_201_408 and one.parts["fsdp buffers"] == 0
    two = estimate(s, Setup(tokens=t, checkpointing="selective", gpus=2, fsdp=True))
    assert two.states == 16 * 1_543_714_304 // 2  # fp32 master + AdamW, halved
    assert two.parts["fsdp buffers"] == (151936 * 1536 + 1536) * 4 + layer_params * 6
    full = estimate(s, Setup(tokens=t, checkpointing="full"))
    assert one.activations - full.activations == 28 * (2 * 1536 + 4 * 12) * t
    none = estimate(s, Setup(tokens=t, checkpointing="none"))
    assert none.activations == 28 * layer * t + max(head, backward * t)


def test_the_formula_counts_what_transformers_builds() -> None:
    """The parameter count of a shape equals the model transformers makes from its config
    (on the meta device: no memory), tied and untied."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    for name in ("qwen2.5-1.5b", "qwen2.5-7b"):
        s = KNOWN[name]
        cfg = Qwen2Config(
            vocab_size=s.vocab,
            hidden_size=s.hidden,
            intermediate_size=s.intermediate,
            num_hidden_layers=s.layers,
            num_attention_heads=s.heads,
            num_key_value_heads=s.kv_heads,
            tie_word_embeddings=s.tied,
        )
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(cfg)
        assert sum(p.numel() for p in model.parameters()) == s.params, name


def test_32b_recipe_needs_8_h200s_and_4_do_not_hold_it() -> None:
    """The s1 recipe (block 32,768, one sequence a micro-batch, full checkpointing, FSDP
    over the GPUs) on Qwen2.5-32B: 4 x H200 cannot hold it, 8 can; 16 x H100 80GB too."""
    config = TrainConfig(model="simplescaling/s1.1-32B", gradient_checkpointing=True)
    shape = shape_of(config.model)  # a known shape: no config is downloaded
    assert shape is KNOWN["qwen2.5-32b"] and shape.params == 32_763_876_352
    on4, on8 = (estimate(shape, setup_for(config, g)) for g in (4, 8))
    assert on4.setup.tokens == on8.setup.tokens == 32768 and on4.setup.fsdp
    assert on4.setup.checkpointing == "full"  # selective only up to 8,192-token blocks
    assert not on4.fits(H200) and on8.fits(H200)
    assert on4.total > 150 * GIB and on8.total < 110 * GIB
    assert needs(shape, config, H200) == 8 and needs(shape, config, H100) == 16


def test_plan_command_prints_the_table_and_the_verdict(capsys: pytest.CaptureFixture) -> None:
    from s1_cli.main import main

    argv = ["train", "--plan", "-m", "Qwen/Qwen2.5-32B-Instruct", "--gradient-checkpointing"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "32.76e9 parameters" in out and "block 32,768" in out
    row = next(line for line in out.splitlines() if line.startswith("fits H200"))
    assert row.split()[2:] == ["no", "no", "no", "yes", "yes", "yes", "yes"]  # 1 2 4 | 8 ...
    assert "needs: 16 x H100 80GB (80 GiB); 8 x H200 (140 GiB)" in out
    # without checkpointing, 4 x 8,192 tokens of the 1.5B shape keep ~93 GiB of activations:
    # one H200 holds them, an H100 only with fewer sequences a micro-batch (FSDP over 8)
    assert main(["train", "--plan", "-m", "1.5b", "--block-size", "8192"]) == 0
    out = capsys.readouterr().out
    assert "needs: 8 x H100 80GB (80 GiB); 1 x H200 (140 GiB)" in out
    assert "with --gradient-checkpointing, 1 GPU: 21.2 GiB" in out


def test_plan_reads_a_local_config_and_loads_no_weights(tiny_random_model: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    shape = shape_of(str(tiny_random_model))
    assert (shape.layers, shape.hidden, shape.heads, shape.kv_heads) == (2, 64, 2, 1)
    model = AutoModelForCausalLM.from_pretrained(str(tiny_random_model), dtype=torch.float32)
    assert shape.params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    "model, message",
    [
        ("nonsense", "error: no model folder or known shape 'nonsense'"),
        ("someone/Unknown-9B", "error: no config.json for 'someone/Unknown-9B' on this machine"),
    ],
)
def test_plan_bad_model_is_one_line(
    model: str, message: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from s1_cli.main import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["train", "--plan", "-m", model]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and len(err.splitlines()) == 1, err
    assert "known shape: qwen2.5-0.5b" in err  # the fix names what works


def test_plan_refuses_folders_without_config_and_moe_models(tmp_path: Path) -> None:
    from transformers import MixtralConfig

    from s1_engine.errors import S1Error
    from s1_train.shapes import shape_from_config

    with pytest.raises(S1Error, match="holds no config.json"):
        shape_of(str(tmp_path))
    with pytest.raises(S1Error, match="mixture of experts"):
        shape_from_config(MixtralConfig(), name="mixtral")
    with pytest.raises(S1Error, match="at least one token"):
        estimate(KNOWN["qwen2.5-7b"], Setup(tokens=0))


def test_plan_within_15_percent_of_the_measured_peaks() -> None:
    """The H200 runs of bench/train/gpu_train.md (bench/train/gpu_train_h200x2.json): rank 0's
    `torch.cuda.max_memory_allocated` against the plan at the largest micro-batch.

    That micro-batch's tokens come from the runs themselves: `pf` and `pf-sac` trained the
    same micro-batches, and selective checkpointing keeps exactly one attention output and
    log-sum-exp a layer and token more (2 x 1,536 + 4 x 12 bytes, 28 layers), so their
    difference in peaks is T x 87,360 bytes: T = 24,413 (the 7B run's 20 micro-batches
    are the first 20 of the same order; the 2-GPU run's rank 0 saw others, of the same
    length distribution). The one-sequence `recipe` run: the data's longest row."""
    runs = json.loads((ROOT / "bench" / "train" / "gpu_train_h200x2.json").read_text())
    peak = {
        (r["shape"], r["gpus"], r["variant"]): r["rank0_max_allocated_gib"] for r in runs["results"]
    }
    s15, s7 = KNOWN["qwen2.5-1.5b"], KNOWN["qwen2.5-7b"]
    per_token_sac = s15.layers * (2 * s15.q_dim + 4 * s15.heads)
    t = round((peak["1.5b", 1, "pf-sac"] - peak["1.5b", 1, "pf"]) * GIB / per_token_sac)
    assert 20_000 < t < 4 * 7638  # within what 4 rows of at most 7,638 tokens can hold
    longest = runs["shapes"]["1.5b"]["data"]["max_tokens"]
    cases = {
        ("1.5b", 1, "recipe"): (s15, Setup(tokens=longest, checkpointing="full")),
        ("1.5b", 1, "pf"): (s15, Setup(tokens=t, checkpointing="full")),
        ("1.5b", 1, "pf-liger"): (s15, Setup(tokens=t, checkpointing="full", liger=True)),
        ("1.5b", 1, "pf-sac"): (s15, Setup(tokens=t, checkpointing="selective")),
        ("1.5b", 2, "pf-sac"): (s15, Setup(tokens=t, checkpointing="selective", gpus=2, fsdp=True)),
        ("7b", 1, "pf"): (s7, Setup(tokens=t, checkpointing="full")),
    }
    ratios = {
        k: estimate(shape, setup).total / GIB / peak[k] for k, (shape, setup) in cases.items()
    }
    assert all(abs(r - 1) <= 0.15 for r in ratios.values()), ratios
