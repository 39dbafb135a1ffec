"""Mathematics Subject Classification (MSC2020, top level) and two domain classifiers.

- `LexicalClassifier`: offline, needs no download. A multinomial naive Bayes over word
  unigrams and bigrams, trained at start-up (milliseconds) on the shipped domain names,
  keyword lists (`msc_domains.json`) and a small labelled set of questions written for
  this project (`msc_examples.json`). Uniform class prior, so the domains with more
  labelled examples are not favoured.
- `ModelClassifier`: asks a model through the engine with a classification prompt
  that lists the domains; reads the two-digit code (or the name) from its answer and
  falls back to the lexical classifier where the answer names no domain.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from s1_engine.errors import S1Error

DATA_DIR = Path(__file__).parent
DOMAINS_FILE = DATA_DIR / "msc_domains.json"
EXAMPLES_FILE = DATA_DIR / "msc_examples.json"
GENERAL = "00"

_WORD = re.compile(r"[a-z]+|\d+")
_STOP = frozenset(
    "a an the of and or to in on for is are be by with what how find let that this it its as at "
    "from if then which there their than we you your all each has have do does given show prove "
    "determine value number numbers".split()
)


@dataclass(frozen=True)
class Domain:
    code: str
    name: str
    keywords: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"


@lru_cache(maxsize=1)
def load_domains() -> tuple[Domain, ...]:
    """The shipped MSC2020 top-level list."""
    raw = json.loads(DOMAINS_FILE.read_text(encoding="utf-8"))
    return tuple(Domain(d["code"], d["name"], tuple(d.get("keywords", ()))) for d in raw["domains"])


def domain_by_code(code: str) -> Domain:
    for d in load_domains():
        if d.code == code:
            return d
    raise S1Error(f"unknown MSC code {code!r}", "see s1_data/msc_domains.json for the list")


def tokens(text: str) -> list[str]:
    """Lower-cased words (digits kept as one token class), light plural stripping."""
    out = []
    for w in _WORD.findall(text.lower()):
        if w.isdigit():
            continue
        if w in _STOP or len(w) < 2:
            continue
        if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


def features(text: str) -> list[str]:
    t = tokens(text)
    return t + [f"{a}_{b}" for a, b in zip(t, t[1:])]


@dataclass(frozen=True)
class Classification:
    code: str
    label: str
    confidence: float
    classifier: str


class LexicalClassifier:
    """Multinomial naive Bayes on the shipped names, keywords and labelled questions."""

    name = "lexical"

    def __init__(self, alpha: float = 0.1, keyword_weight: int = 3) -> None:
        self.domains = load_domains()
        counts: dict[str, Counter[str]] = {d.code: Counter() for d in self.domains}
        for d in self.domains:
            counts[d.code].update(features(d.name) * keyword_weight)
            for kw in d.keywords:
                counts[d.code].update(features(kw) * keyword_weight)
        examples = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))["examples"]
        for ex in examples:
            counts[ex["code"]].update(features(ex["question"]))
        self.vocab = set().union(*counts.values())
        v = len(self.vocab)
        self.loglik: dict[str, dict[str, float]] = {}
        self.unseen: dict[str, float] = {}
        for code, c in counts.items():
            total = sum(c.values())
            denom = total + alpha * v
            self.loglik[code] = {w: math.log((n + alpha) / denom) for w, n in c.items()}
            self.unseen[code] = math.log(alpha / denom)

    def scores(self, text: str) -> dict[str, float]:
        feats = [f for f in features(text) if f in self.vocab]
        return {
            code: sum(table.get(f, self.unseen[code]) for f in feats)
            for code, table in self.loglik.items()
        }

    def classify(self, text: str) -> Classification:
        feats = [f for f in features(text) if f in self.vocab]
        if not feats:
            return Classification(GENERAL, domain_by_code(GENERAL).label, 0.0, self.name)
        scores = self.scores(text)
        best = max(scores, key=lambda c: scores[c])
        top = scores[best]
        z = sum(math.exp(s - top) for s in scores.values())
        return Classification(best, domain_by_code(best).label, 1.0 / z, self.name)

    def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        return [self.classify(t) for t in texts]


CLASSIFY_PROMPT = """Classify the question below into exactly one top-level domain of the \
Mathematics Subject Classification (MSC2020). The domains:

{domains}

Question:
{question}

Reply with the two-digit code of the domain only."""


def classification_prompt(question: str) -> str:
    listing = "\n".join(f"{d.code} {d.name}" for d in load_domains())
    return CLASSIFY_PROMPT.format(domains=listing, question=question.strip())


_CODE = re.compile(r"(?<!\d)(\d{2})(?!\d)")


def parse_domain(answer: str) -> str | None:
    """The MSC code an answer names (its last two-digit code, else a domain name)."""
    codes = {d.code for d in load_domains()}
    found = [c for c in _CODE.findall(answer or "") if c in codes]
    if found:
        return found[-1]
    low = (answer or "").lower()
    for d in sorted(load_domains(), key=lambda d: -len(d.name)):
        if d.name.lower().split(",")[0].split(";")[0] in low:
            return d.code
    return None


class ModelClassifier:
    """A model through the engine, with the lexical classifier as a fallback."""

    def __init__(self, engine: Any, policy: Any, model_name: str) -> None:
        self.engine = engine
        self.policy = policy
        self.name = f"model:{model_name}"
        self.fallback = LexicalClassifier()

    def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        results = self.engine.generate_many(
            [classification_prompt(t) for t in texts], [self.policy] * len(texts)
        )
        out = []
        for text, res in zip(texts, results):
            code = parse_domain(res.answer)
            if code is None:
                fb = self.fallback.classify(text)
                out.append(Classification(fb.code, fb.label, fb.confidence, f"{self.name}>lexical"))
            else:
                out.append(Classification(code, domain_by_code(code).label, 1.0, self.name))
        return out
