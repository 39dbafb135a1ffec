#!/usr/bin/env bash
# There (one lent H200; each step one `device run` call, fired back to back):
#   cp .gpuparts/partNN /tmp/parts/            # five calls, each carrying .gpuparts/partNN
#   bash bench/gpu/lease_engine.sh start       # carry .gpuparts/extra: install vLLM, start the bench
#                                              # (after PRE: processor_run.py, the processor alone)
#   bash bench/gpu/lease_engine.sh wait        # poll (up to ~9 min a call); results to $OUT
#   bash bench/gpu/lease_engine.sh serve       # then bench/serve/serve.py on the same install; wait again
#                                              # (serve: not yet tried on a lent machine)
# The bench runs from a copy in /tmp/code (a later call's repository copy cannot change it).
set -uo pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONPATH=/tmp/site:/tmp/code
ARGS=${ARGS:-"--shape 1.5b --requests 256,1024 --pairs 8 --full-max 256 --micro --bare-floor --deadline-s 900"}
SERVE_ARGS=${SERVE_ARGS:-"--gpu --shape 1.5b --streams 64,256 --pairs 8 --per-token ''"}
launch() {  # detached, so the call can end and a later one poll it
    rm -f /tmp/ie.done; mkdir -p /tmp/ie_out
    setsid nohup bash -c "cd /tmp/code && $1 > /tmp/ie.log 2>&1; touch /tmp/ie.done" < /dev/null > /dev/null 2>&1 &
    sleep 20; tail -c 1500 /tmp/ie.log
}
case "${1:-wait}" in
start)
    nvidia-smi --query-gpu=name,driver_version,memory.used,clocks.sm --format=csv
    rm -rf /tmp/code && mkdir -p /tmp/code && cp -r . /tmp/code/ && cd /tmp/code
    bash bench/gpu/install_vllm.sh || exit 1
    PRE=${PRE:-"python3 bench/engine/processor_run.py --requests 1024 --vocab 151936 --model /tmp/pr"}
    launch "$PRE > /tmp/ie_out/processor_run.log 2>&1; python3 bench/engine/in_engine.py $ARGS --out /tmp/ie_out"
    ;;
serve)
    cp /tmp/ie.log /tmp/ie_out/in_engine.log 2>/dev/null
    launch "python3 bench/serve/serve.py $SERVE_ARGS --out /tmp/ie_out/serve_gpu.json"
    ;;
wait)
    for _ in $(seq 1 ${POLLS:-100}); do [ -e /tmp/ie.done ] && break; sleep 5; done
    mkdir -p "$OUT"; cp /tmp/ie_out/*.json /tmp/ie_out/*.log "$OUT/" 2>/dev/null; cp /tmp/ie.log "$OUT/" 2>/dev/null
    ls /tmp/ie.done 2>/dev/null; grep -v "INFO\|WARNING\|it/s\]" /tmp/ie.log | tail -c 3000
    ;;
esac
