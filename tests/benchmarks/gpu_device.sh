#!/bin/sh
# On the lent GPU machine, one call (device tool: carry [".whl"], timeout_s 600):
#     sh tests/benchmarks/gpu_device.sh
# Installs the wheels gpu_wheels.sh fetched, then runs both GPU benchmarks at real model sizes with
# random weights; their JSON lines (and the GPU's name) land in $OUT.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/avs-gpu-out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'
timeout 330 python3 tests/benchmarks/gpu_openavs.py | tee "$OUT/gpu_openavs.jsonl"
timeout 200 python3 tests/benchmarks/gpu_training.py | tee "$OUT/gpu_training.jsonl"
