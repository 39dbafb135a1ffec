"""Budget forcing inside vLLM's step loop: a v1 logits processor.

    vllm serve MODEL --logits-processors s1_engine.vllm_plugin:S1BudgetForcing
    # per request, extra_body={"vllm_xargs": {"max_thinking_tokens": 512, "num_ignore": 2}}

One request runs from the first thinking token to the end of the answer; a forced token
(a Wait, the delimiter, the answer lead-in) costs one decode step, like a sampled one,
and needs no new request and no re-prefill. The decisions are those of the one machine
(`s1_engine.forcing`), walked along the request by a `StepCursor` (`s1_engine.cursor`):
this processor only turns the cursor's plans into logits edits. A request without the
fields is untouched.

Per step, for each row (request) of the batch, at its position p = len(output):
- FORCE: the forced id gets logit +1e30: every other id has probability exactly 0 in
  float32 after any temperature, and greedy picks it.
- MASK: the end ids get -inf (vLLM's `min_tokens=1` after a Wait, as the reference).
- DRAW (thinking): did the model try to end? s1's rule is "sample; an end with ignores
  left is replaced". With p_end the probability the end ids hold under the request's
  temperature (0: the argmax is an end id), a uniform u (a hash of the request's seed
  and p, so the draw depends on nothing else in the batch) decides: u < p_end means an
  end attempt, and which end id by the cumulative p of the end ids; then the machine's
  answer to that attempt (the first id of the Wait, or of the delimiter) is forced at p.
  Otherwise the end ids get -inf and vLLM samples from the rest, renormalised: the
  distribution given "not an end". Together that is exactly the s1 distribution. (Top-k,
  top-p, min-p and penalties act after this processor; the s1 console keeps policies
  with top-k/top-p on the continuation path; under plain `vllm serve` the end decision is
  drawn from the temperature-scaled distribution before them.)
- DONE: the end-of-turn id is forced (the answer cap), which ends the request.

Nothing syncs the device: the draw's outcome is copied to host memory without waiting
and read in the next step (after vLLM itself has waited for that step's tokens), where
the cursor learns of the attempt at p and plans p + 1 on. The common step costs one
`len()` and a comparison per row in Python; only rows whose plan changes call the cursor.

The session (`s1_engine.inengine`) learns what this processor decided through the side
channel of `s1_engine.channel`: a hint line per end attempt and per intervention, written
before the step that follows samples, so the session can replay the machine exactly.
"""

from __future__ import annotations

import collections
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor, MoveDirectionality

from .channel import Appender, LineTail
from .cursor import DONE, FORCE, SAMPLE, StepCursor
from .detok import codec
from .errors import S1Error
from .forcing import BudgetForcer
from .formats import bind_format, detect_format, get_format
from .interventions import control_call
from .modelfiles import generation_eos_ids
from .plugin_args import policy_from_args, s1_args
from .plugin_layout import CODES, _Layout, to_device, uniform

BIG = 1e30
PARKED = 4096  # rows kept after they leave the batch (a preempted request comes back)


@dataclass(eq=False)
class Row:
    rid: str
    out: list[int]  # vLLM's running output ids of the request (a live reference)
    cursor: StepCursor
    seed: int
    temperature: float
    channel: str | None
    broken: bool = False
    slot: int = (
        -1
    )  # its place in the step's layout  # the output left the machine's plan: steer it no more


class _Channel:
    def __init__(self, folder: str, write: bool) -> None:
        self.control = LineTail(os.path.join(folder, "control.log"))
        self.hints = Appender(os.path.join(folder, f"hints-{os.getpid()}.log")) if write else None


class S1BudgetForcing(LogitsProcessor):
    """s1 budget forcing for the requests that carry its fields (see the module doc)."""

    @classmethod
    def validate_params(cls, sampling_params: Any) -> None:
        a = s1_args(sampling_params)
        if a is None:
            return
        try:
            policy_from_args(a)
            name = str(a.get("format", "auto"))
            if name != "auto":
                get_format(name)
        except S1Error as e:
            raise ValueError(e.line()) from None

    def __init__(self, vllm_config: Any, device: torch.device, is_pin_memory: bool) -> None:
        self.config = vllm_config
        self.device = torch.device(device)
        self.pin = bool(is_pin_memory) and self.device.type == "cuda"
        self.context_len = int(vllm_config.model_config.max_model_len)
        self.rows: dict[int, Row] = {}
        self.parked: collections.OrderedDict[str, Row] = collections.OrderedDict()
        self.waiting: dict[str, list[tuple[int, dict]]] = {}  # controls before their row
        self.channels: dict[str, _Channel] = {}
        self._tok: Any = None
        self._codecs: tuple[Any, Any] | None = None
        self._formats: dict[str, Any] = {}
        self._stop_ids: dict[frozenset, torch.Tensor] = {}
        self._fill: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        self._lay: _Layout | None = None
        self._pending: tuple | None = None  # last step's draws, read in this one
        self.writes_hints = _tp_rank() == 0

    def is_argmax_invariant(self) -> bool:
        return False

    # ----- requests in and out of the batch ----------------------------------------------
    def _tokenizer(self) -> Any:
        if self._tok is None:
            from transformers import AutoTokenizer

            mc = self.config.model_config
            self._tok = AutoTokenizer.from_pretrained(
                mc.tokenizer, trust_remote_code=bool(getattr(mc, "trust_remote_code", False))
            )
        return self._tok

    def _codec(self, tok: Any) -> tuple[Any, Any]:
        if self._codecs is None:
            self._codecs = codec(tok)
        return self._codecs

    def _format(self, name: str) -> Any:
        if name not in self._formats:
            tok = self._tokenizer()
            fmt = detect_format(tok) if name == "auto" else get_format(name)
            eos = generation_eos_ids(self.config.model_config.model)
            self._formats[name] = bind_format(fmt, tok, eos)
        return self._formats[name]

    def _new_row(self, params: Any, prompt: list[int] | None, out: list[int]) -> Row | None:
        a = s1_args(params)
        if a is None:
            return None
        rid = a.setdefault("s1_id", uuid.uuid4().hex)
        if rid in self.parked:  # back after a preemption: the same machine goes on
            row = self.parked.pop(rid)
            row.out = out
            return row
        tok = self._tokenizer()
        fmt = self._format(str(a.get("format", "auto")))
        machine = BudgetForcer(
            list(prompt or []),
            fmt,
            policy_from_args(a),
            self.context_len,
            *self._codec(tok),
        )
        seed = params.seed if params.seed is not None else int.from_bytes(os.urandom(7), "little")
        channel = a.get("s1_channel")
        if channel and channel not in self.channels:
            self.channels[channel] = _Channel(channel, self.writes_hints)
        row = Row(rid, out, StepCursor(machine), int(seed), float(params.temperature), channel)
        hints: dict[str, list[str]] = collections.defaultdict(list)
        for seq, control in self.waiting.pop(rid, []):  # controls that came before their row
            self._control(row, seq, control, hints[channel or ""])
        self._write_hints(hints)  # before this step samples, as every hint
        return row

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        if not batch_update:
            return
        self._lay = None  # the batch changed: lay it out again at the next step
        for index in batch_update.removed:
            self._park(self.rows.pop(index, None))
        for index, params, prompt, out in batch_update.added:
            self._park(self.rows.pop(index, None))
            row = self._new_row(params, prompt, out)
            if row is not None:
                self.rows[index] = row
        for a, b, direct in batch_update.moved:
            ra, rb = self.rows.pop(a, None), self.rows.pop(b, None)
            if ra is not None:
                self.rows[b] = ra
            if rb is not None and direct == MoveDirectionality.SWAP:
                self.rows[a] = rb
            elif rb is not None:
                self._park(rb)

    def _park(self, row: Row | None) -> None:
        if row is not None and not row.cursor.done:
            self.parked[row.rid] = row
            while len(self.parked) > PARKED:
                self.parked.popitem(last=False)

    # ----- what happened since the last step -------------------------------------------
    def _control(self, row: Row, seq: int, c: dict, hints: list[str]) -> None:
        p = len(row.out)
        row.cursor.control(row.out, p, control_call(c["action"], c.get("args", {})))
        self._forget_plan(row)
        hints.append(f"{row.rid} {p} ctl {seq}")

    def _read_controls(self, hints_by_channel: dict[str, list[str]]) -> None:
        if not self.channels:
            return
        live = {r.rid: r for r in self.rows.values()}
        for folder, ch in self.channels.items():
            for line in ch.control.lines():
                rid, seq, body = line.split(" ", 2)
                row = live.get(rid) or self.parked.get(rid)
                if row is None:
                    self.waiting.setdefault(rid, []).append((int(seq), json.loads(body)))
                    continue
                self._control(row, int(seq), json.loads(body), hints_by_channel[folder])
        while len(self.waiting) > PARKED:
            self.waiting.pop(next(iter(self.waiting)))

    def _read_draws(self, hints_by_channel: dict[str, list[str]]) -> None:
        if self._pending is None:
            return
        (rows, slots), pos, end, stop, event = self._pending
        self._pending = None
        if event is not None:
            event.synchronize()  # done already: vLLM waited for that step's tokens
        for i in np.flatnonzero(end.numpy()).tolist():
            row, p = rows[slots[i]], int(pos[i])
            if len(row.out) <= p or row.broken:
                continue  # that sample was not kept (a chunked prefill): drawn again
            row.cursor.end_attempt(row.out, p, int(stop[i]))
            self._forget_plan(row)
            if row.channel is not None:
                hints_by_channel[row.channel].append(f"{row.rid} {p} end {int(stop[i])}")

    def _write_hints(self, hints_by_channel: dict[str, list[str]]) -> None:
        for folder, lines in hints_by_channel.items():
            ch = self.channels.get(folder)
            if ch is not None and ch.hints is not None:
                ch.hints.write(lines)

    def _forget_plan(self, row: Row) -> None:
        """The row's plan no longer holds (an end attempt, an intervention): plan anew."""
        lay = self._lay
        if lay is not None and 0 <= row.slot < len(lay.rows) and lay.rows[row.slot] is row:
            lay.until[row.slot] = -1

    # ----- the step ------------------------------------------------------------------------
    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        if not self.rows and self._pending is None and not self.channels:
            return logits
        hints: dict[str, list[str]] = collections.defaultdict(list)
        self._read_draws(hints)
        self._read_controls(hints)
        self._write_hints(hints)
        if not self.rows:
            return logits
        if self._lay is None:
            self._lay = _Layout(self.rows, self.device)
        lay = self._lay
        lens = np.fromiter(map(len, lay.outs), np.int64, len(lay.outs))
        for slot in np.flatnonzero((lens >= lay.until) | (lens < lay.at)).tolist():
            self._replan(lay, slot, int(lens[slot]))
        self._edit(logits, lay, lens)
        return logits

    def _replan(self, lay: _Layout, slot: int, p: int) -> None:
        """A row's plan ran out (or was dropped): ask its cursor; only this is per-row Python."""
        row = lay.rows[slot]
        plan = None if row.broken else row.cursor.plan(row.out, p)
        if plan is not None and plan.kind == FORCE and p > 0:
            if row.out[p - 1] != row.cursor.m.out[p - 1]:  # the engine left the machine's plan
                row.broken, plan = True, None
        if plan is None:
            kind, token, at, until = SAMPLE, -1, 0, 1 << 62
        else:
            kind, at, until = plan.kind, plan.at, plan.until
            token = self._eos(row) if kind == DONE else -1 if plan.token is None else plan.token
        code = CODES[kind]
        if code != lay.kind[slot] or (code != CODES[FORCE] and token != lay.token[slot]):
            lay.dirty = True
        lay.kind[slot], lay.token[slot], lay.at[slot], lay.until[slot] = code, token, at, until

    def _eos(self, row: Row) -> int:
        fmt = row.cursor.m.fmt
        tok = self._tokenizer()
        return int(tok.eos_token_id) if tok.eos_token_id is not None else min(fmt.answer_stop_ids)

    def _edit(self, logits: torch.Tensor, lay: _Layout, lens: np.ndarray) -> None:
        if lay.dirty:
            lay.build(self._stop_ids)
        neg_inf, big = self._values(logits)
        if lay.n_draw:  # the draw reads the end ids' logits: before they are masked
            pos = lens[lay.draw_slots]
            end, stop = self._draw(logits, lay, pos)
        if lay.masked is not None:
            logits.index_put_((lay.masked[:, None], lay.stops[None, :]), neg_inf)
        if lay.n_draw:
            col = lay.on_end.clamp(min=0)
            logits[lay.draw_idx, col] = torch.where(
                end & lay.has_end, BIG, logits[lay.draw_idx, col]
            )
            self._keep(lay, pos, end, stop)
        force = np.flatnonzero((lay.kind == CODES[FORCE]) | (lay.kind == CODES[DONE]))
        if len(force):
            both = to_device(np.stack([lay.idx[force], lay.token[force]]), self.device)
            logits.index_put_((both[0], both[1]), big)

    def _values(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-inf and BIG as 0-dim tensors on the logits' device. `logits[i, j] = -inf` with
        a Python float copies a CPU scalar to the device in `index_put_`, from pageable
        memory: a wait for the whole stream (the step's forward) in every step, which
        ended vLLM's overlap of scheduling with the GPU (1.5x raw on an H200)."""
        key = (logits.dtype, logits.device)
        if key not in self._fill:
            self._fill[key] = (
                torch.full((), float("-inf"), dtype=logits.dtype, device=logits.device),
                torch.full((), BIG, dtype=logits.dtype, device=logits.device),
            )
        return self._fill[key]

    def _draw(
        self, logits: torch.Tensor, lay: _Layout, pos: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(end attempt?, which end id) per drawing row, on the device, without a sync
        (greedy rows copy nothing to the device; sampled ones their positions, pinned)."""
        # the argmax of every row, then the drawing rows' (a gather of rows first would
        # copy the logits: 0.6 GB at 1,024 rows of a 152k vocabulary, every step)
        greedy_stop = logits.argmax(-1).index_select(0, lay.draw_idx)
        greedy_end = torch.isin(greedy_stop, lay.stops)
        if lay.all_greedy:
            return greedy_end, greedy_stop
        scaled = logits.index_select(0, lay.draw_idx).div_(lay.temps[:, None])
        lse = torch.logsumexp(scaled, -1, keepdim=True)
        cum = torch.exp(scaled[:, lay.stops] - lse).cumsum(-1)
        u = uniform(lay.seeds, to_device(pos, self.device))
        sampled_end = u < cum[:, -1]
        which = (u[:, None] >= cum).sum(-1).clamp(max=len(lay.stops) - 1)
        end = torch.where(lay.greedy, greedy_end, sampled_end)
        return end, torch.where(lay.greedy, greedy_stop, lay.stops[which])

    def _keep(self, lay: _Layout, pos: np.ndarray, end: torch.Tensor, stop: torch.Tensor) -> None:
        """Copy the draws to host memory without waiting; read in the next step."""
        rows = (lay.rows, lay.draw_slots)
        if self.device.type == "cuda":
            end_h = torch.empty(end.shape, dtype=torch.bool, pin_memory=self.pin)
            stop_h = torch.empty(stop.shape, dtype=torch.long, pin_memory=self.pin)
            end_h.copy_(end, non_blocking=True)
            stop_h.copy_(stop, non_blocking=True)
            event = torch.cuda.Event()
            event.record()
            self._pending = (rows, pos, end_h, stop_h, event)
        else:
            self._pending = (rows, pos, end.clone(), stop.clone(), None)


def _tp_rank() -> int:
    try:
        from vllm.distributed import get_tensor_model_parallel_rank

        return int(get_tensor_model_parallel_rank())
    except Exception:
        return 0
