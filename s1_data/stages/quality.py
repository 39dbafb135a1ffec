"""Quality filters: drop broken or badly formatted items, and duplicates.

Each dropped item keeps a reason code (the keys of `REASONS`) and a detail string.
Checks run in this order; the first that fails names the reason:
missing_field, garbled_encoding, image_reference, ascii_art, broken_formatting,
then exact_duplicate and near_duplicate (MinHash LSH, datasketch) among the rest.

Settings: `QualitySettings` (below); the stage (`depends_on`, `run`, `STAGE`): at the end.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from s1_engine.options import option

from .base import P_QUAL, Job, Result, Rows, Stage, drop_record

REASONS = {
    "missing_field": "a required field (question, solution) is missing or empty",
    "garbled_encoding": "mojibake, replacement characters or control characters",
    "image_reference": "refers to a figure, image or diagram that is not in the text",
    "ascii_art": "lines drawn with symbols (ASCII art) that a text model cannot read",
    "broken_formatting": "unbalanced braces/environments, HTML residue, runs of one character",
    "exact_duplicate": "the same question (after normalizing case, spaces, punctuation)",
    "near_duplicate": "almost the same question (MinHash Jaccard over word shingles)",
}


@dataclass
class QualitySettings:
    dedup_threshold: float = option(
        0.8,
        "MinHash Jaccard at or above which two questions are near-duplicates.",
        panel=P_QUAL,
        above=0,
        max=1,
        example="--dedup-threshold 0.8",
    )
    num_perm: int = option(128, "MinHash permutations.", panel=P_QUAL, min=1)
    shingle: int = option(3, "Words per shingle for MinHash.", panel=P_QUAL, min=1)


_IMAGE = re.compile(
    r"!\[[^\]]*\]\([^)]*\)"  # markdown image
    r"|<img\b"
    r"|\\includegraphics"
    r"|\.(?:png|jpe?g|gif|svg|bmp)\b"
    r"|\b(?:see|in|from|use|shown in|refer to|according to|given in)\s+(?:the\s+)?"
    r"(?:figure|fig\.|diagram|image|picture|illustration|graph below|graph above|table below)"
    r"|\b(?:figure|diagram|picture|image|illustration)\s+(?:below|above|shown|attached)\b"
    r"|\b(?:shown|pictured|depicted|illustrated)\s+(?:below|above|in the (?:figure|diagram))"
    r"|\bthe (?:figure|diagram|picture)\b"
    r"|\b(?:fig\.|figure)\s*\d",
    re.IGNORECASE,
)
_MOJIBAKE = re.compile(
    "Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u2013-\u2122]"
    "|â€|Â[\u00a0-\u00bf]|ï¿½|Ã¢"
)
_HTML = re.compile(
    r"</?(?:div|span|p|br|td|tr|table|font|sup|sub)\b[^>]*>|&(?:nbsp|amp|lt|gt|quot|#\d+);"
)
_RUN = re.compile(r"([^\w\s])\1{19,}|([A-Za-z])\2{14,}")
_BEGIN = re.compile(r"\\begin\{(\w+\*?)\}")
_ART_CHARS = set("|/\\_-+=*#<>^~.:'`()[]{}oOx")


@dataclass(frozen=True)
class Verdict:
    reason: str
    detail: str


def _fields(item: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, item.get(k) or "") for k in ("question", "solution", "attempt")]


def check_missing(item: dict[str, Any]) -> Verdict | None:
    for key in ("question", "solution"):
        v = item.get(key)
        if v is None or not str(v).strip():
            return Verdict("missing_field", f"{key} is {'missing' if v is None else 'empty'}")
    return None


def check_encoding(item: dict[str, Any]) -> Verdict | None:
    for key, text in _fields(item):
        if "\ufffd" in text:
            return Verdict("garbled_encoding", f"{key} has U+FFFD replacement characters")
        m = _MOJIBAKE.search(text)
        if m:
            return Verdict("garbled_encoding", f"{key} has mojibake {m.group(0)!r}")
        bad = [
            c for c in text if unicodedata.category(c) in ("Cc", "Co", "Cs") and c not in "\n\r\t"
        ]
        if bad:
            return Verdict("garbled_encoding", f"{key} has control characters {bad[0]!r}")
    return None


def check_images(item: dict[str, Any]) -> Verdict | None:
    m = _IMAGE.search(item.get("question") or "")
    if m:
        return Verdict("image_reference", f"question mentions {m.group(0).strip()!r}")
    return None


def _art_line(line: str) -> bool:
    """A line drawn with symbols: at least two marks, (almost) no letters or digits."""
    s = line.replace(" ", "").replace("\t", "")
    if len(s) < 2:
        return False
    symbols = sum(1 for c in s if c in _ART_CHARS)
    alnum = sum(1 for c in s if c.isalnum() and c not in "oOx")
    return symbols >= 2 and symbols / len(s) >= 0.7 and alnum <= len(s) * 0.25


def check_ascii_art(item: dict[str, Any], min_lines: int = 3) -> Verdict | None:
    for key in ("question", "solution"):
        text = item.get(key) or ""
        if "[asy]" in text:  # Asymptote code draws a figure in text: readable
            continue
        lines = [ln for ln in text.splitlines() if _art_line(ln)]
        if len(lines) >= min_lines:
            return Verdict("ascii_art", f"{key} has {len(lines)} lines of ASCII art")
    return None


def check_formatting(item: dict[str, Any]) -> Verdict | None:
    for key, text in _fields(item):
        if not text:
            continue
        bare = text.replace("\\{", "").replace("\\}", "")
        diff = bare.count("{") - bare.count("}")
        if diff:
            return Verdict("broken_formatting", f"{key} has unbalanced braces ({diff:+d})")
        for env in set(_BEGIN.findall(text)):
            if text.count(f"\\begin{{{env}}}") != text.count(f"\\end{{{env}}}"):
                return Verdict("broken_formatting", f"{key} has \\begin{{{env}}} without \\end")
        m = _HTML.search(text)
        if m:
            return Verdict("broken_formatting", f"{key} has HTML residue {m.group(0)!r}")
        m = _RUN.search(text)
        if m:
            return Verdict("broken_formatting", f"{key} has a run of {m.group(0)[:8]!r}...")
    return None


ITEM_CHECKS: list[Callable[[dict[str, Any]], Verdict | None]] = [
    check_missing,
    check_encoding,
    check_images,
    check_ascii_art,
    check_formatting,
]


def check_item(item: dict[str, Any]) -> Verdict | None:
    for check in ITEM_CHECKS:
        v = check(item)
        if v is not None:
            return v
    return None


# ----- duplicates ------------------------------------------------------------------------
_NORM = re.compile(r"[^\w]+")


def normalize(text: str) -> str:
    return _NORM.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def shingles(text: str, n: int = 3) -> set[str]:
    words = normalize(text).split()
    if len(words) < n:
        return {" ".join(words)}
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def minhash(text: str, num_perm: int = 128, n: int = 3) -> Any:
    from datasketch import MinHash

    m = MinHash(num_perm=num_perm, seed=1)
    m.update_batch([s.encode("utf-8") for s in shingles(text, n)])
    return m


class Deduplicator:
    """Exact (normalized hash) and near (MinHash LSH) duplicates; the first one seen stays."""

    def __init__(self, threshold: float = 0.8, num_perm: int = 128, shingle: int = 3) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        self.num_perm = num_perm
        self.shingle = shingle
        self.exact: dict[str, str] = {}
        self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.hashes: dict[str, Any] = {}

    def check(self, key: str, text: str) -> Verdict | None:
        """Check one item and, if it is new, remember it."""
        digest = hashlib.sha1(normalize(text).encode()).hexdigest()
        if digest in self.exact:
            return Verdict("exact_duplicate", f"same question as {self.exact[digest]}")
        m = minhash(text, self.num_perm, self.shingle)
        best, best_j = None, 0.0
        for other in self.lsh.query(m):
            j = m.jaccard(self.hashes[other])
            if j > best_j:
                best, best_j = other, j
        if best is not None and best_j >= self.threshold:
            return Verdict("near_duplicate", f"Jaccard {best_j:.2f} with {best}")
        self.exact[digest] = key
        self.lsh.insert(key, m)
        self.hashes[key] = m
        return None


def run_quality(
    items: Sequence[dict[str, Any]],
    threshold: float = 0.8,
    num_perm: int = 128,
    shingle: int = 3,
    advance: Callable[[int], None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(kept, dropped); each dropped record has the item and its reason + detail."""
    dedup = Deduplicator(threshold, num_perm, shingle)
    kept: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    for item in items:
        v = check_item(item)
        if v is None:
            v = dedup.check(item["id"], item["question"])
        if v is None:
            kept.append(item)
        else:
            dropped.append(drop_record(item, "quality", v.reason, v.detail))
        if advance:
            advance(1)
    return kept, dropped


# ----- the stage -------------------------------------------------------------------------
def depends_on(job: Job) -> dict[str, Any]:
    s = job.get(QualitySettings)
    return {"t": s.dedup_threshold, "p": s.num_perm, "s": s.shingle}


def run(items: Rows, job: Job) -> Result:
    s = job.get(QualitySettings)
    kept, dropped = run_quality(items, s.dedup_threshold, s.num_perm, s.shingle, job.advance)
    return kept, dropped, {"dedup_threshold": s.dedup_threshold, "shingle_words": s.shingle}


STAGE = Stage(
    "quality",
    "quality",
    "Drop broken, badly formatted and duplicate items (with reasons).",
    (QualitySettings,),
    depends_on,
    run,
)
