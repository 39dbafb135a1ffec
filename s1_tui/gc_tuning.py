"""No full garbage collections while a run streams.

A full (gen 2) collection of a big widget tree takes 0.1-0.4 s here: a frozen UI and a
late key press. While any run streams, only the young generations are collected; once
the last one ends, the thresholds come back and one full collection runs when idle.
"""

from __future__ import annotations

import gc


class StreamingGC:
    def __init__(self) -> None:
        self._streaming: set[object] = set()
        self._saved: tuple[int, int, int] | None = None

    def hold(self, who: object) -> None:
        """`who` streams: no full collections until it is released."""
        self._streaming.add(who)
        if self._saved is None:
            self._saved = gc.get_threshold()
            t0, t1, _ = self._saved
            gc.set_threshold(t0, t1, 1_000_000)

    def release(self, who: object) -> bool:
        """`who` is done; True when it was the last (time for one full collection)."""
        self._streaming.discard(who)
        if self._streaming or self._saved is None:
            return False
        self.restore()
        return True

    def collect_if_idle(self) -> None:
        if self._saved is None and not self._streaming:
            gc.collect()

    def restore(self) -> None:
        """The normal thresholds again (also when the app closes mid-stream)."""
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
