"""A wall-clock stack sampler for every Python process of a run (diagnosis only).

On PYTHONPATH with S1_SAMPLE_DIR set, each process (and each forked child) samples all
its threads every 2 ms and writes collapsed stacks ("phase;thread;frame;...;frame N") to
S1_SAMPLE_DIR/stacks-PID.txt every 2 s. The phase is the text of S1_SAMPLE_DIR/phase,
which the driving script writes, so one run compares its phases (raw vs ours)."""

import os
import sys
import threading
import time
from collections import Counter


def _start() -> None:
    folder = os.environ["S1_SAMPLE_DIR"]
    counts: Counter = Counter()

    def frame_names(f) -> list[str]:
        out = []
        while f is not None:
            c = f.f_code
            out.append(f"{os.path.basename(c.co_filename)}:{c.co_name}:{f.f_lineno}")
            f = f.f_back
        return out[::-1]

    def loop() -> None:
        me = threading.get_ident()
        phase, last_phase, last_dump = "start", 0.0, time.time()
        names = {}
        while True:
            time.sleep(0.002)
            now = time.time()
            if now - last_phase > 0.1:
                try:
                    phase = open(os.path.join(folder, "phase")).read().strip() or phase
                except OSError:
                    pass
                last_phase = now
                names = {t.ident: t.name for t in threading.enumerate()}
            for ident, f in sys._current_frames().items():
                if ident == me:
                    continue
                stack = frame_names(f)
                counts[";".join([phase, names.get(ident, str(ident))] + stack)] += 1
            if now - last_dump > 2:
                last_dump = now
                path = os.path.join(folder, f"stacks-{os.getpid()}.txt")
                with open(path + ".tmp", "w") as fh:
                    fh.write(f"# {' '.join(sys.argv)[:200]}\n")
                    for k, v in counts.items():
                        fh.write(f"{k} {v}\n")
                os.replace(path + ".tmp", path)

    threading.Thread(target=loop, daemon=True, name="s1-sampler").start()


if os.environ.get("S1_SAMPLE_DIR"):
    _start()
    os.register_at_fork(after_in_child=_start)
