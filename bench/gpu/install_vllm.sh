#!/usr/bin/env bash
# There (the GPU machine, after every part was received into /tmp/parts by consecutive
# calls: `mkdir -p /tmp/parts && cp .gpuparts/partNN /tmp/parts/`, carrying that part):
# assemble and install vLLM into /tmp/site. Then: export PYTHONPATH=/tmp/site:$PWD
#   bash bench/gpu/install_vllm.sh
set -euo pipefail
cd /tmp
cat /tmp/parts/part* > payload.tar && tar xf payload.tar
mkdir -p /tmp/site && tar xzf vllm_trim.tar.gz -C /tmp/site
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site deps/*.whl
cd - >/dev/null
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site .gpuparts/extra/*.whl
PYTHONPATH=/tmp/site python3 -c "import vllm; from vllm.v1.engine.async_llm import AsyncLLM; print('vllm', vllm.__version__, 'ready')"
