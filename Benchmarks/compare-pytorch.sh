#!/usr/bin/env bash
# Times one LeNet-300-100 training step (batch 60, forward + backward + Adam) in SparseNet
# (BenchmarkDotNet) and in PyTorch on the same machine, one right after the other, so the two
# numbers can be compared as a ratio. Needs Debian's python3-torch (and libopenblas0-pthread).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run -c Release --project Benchmarks -- --filter '*LeNetStep*' --job short 2>&1 | grep -E '^\| (Method|TrainStep)'
OPENBLAS_NUM_THREADS=1 /usr/bin/python3 Benchmarks/reference/lenet_step.py --threads 2 --steps 3000
