"""How fast a step runs, the loss unchanged: the training-speed options of `TrainConfig`.

- `loss_kernel`: how the loss comes from the last hidden states. `chunked` is TRL's fused
  LM head (the projection in 4,096-token x 32,768-word tiles, the logits never whole;
  its backward recomputes each tile); `liger` is Liger's fused linear cross-entropy
  (the gradients computed in the forward pass, no recomputation; Triton: a GPU, or
  TRITON_INTERPRET=1 on a CPU, slowly); `logits` is the model's own loss on the full
  logits (the reference the other two are tested against).
- `token_metrics`: TRL's per-token entropy and token accuracy in the logs. Off by
  default on a GPU: two values gathered and read back (`.item()`, a device sync) every
  micro-batch, and the kernel's extra outputs; on by default on the CPU.
- `optimizer`: AdamW's kernel, `fused` (one kernel over all tensors, transformers'
  default with torch >= 2.8) or `foreach`.
- `compile_layers`: `torch.compile` of each decoder layer (dynamic shapes: padding-free
  micro-batches change length every step).

TRL's own `compute_loss` runs unless an option needs another path; then `compute_loss`
below computes the same loss (summed over the completion tokens, divided by the
step's `num_items_in_batch`, as TRL does) and keeps TRL's token count.
"""

from __future__ import annotations

import functools
import os
import types
from dataclasses import dataclass
from typing import Any

from s1_engine.errors import S1Error

from .config import TrainConfig

LIGER_CHUNK_MEM = 8  # Liger's fused CE: transient logits of ~8 x tokens x hidden (its default 1)


@dataclass(frozen=True)
class Speed:
    loss: str = "chunked"
    token_metrics: bool = True
    optimizer: str = "fused"
    compile_layers: bool = False

    @property
    def own_loss(self) -> bool:
        """Whether compute_loss must leave TRL's path (its path: chunked, with metrics)."""
        return self.loss != "chunked" or not self.token_metrics


def resolve(config: TrainConfig, gpu: bool) -> Speed:
    """The options as this run uses them (None: the default for this machine)."""
    loss = config.loss_kernel or "chunked"
    if loss == "liger":
        try:
            import liger_kernel  # noqa: F401
        except ImportError:
            raise S1Error(
                "--loss-kernel liger needs the liger-kernel package",
                "pip install liger-kernel on a GPU machine, or use --loss-kernel chunked",
            ) from None
        if not gpu and os.environ.get("TRITON_INTERPRET") != "1":
            raise S1Error(
                "--loss-kernel liger runs Triton kernels, which need a GPU",
                "use --loss-kernel chunked here (or TRITON_INTERPRET=1 to test it slowly)",
            )
    metrics = (not gpu) if config.token_metrics is None else bool(config.token_metrics)
    return Speed(loss, metrics, config.optimizer or "fused", bool(config.compile_layers))


def sft_kwargs(config: TrainConfig) -> dict[str, Any]:
    """SFTConfig arguments of these options (a recipe's `extra` may still override them)."""
    return {"optim": "adamw_torch_fused"} if (config.optimizer or "fused") == "fused" else {}


def make_trainer(base: type, config: TrainConfig, gpu: bool, **kwargs: Any) -> Any:
    """An SFTTrainer (`base`) with this config's speed options applied to its model."""
    speed = resolve(config, gpu)
    trainer = trainer_class(base)(**kwargs)
    trainer.s1_speed = speed
    model = trainer.model
    if speed.own_loss:
        plain = (
            trainer.args.loss_type == "nll"
            and trainer.label_smoother is None
            and trainer.compute_loss_func is None
            and not trainer.aux_loss_enabled
        )
        if not plain:
            raise S1Error(
                f"--loss-kernel {speed.loss} / --no-token-metrics support the plain loss only",
                "drop loss_type, label smoothing or compute_loss_func from the recipe's extra",
            )
    if speed.loss == "chunked" and not speed.token_metrics:
        _fused_head(model, outputs=("log_probs",))
    if speed.loss == "liger":
        _liger_head(model)
    if speed.compile_layers:
        for layer in model.get_decoder().layers:
            layer.compile(dynamic=True)
    return trainer


def describe(speed: Speed) -> dict[str, Any]:
    return {
        "loss_kernel": speed.loss,
        "token_metrics": speed.token_metrics,
        "optimizer": speed.optimizer,
        "compile_layers": speed.compile_layers,
    }


def _fused_head(model: Any, outputs: tuple[str, ...]) -> None:
    """TRL's fused head again, computing only `outputs` (it wrapped the class's forward)."""
    from trl.trainer.utils import add_fused_lm_head

    if getattr(model.forward, "__wrapped__", None) is type(model).forward:
        model.forward = types.MethodType(type(model).forward, model)
    add_fused_lm_head(model, outputs=outputs)


def _liger_head(model: Any) -> None:
    """`model(..., s1_liger_loss=True)`: Liger's fused linear cross-entropy on the last
    hidden states (summed, divided by `num_items_in_batch`); other calls unchanged.
    The model's own forward is wrapped, as TRL's fused head is, so FSDP's hooks run."""
    import torch
    from liger_kernel.transformers.functional import liger_fused_linear_cross_entropy

    original = model.forward

    @functools.wraps(type(model).forward)
    def forward(self, *args, s1_liger_loss=False, labels=None, num_items_in_batch=None, **kw):
        if not s1_liger_loss:
            return original(*args, labels=labels, num_items_in_batch=num_items_in_batch, **kw)
        kw["use_cache"] = False
        hidden = self.base_model(*args, **kw).last_hidden_state[:, :-1]
        labels = labels[:, 1:]
        mask = labels != -100
        head = self.get_output_embeddings()
        weight, bias = head.weight, head.bias
        if hasattr(weight, "full_tensor"):  # an FSDP2 shard (DTensor)
            weight = weight.full_tensor()
            bias = bias.full_tensor() if bias is not None else None
        with torch.profiler.record_function("s1:lm_head+loss"):
            out = liger_fused_linear_cross_entropy(
                hidden[mask].to(weight.device),
                weight,
                labels[mask].to(weight.device),
                bias=bias,
                reduction="sum",
                accum_dtype=torch.float32,
                return_token_accuracy=True,
                chunk_mem_const=LIGER_CHUNK_MEM,
            )
        n = mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
        return types.SimpleNamespace(
            loss=out.loss / n, label_mask=mask, token_accuracy=out.token_accuracy
        )

    model.forward = types.MethodType(forward, model)


def trainer_class(base: type) -> type:
    """`base` (TRL's SFTTrainer) with the speed options' loss and optimizer."""

    class S1SFTTrainer(base):
        s1_speed = Speed()

        def create_optimizer(self, model: Any = None) -> Any:
            if self.optimizer is None and self.s1_speed.optimizer == "foreach":
                import torch

                a = self.args
                kw = {"lr": a.learning_rate, "betas": (a.adam_beta1, a.adam_beta2)}
                self.optimizer_cls_and_kwargs = (
                    torch.optim.AdamW,
                    kw | {"eps": a.adam_epsilon, "foreach": True},
                )
            return super().create_optimizer(model)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            speed = self.s1_speed
            if return_outputs or not speed.own_loss:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            mode = "train" if self.model.training else "eval"
            inputs["use_cache"] = False
            flag = {"chunked": {"fused_lm_head": True}, "liger": {"s1_liger_loss": True}}
            out = model(**inputs, **flag.get(speed.loss, {}), num_items_in_batch=num_items_in_batch)
            loss = out.loss
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                loss = loss * (self.accelerator.num_processes // self.get_tp_size())
            if speed.token_metrics:
                self._s1_metrics(mode, out, inputs)
            if mode == "train":
                self._total_train_tokens += self._s1_tokens(inputs) // self._tp_size
            self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
            return loss

        def _s1_tokens(self, inputs: dict[str, Any]) -> int:
            """The micro-batch's tokens, all processes (TRL's count); one process, padding-
            free: the row's length, read without a device sync."""
            import torch

            if "attention_mask" in inputs:
                local = inputs["attention_mask"].sum()
            else:
                n = inputs["position_ids"].size(1)
                if self.accelerator.num_processes == 1:
                    return int(n)
                local = torch.tensor(n, device=inputs["position_ids"].device)
            return int(self.accelerator.gather_for_metrics(local).sum().item())

        def _s1_metrics(self, mode: str, out: Any, inputs: dict[str, Any]) -> None:
            """Token accuracy (and entropy, from the full logits) for the non-chunked paths."""
            import torch

            gather = self.accelerator.gather_for_metrics
            if getattr(out, "token_accuracy", None) is not None:  # liger: a mean already
                acc = gather(out.token_accuracy.detach().reshape(1)).mean()
                self._metrics[mode]["mean_token_accuracy"].append(acc.item())
                return
            with torch.no_grad():
                labels = inputs["labels"][:, 1:]
                mask = labels != -100
                logits = out.logits[:, :-1][mask].float()
                logp = torch.log_softmax(logits, dim=-1)
                entropy = -(logp.exp() * logp).sum(-1).sum()
                right = (logits.argmax(-1) == labels[mask]).sum()
                n = gather(mask.sum()).sum().clamp(min=1)
                self._metrics[mode]["entropy"].append((gather(entropy).sum() / n).item())
                acc = gather(right).sum() / n
                self._metrics[mode]["mean_token_accuracy"].append(acc.item())

    return S1SFTTrainer
