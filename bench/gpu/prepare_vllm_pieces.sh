#!/usr/bin/env bash
# Here (a CPU machine with PyPI): prepare vLLM 0.24.0 for the lent GPU machine, which has
# torch 2.11.0+cu130 and transformers but no vLLM and no registry.
#
# Produces .gpuparts/part00..partNN (each < 50 MiB, to travel one per `device run` call,
# under the 64 MiB limit) and .gpuparts/extra/ (small wheels found missing there).
# Nothing of vLLM's code is committed: only this script and install_vllm.sh.
#
#   bash bench/gpu/prepare_vllm_pieces.sh
set -euo pipefail
ROOT="$(git rev-parse --show-toplevel)"
W=/tmp/gpuwheels
PY312=${PY312:-/root/.pyenv/versions/3.12.1/bin/python}
mkdir -p "$W" "$ROOT/.gpuparts/extra"
grep -qx "/.gpuparts/" "$ROOT/.git/info/exclude" || echo "/.gpuparts/" >> "$ROOT/.git/info/exclude"
[ -x /tmp/py312/bin/pip ] || "$PY312" -m venv /tmp/py312
PLAT=(--only-binary=:all: --python-version 3.12 --implementation cp
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
      --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_5_x86_64
      --platform manylinux1_x86_64 --platform manylinux_2_31_x86_64 --platform manylinux_2_34_x86_64
      --platform manylinux_2_35_x86_64 --platform any)
cd "$W"
/tmp/py312/bin/pip download -q --no-deps "${PLAT[@]}" -d . vllm==0.24.0
# The full requirement closure, resolved from metadata only (no torch download).
/tmp/py312/bin/pip install --dry-run --ignore-installed -q --report report.json vllm==0.24.0
python3 - <<'PY' > deps.txt
import json
skip = ("torch", "torchaudio", "torchvision", "triton", "numpy", "transformers", "tokenizers",
        "safetensors", "huggingface-hub", "huggingface_hub", "hf-xet", "sentencepiece", "tiktoken",
        "nvidia-", "cuda-", "flashinfer", "tilelang", "tokenspeed", "quack-kernels", "humming",
        "fastsafetensors", "opencv", "z3-solver", "apache-tvm", "torch-c-dlpack", "torch_c_dlpack",
        "grpcio", "sympy", "mpmath", "networkx", "jinja2", "markupsafe", "pillow", "ml-dtypes",
        "ml_dtypes", "cryptography", "numba", "llvmlite", "vllm", "cffi", "pycparser")
for item in json.load(open("report.json"))["install"]:
    name, ver = item["metadata"]["name"], item["metadata"]["version"]
    if not name.lower().startswith(skip):
        print(f"{name}=={ver}")
PY
mkdir -p deps && /tmp/py312/bin/pip download -q --no-deps "${PLAT[@]}" -d deps -r deps.txt
/tmp/py312/bin/pip download -q --no-deps "${PLAT[@]}" -d "$ROOT/.gpuparts/extra" apache-tvm-ffi==0.1.9
# Trim what a dense model on one Hopper GPU never loads: FlashAttention-2 (FA3 serves
# Hopper), the MoE kernels, the Rust frontend, Blackwell kernels, other Pythons' builds.
rm -rf x && mkdir x && (cd x && unzip -q ../vllm-0.24.0-*.whl)
rm -f x/vllm/vllm_flash_attn/_vllm_fa2_C.abi3.so x/vllm/_moe_C_stable_libtorch.abi3.so x/vllm/vllm-rs
rm -rf x/vllm/third_party/fmha_sm100
rm -f x/vllm/third_party/deep_gemm/_C.cpython-31[0134]-*.so
tar -czf vllm_trim.tar.gz -C x .
tar -cf payload.tar vllm_trim.tar.gz deps
rm -f "$ROOT"/.gpuparts/part*
split -b 48M -d payload.tar "$ROOT/.gpuparts/part"
ls -la "$ROOT/.gpuparts"
