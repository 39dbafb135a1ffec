#!/usr/bin/env bash
# There, after the five part calls (see lease_engine.sh): install vLLM, then sample every
# process through raw and plain in-engine runs (bench/engine/profile_in_engine.py); the
# stacks and milestones to $OUT. One call, about 3 minutes.
set -uo pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 NCCL_NVLS_ENABLE=0
[ -e /tmp/site/vllm ] || bash bench/gpu/install_vllm.sh || exit 1
mkdir -p "$OUT/prof"
S1_SAMPLE_DIR="$OUT/prof" PYTHONPATH=bench/gpu/sampler:/tmp/site:$PWD timeout ${TIMEOUT:-400} \
    python3 bench/engine/profile_in_engine.py --shape 1.5b --requests ${N:-256} --repeats ${REPEATS:-2} ${FORCED:+--forced} \
    --out "$OUT/prof" > "$OUT/prof.log" 2>&1
rm -rf "$OUT"/prof/model-*
grep -v "INFO\|WARNING" "$OUT/prof.log" | tail -5
python3 bench/engine/profile_in_engine.py --report "$OUT/prof" > "$OUT/report.txt" 2>&1
grep -A12 "plain1 | MainThread\|raw1 | MainThread\|forced1 | MainThread" "$OUT/report.txt" | head -120
