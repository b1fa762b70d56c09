#!/usr/bin/env bash
# Build a small bitsandbytes folder to carry to a GPU machine that lacks it (docs/PERFORMANCE.md).
# The 0.50.2 wheel (43 MB) holds native libraries for every CUDA/ROCm version; this keeps the Python
# package plus only libbitsandbytes_cpu.so and libbitsandbytes_cuda${CUDA_TAG}.so (CUDA 13.0 -> 130).
#   benchmarks/gpu_setup.sh [OUT_DIR] [CUDA_TAG]      then: export PYTHONPATH=OUT_DIR:$PYTHONPATH
set -euo pipefail
out="${1:-build/bnb-carry}"
cuda_tag="${2:-130}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pip download bitsandbytes==0.50.2 --no-deps --only-binary=:all: -d "$work" -q
python -m zipfile -e "$work"/bitsandbytes-0.50.2-*.whl "$work/unpacked"
find "$work/unpacked/bitsandbytes" -name 'libbitsandbytes_*' \
  ! -name 'libbitsandbytes_cpu.so' ! -name "libbitsandbytes_cuda${cuda_tag}.so" -delete
rm -rf "$out"
mkdir -p "$out"
cp -r "$work/unpacked/bitsandbytes" "$out/"
du -sh "$out"
ls "$out/bitsandbytes"/libbitsandbytes_*
