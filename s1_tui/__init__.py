"""s1_tui: the live reasoning console (Textual), `s1 tui`.

app.py             S1App: the engine's lifecycle and status, theme, palette, global keys,
                   the flush timer
screens/main.py    MainScreen (+ main.tcss): prompt, columns, status line, footer; every
                   steering key and its action; the `phase` reactive behind the footer
screens/*.py       the modals: help, history, a one-line question
widgets/run_view   RunView: owns one Run, reads its stream in its own worker, flushes
                   its panes, and calls its session when a key says so
widgets/stream_pane  StreamPane: streaming Markdown that stays cheap on long traces
run.py             Run (plain data), the session protocols, machine_facts, replays
phase.py           what the runs do, and which keys apply then (pure)
status.py          the status line from a snapshot (pure)
trace.py           the stream items as pane text, with every intervention marked (pure)
messages.py        RunEvent, RunFinished, EngineReady, EngineFailed
history.py         the JSONL history and its exports;  fakes.py: FakeSession
"""
