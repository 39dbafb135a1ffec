#!/usr/bin/env bash
# There (a lent 2-GPU host, commands run in the repository copy the device tool sends):
# the training and vLLM figures of bench/train/gpu_train.md and bench/engine/gpu_engine.md in one
# lease. Each step is one `device run` call, fired back to back (the machine goes back
# 30 s after a call); long work runs in the background (setsid), and the status calls
# keep the machine while it runs.
#
#   bash .gpusnap/bench/gpu/lease.sh train   # carry .gpusnap .gpuparts/train: wheels, training
#   cp .gpuparts/partNN /tmp/parts/          # carry .gpuparts/partNN: vLLM's pieces, one a call
#   bash .gpusnap/bench/gpu/lease.sh vllm    # carry .gpusnap .gpuparts/extra .gpuparts/eval:
#                                            # install vLLM, queue the vLLM jobs
#   bash .gpusnap/bench/gpu/lease.sh status  # logs so far; results copied to $OUT
#
# Code runs from copies in /tmp (the carried .gpusnap), so a later call that replaces the
# repository copy cannot change what a running job imports. vLLM and its requirements go
# to /tmp/vsite, apart from the training's wheels in /tmp/site.
set -uo pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
# never NVLink multicast on these hosts (KINDS.md)
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 VLLM_ALLREDUCE_USE_SYMM_MEM=0
RUNS=${RUNS:-"1:recipe,1:pf;1:pf-liger,1:pf-sac;2:best;1:pf:7b:5"}
V=/tmp/v_out
case "${1:-status}" in
train)
    nvidia-smi --query-gpu=index,name,driver_version,memory.used,clocks.sm --format=csv
    nvidia-smi topo -m 2>/dev/null | head -4
    rm -rf /tmp/code && mkdir -p /tmp/code /tmp/parts /tmp/site && cp -r .gpusnap/. /tmp/code/
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
        .gpuparts/train/*.whl || exit 1
    export PYTHONPATH=/tmp/site:/tmp/code
    python3 -c "import trl, datasets, liger_kernel, torch; print('trl', trl.__version__, 'torch', torch.__version__, torch.cuda.device_count(), 'GPUs')" || exit 1
    cd /tmp/code
    setsid nohup bash -c "python3 bench/train/gpu_train.py --out /tmp/gt_out --runs '$RUNS' --deadline-s ${DEADLINE:-420}; touch /tmp/gt.done" \
        > /tmp/gt.log 2>&1 < /dev/null &
    sleep "${WAIT:-5}"
    tail -c 2000 /tmp/gt.log
    ;;
vllm)
    R=$PWD
    rm -rf /tmp/vcode && mkdir -p /tmp/vcode/.gpuparts && cp -r .gpusnap/. /tmp/vcode/
    cp -r .gpuparts/extra /tmp/vcode/.gpuparts/
    cd /tmp/vcode
    sed 's#/tmp/site#/tmp/vsite#g' bench/gpu/install_vllm.sh > /tmp/install_vllm.sh
    bash /tmp/install_vllm.sh || exit 1
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/vsite "$R"/.gpuparts/eval/*.whl
    export PYTHONPATH=/tmp/vsite:/tmp/site:/tmp/vcode
    python3 -c "import math_verify, vllm; print('vllm', vllm.__version__)" || exit 1
    mkdir -p $V
    # GPU 1 once the two-GPU training is done (the check message), GPU 0 once all training
    # is; then both for the data/tensor-parallel grid. gpu_engine and eval_parallel build
    # the same graph one after the other: one compile cache.
    setsid nohup bash -c "
        ( while ! grep -q 'checkpoint check' /tmp/gt.log && [ ! -e /tmp/gt.done ]; do sleep 2; done
          VLLM_CACHE_ROOT=/tmp/vc_lock CUDA_VISIBLE_DEVICES=1 python3 bench/eval/eval_lockstep.py --questions 32 --budgets 32,64,128,auto --num-ignore 0,1,2,4 --temperature 0.12 --layers 28 --hidden 1536 --intermediate 8960 --max-model-len 4096 --repeats 8 --free --skip-per-policy --json $V/lockstep.json > $V/lock.log 2>&1 ) &
        ( while [ ! -e /tmp/gt.done ]; do sleep 2; done
          VLLM_CACHE_ROOT=/tmp/vc_15b CUDA_VISIBLE_DEVICES=0 python3 bench/engine/gpu_engine.py --out $V/eng --repeats 8 --skip latency,decode,default > $V/eng.log 2>&1 ) &
        wait
        VLLM_CACHE_ROOT=/tmp/vc_15b CUDA_VISIBLE_DEVICES=0,1 python3 bench/eval/eval_parallel.py --out $V/par --configs tp1,dp2,tp2 --repeats 3 > $V/par.log 2>&1
        touch /tmp/v.done" > /tmp/v.log 2>&1 < /dev/null &
    sleep 1
    tail -c 1500 /tmp/gt.log
    ;;
status)
    sleep "${WAIT:-0}"
    mkdir -p "$OUT"
    ls /tmp/gt.done /tmp/v.done 2>/dev/null
    nvidia-smi --query-gpu=index,memory.used,utilization.gpu --format=csv,noheader
    cp /tmp/gt_out/gpu_train.json "$OUT/" 2>/dev/null
    for f in $V/par/eval_parallel.json $V/eng/gpu_engine.json $V/lockstep.json; do
        [ -e "$f" ] && cp "$f" "$OUT/"
    done
    grep -v '^{"spec' /tmp/gt.log | tail -c 1500
    for f in $V/*.log; do [ -e "$f" ] && { echo "== $f"; grep -v "INFO\|WARNING\|it/s\]\|^$" "$f" | tail -c 1200; }; done
    tar czf "$OUT/logs.tgz" /tmp/gt.log /tmp/v.log /tmp/s1_gpu_train/*.log $V/*.log 2>/dev/null
    ;;
esac
