#!/bin/sh
# Here (with network): fetch the wheels the GPU machine's image lacks into .whl/ (git-ignored), for
# tests/benchmarks/gpu_device.sh. The image has torch, transformers, timm, numpy, scipy, opencv, but not
# PyAV, segment-anything or platformdirs (see the device tool's KINDS.md). About 36 MB.
set -eu
cd "$(dirname "$0")/../.."
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl "av==$(python3 -c 'import av; print(av.__version__)')" segment-anything platformdirs
ls -l .whl
