#!/usr/bin/env bash
# There (a lent 4-GPU host, commands run in the repository copy the device tool sends):
# the training and vLLM figures of bench/gpu_train.md and bench/gpu_engine.md in one
# lease. Each step is one `device run` call; long work runs in the background (setsid),
# so the calls that carry vLLM's pieces overlap the training.
#
#   bash bench/gpu/lease.sh train      # carry .gpusnap .gpuparts/train: wheels, start training
#   bash bench/gpu/lease.sh part NN    # carry .gpuparts/partNN: one piece of vLLM into /tmp/parts
#   bash bench/gpu/lease.sh vllm       # carry .gpusnap .gpuparts/extra: install vLLM, then start
#                                      # the vLLM jobs once the training is done
#   bash bench/gpu/lease.sh status     # logs so far; results copied to $OUT
#
# Code runs from a copy in /tmp/code (the carried .gpusnap), so a later call that
# replaces the repository copy cannot change what a running job imports.
set -uo pipefail
export PYTHONPATH=/tmp/site:/tmp/code PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
# never NVLink multicast on these hosts (KINDS.md)
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 VLLM_ALLREDUCE_USE_SYMM_MEM=0
RUNS=${RUNS:-"1:recipe,1:pf,1:pf-liger,1:pf-sac;2:best,1:best:7b:4;4:best;4:best:7b:5"}
OUT=${OUT:-/tmp/out}
case "${1:-status}" in
train)
    nvidia-smi --query-gpu=index,name,driver_version,memory.used,clocks.sm --format=csv
    nvidia-smi topo -m 2>/dev/null | head -6
    rm -rf /tmp/code && mkdir -p /tmp/code /tmp/parts /tmp/site && cp -r .gpusnap/. /tmp/code/
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
        .gpuparts/train/*.whl || exit 1
    python3 -c "import trl, datasets, liger_kernel, torch; print('trl', trl.__version__, 'torch', torch.__version__, torch.cuda.device_count(), 'GPUs')" || exit 1
    cd /tmp/code
    setsid nohup bash -c "python3 bench/gpu_train.py --out /tmp/gt_out --runs '$RUNS' --deadline-s ${DEADLINE:-900}; touch /tmp/gt.done" \
        > /tmp/gt.log 2>&1 < /dev/null &
    sleep "${WAIT:-90}"
    tail -c 4000 /tmp/gt.log
    ;;
part)
    cp ".gpuparts/part$2" /tmp/parts/ && ls -la /tmp/parts
    tail -c 1500 /tmp/gt.log
    ;;
vllm)
    rm -rf /tmp/vcode && mkdir -p /tmp/vcode && cp -r .gpusnap/. /tmp/vcode/
    mkdir -p /tmp/vcode/.gpuparts && cp -r .gpuparts/extra /tmp/vcode/.gpuparts/
    (cd /tmp/vcode && bash bench/gpu/install_vllm.sh) || exit 1
    cd /tmp/vcode
    export PYTHONPATH=/tmp/site:/tmp/vcode
    V=/tmp/v_out && mkdir -p $V
    # after the training (it needs every GPU), three jobs at once on disjoint GPUs; each
    # its own compile cache (two build the same graph)
    setsid nohup bash -c "
        while [ ! -e /tmp/gt.done ]; do sleep 2; done
        VLLM_CACHE_ROOT=/tmp/vc_par CUDA_VISIBLE_DEVICES=0,1 python3 bench/eval_parallel.py --out $V/par --configs tp1,dp2,tp2 > $V/par.log 2>&1 &
        VLLM_CACHE_ROOT=/tmp/vc_eng CUDA_VISIBLE_DEVICES=2 python3 bench/gpu_engine.py --out $V/eng --repeats 8 --skip latency,decode,default > $V/eng.log 2>&1 &
        VLLM_CACHE_ROOT=/tmp/vc_lock CUDA_VISIBLE_DEVICES=3 python3 bench/eval_lockstep.py --questions 32 --budgets 32,64,128,auto --num-ignore 0,1,2,4 --temperature 0.12 --layers 28 --hidden 1536 --intermediate 8960 --max-model-len 4096 --repeats 8 --json $V/lockstep.json > $V/lock.log 2>&1 &
        wait; touch /tmp/v.done" > /tmp/v.log 2>&1 < /dev/null &
    sleep 1
    tail -c 2500 /tmp/gt.log
    ;;
status)
    mkdir -p "$OUT"
    ls /tmp/gt.done /tmp/v.done 2>/dev/null
    cp /tmp/gt_out/gpu_train.json "$OUT/" 2>/dev/null
    for f in /tmp/v_out/par/eval_parallel.json /tmp/v_out/eng/gpu_engine.json /tmp/v_out/lockstep.json; do
        [ -e "$f" ] && cp "$f" "$OUT/"
    done
    tail -c 3000 /tmp/gt.log
    for f in /tmp/v_out/*.log; do [ -e "$f" ] && { echo "== $f"; grep -v "INFO\|WARNING\|it/s\]" "$f" | tail -c 1500; }; done
    tar czf "$OUT/logs.tgz" /tmp/gt.log /tmp/s1_gpu_train/*.log /tmp/v_out/*.log 2>/dev/null
    ;;
esac
