"""Budget-forcing policies: how long to think, how often to say "Wait", how to sample."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .errors import S1Error

Budget = int | Literal["auto", "fit"]
BUDGET_WORDS = ("auto", "fit")
# "auto" as the s1 reference computes it (its lm-evaluation-harness fork): the context
# minus the prompt minus the closing delimiters minus this many tokens for the answer.
AUTO_ANSWER_RESERVE = 100
CONF_TOP_K = 20  # DeepConf's k: the log probabilities a token confidence averages (its code's)


@dataclass(frozen=True)
class SamplingConfig:
    """Sampling for one phase. temperature 0 means greedy."""

    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0  # 0 = off
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise S1Error(f"temperature must be >= 0, got {self.temperature}", "use e.g. 0 or 0.7")
        if not 0 < self.top_p <= 1:
            raise S1Error(f"top_p must be in (0, 1], got {self.top_p}", "use e.g. 0.95")

    def with_seed(self, seed: int | None) -> SamplingConfig:
        return replace(self, seed=seed)


@dataclass(frozen=True)
class BudgetPolicy:
    """The s1 budget-forcing knobs for one request (the semantics: `s1_engine.forcing`)."""

    max_thinking_tokens: Budget = "auto"
    min_thinking_tokens: int = 0
    num_ignore: int = 0
    ignore_str: str | tuple[str, ...] = "Wait"  # () = no string: suppress, append nothing
    answer_max_tokens: int = 1024
    thinking: SamplingConfig = field(default_factory=SamplingConfig)
    answer: SamplingConfig = field(default_factory=SamplingConfig)
    lead_in_on_user_end: bool = True  # "Final Answer:" also after a user's forced end
    # after s1 (see `s1_engine.forcing`): text forced into the thinking once it holds this
    # many tokens (thinking intervention, arXiv 2503.24370); at a budget cut, a sentence
    # spliced before the delimiter and up to this many tokens to end the sentence in
    # progress (the inference side of Elastic Reasoning, arXiv 2505.05315)
    interventions: tuple[tuple[int, str], ...] = ()
    wrap_up: str = ""
    grace_tokens: int = 0
    suppress: tuple[str, ...] = ()  # words never written while thinking (NoWait, 2506.08343)
    # AlphaOne (arXiv 2505.24863, `s1_engine.alphaone`): the alpha moment at this share of
    # the thinking budget (0: off); before it, a Wait after a paragraph break with
    # probability alpha_p x (1 - t / the moment); after it, the model's next Wait ends thinking
    alpha: float = 0.0
    alpha_p: float = 1.0
    # DEER (arXiv 2504.15895): at each Wait point a greedy trial answer of at most
    # `deer_probe_tokens`; thinking ends when its mean token probability reaches this
    deer_threshold: float | None = None
    deer_probe_tokens: int = 16
    # DeepConf (arXiv 2508.15260): token confidence from the top-k log probabilities;
    # None: not measured (no probabilities asked); 0: measured, never stops (a group
    # confidence is >= 0); > 0: thinking stops once the mean confidence of the last
    # `conf_window` sampled thinking tokens falls below it (the online early stop)
    conf_stop: float | None = None
    conf_window: int = 64

    def __post_init__(self) -> None:
        m = self.max_thinking_tokens
        if m not in BUDGET_WORDS and (not isinstance(m, int) or isinstance(m, bool) or m < 0):
            raise S1Error(
                f"max thinking tokens must be a whole number >= 0, 'auto' or 'fit', got {m!r}",
                "e.g. --max-thinking 1024",
            )
        if self.min_thinking_tokens < 0:
            raise S1Error(
                f"min thinking tokens must be >= 0, got {self.min_thinking_tokens}",
                "e.g. --min-thinking 0",
            )
        if self.num_ignore < 0:
            raise S1Error(f"num_ignore must be >= 0, got {self.num_ignore}", "e.g. --num-ignore 2")
        if self.answer_max_tokens < 1:
            raise S1Error(
                f"answer max tokens must be >= 1, got {self.answer_max_tokens}",
                "e.g. --answer-max-tokens 512",
            )
        # () is the reference's thinking_n_ignore without a string (the paper's "no
        # string" extrapolation); an empty string is a mistake
        if self.ignore_str == "" or any(not s for s in self.ignore_strings):
            raise S1Error("the ignore string is empty", "e.g. --ignore-str Wait")
        for at, text in self.interventions:
            if isinstance(at, bool) or not isinstance(at, int) or at < 0 or not text:
                raise S1Error(
                    f"cannot read the intervention {text!r}@{at!r}",
                    "give TEXT@N with N thinking tokens >= 0, e.g. --intervene 'Check it.@0'",
                )
        if self.grace_tokens < 0:
            raise S1Error(f"grace tokens must be >= 0, got {self.grace_tokens}", "e.g. --grace 32")
        if not _share(self.alpha):
            raise S1Error(
                f"alpha must be a share of the thinking budget in [0, 1] (0: off), got "
                f"{self.alpha!r}",
                "the paper's alpha 1.4 at an average thinking length N is 1.4*N/budget, "
                "e.g. --alpha 0.5",
            )
        if not _share(self.alpha_p):
            raise S1Error(
                f"alpha_p (the chance of a Wait at thinking's start) must be in [0, 1], got "
                f"{self.alpha_p!r}",
                "e.g. --alpha-p 1 (the AlphaOne reference's)",
            )
        t = self.deer_threshold
        if t is not None and (isinstance(t, bool) or not isinstance(t, int | float) or not t >= 0):
            raise S1Error(
                f"the DEER threshold must be a number >= 0, got {t!r}",
                "e.g. --deer 0.95 (above 1: probe, never exit)",
            )
        n = self.deer_probe_tokens
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise S1Error(
                f"DEER probe tokens must be a whole number >= 1, got {n!r}",
                "e.g. --deer-probe-tokens 16",
            )
        c = self.conf_stop
        if c is not None and (isinstance(c, bool) or not isinstance(c, int | float) or not c >= 0):
            raise S1Error(f"the confidence stop must be >= 0, got {c!r}", "e.g. --conf-stop 12.5")
        w = self.conf_window
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise S1Error(f"the confidence window must be >= 1, got {w!r}", "e.g. --conf-window 64")

    @property
    def ignore_strings(self) -> tuple[str, ...]:
        s = self.ignore_str
        return (s,) if isinstance(s, str) else tuple(s)

    def with_(self, **changes: object) -> BudgetPolicy:
        return replace(self, **changes)  # type: ignore[arg-type]

    def label(self) -> str:
        """A short stable name, used as the policy key in evaluation results."""
        parts = [f"think={self.max_thinking_tokens}"]
        if self.min_thinking_tokens:
            parts.append(f"min={self.min_thinking_tokens}")
        parts.append(f"wait={self.num_ignore}")
        if self.ignore_strings != ("Wait",):
            parts.append("ignore=" + ("|".join(self.ignore_strings) or "none"))
        parts += [f"intervene={text}@{at}" for at, text in self.interventions]
        if self.suppress:
            parts.append("suppress=" + "|".join(self.suppress))
        if self.wrap_up:
            parts.append(f"wrap_up={self.wrap_up}")
        if self.grace_tokens:
            parts.append(f"grace={self.grace_tokens}")
        if self.alpha:
            parts.append(f"alpha={self.alpha:g}")
            if self.alpha_p != 1:
                parts.append(f"alpha_p={self.alpha_p:g}")
        if self.deer_threshold is not None:
            parts.append(f"deer={self.deer_threshold:g}@{self.deer_probe_tokens}")
        if self.conf_stop:  # measuring alone (0) changes no token: not part of the key
            parts.append(f"conf_stop={self.conf_stop:g}@{self.conf_window}")
        return ",".join(parts)


def _share(v: object) -> bool:
    """A number in [0, 1] (not a bool, not NaN)."""
    return not isinstance(v, bool) and isinstance(v, int | float) and 0 <= v <= 1


def parse_budget(text: str | int) -> Budget:
    """Parse one budget: a whole number, 'auto' (the paper's) or 'fit' (room for the answer).

    'auto' is the s1 reference's: the context left after the prompt and the closing
    delimiters, minus 100 tokens for the answer. 'fit' leaves `answer_max_tokens` for the
    answer (half the room if that is tight), so a long answer is never cut.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value: int = text
    else:
        t = str(text).strip().lower()
        if t in ("auto", "none", "inf", "unlimited"):
            return "auto"
        if t == "fit":
            return "fit"
        try:
            value = int(t.replace("_", ""))
        except ValueError:
            raise S1Error(
                f"cannot read the thinking budget {text!r}",
                "give a whole number, 'auto' or 'fit'",
            ) from None
    if value < 0:
        raise S1Error(f"the thinking budget must be >= 0, got {value}", "e.g. 1024 or auto")
    return value


def parse_ignore_str(text: str) -> str | tuple[str, ...]:
    """'Wait' stays a string; 'Wait|Hmm|Alternatively' becomes a rotation."""
    parts = tuple(p for p in text.split("|"))
    if any(not p for p in parts):
        raise S1Error(f"empty ignore string in {text!r}", "e.g. --ignore-str 'Wait|Hmm'")
    return parts[0] if len(parts) == 1 else parts


NOWAIT_WORDS = ("Wait", "Hmm", "Alternatively")  # NoWait's reflection words (2506.08343)


def parse_suppress(text: str) -> tuple[str, ...]:
    """'Wait|Hmm' -> ("Wait", "Hmm"); 'nowait' -> NoWait's words; '' -> none."""
    t = str(text).strip()
    if not t:
        return ()
    if t.lower() == "nowait":
        return NOWAIT_WORDS
    words = tuple(w.strip() for w in t.split("|"))
    if any(not w for w in words):
        raise S1Error(f"empty word in {text!r}", "e.g. --suppress 'Wait|Hmm' or nowait")
    return words


def parse_intervention(text: str) -> tuple[int, str]:
    """'Let me check my work.@200' -> (200, 'Let me check my work.'); no '@N' means @0."""
    body, sep, at = str(text).rpartition("@")
    if not sep or not at.strip().isdigit():
        body, at = str(text), "0"
    if not body:
        raise S1Error(f"cannot read the intervention {text!r}", "give TEXT@N, e.g. 'Check it.@0'")
    return int(at), body


def parse_interventions(v: Any) -> tuple[tuple[int, str], ...]:
    """`[[N, TEXT], ...]`, its JSON (a `vllm_xargs` value is a string), or "TEXT@N"."""
    if isinstance(v, str):
        v = v.strip()
        if not v:
            return ()
        if v.startswith("["):
            try:
                v = json.loads(v)
            except ValueError:
                raise S1Error(
                    f"interventions is not JSON: {v[:40]!r}", 'e.g. [[0, "Check it."]]'
                ) from None
        else:
            return (parse_intervention(v),)
    try:
        return tuple((int(at), str(text)) for at, text in v)
    except (TypeError, ValueError):
        raise S1Error(f"cannot read interventions {v!r}", 'e.g. [[0, "Check it."]]') from None
