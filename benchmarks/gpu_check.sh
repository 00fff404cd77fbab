#!/usr/bin/env bash
# GPU check: on a machine with CUDA, time the three GPU paths of the workflow and print samples/s and
# peak GPU memory for each (benchmarks/gpu_check.py):
#   1. one epoch of the thesis's width-1 CoinRun reward net (bf16 autocast, channels-last) on 50k transitions,
#      and the transition reader alone;
#   2. one chapter-4 specialization (lesions and visualisations, k = 16, 19 random subclusters) of an MLP;
#   3. one clusterability run (a graph and 50 shuffles) on the GPU path.
# Without CUDA it refuses in one line and runs nothing.
#   bash benchmarks/gpu_check.sh [--dataset <transition dataset folder>] [--n 50000]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_check: no CUDA device is visible to torch ($PY); run it on a machine with an NVIDIA GPU and a CUDA build of torch. Nothing was run."
    exit 2
fi
exec "$PY" benchmarks/gpu_check.py "$@"
