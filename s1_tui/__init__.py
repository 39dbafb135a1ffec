"""s1_tui: the live reasoning console (Textual), `s1 tui`.

app.py             S1App: the engine's lifecycle and status, theme, palette, global keys,
                   the flush timer
screens/main.py    MainScreen (+ main.tcss): prompt, columns, status line, footer; every
                   key's binding; the one path runs start by; the `screen_state` reactive
screens/keys.py    what each key does (mixed into MainScreen), and why a late key does not
screens/*.py       the modals: help, history, a one-line question
widgets/run_view   RunView: owns one Run, reads its stream in its own worker, flushes
                   its panes, and calls its session when a key says so
widgets/stream_pane  StreamPane: streaming Markdown that stays cheap on long traces
widgets/prompt     PromptBox: the question box and the keys that work while it has focus
run.py             Run (plain data), the session protocols, machine_facts, replays
screen_state.py    what the runs on screen do together, and which keys apply then (pure)
status.py          the status line from a snapshot, fitted to the width (pure)
knobs.py           the budget and pace the keys turn (pure)
trace.py           the stream items as pane text, with every intervention marked (pure)
messages.py        RunEvent, RunFinished, EngineReady, EngineFailed
history.py         the JSONL history and its exports;  fakes.py: FakeSession
"""
