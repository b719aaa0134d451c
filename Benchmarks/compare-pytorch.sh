#!/usr/bin/env bash
# Times one training step of LeNet-300-100 (batch 60), Conv-2 and Conv-4 (3x32x32, batch 60; Adam) and
# ResNet-20 (3x32x32, batch 128; SGD with momentum, batch norm), forward + backward + update, in SparseNet (BenchmarkDotNet) and in PyTorch on the same machine, one right after
# the other, so the numbers can be compared as ratios. PyTorch runs with 1 and 2 threads: on a
# 2-core machine two threads can oversubscribe, so compare against its best.
# Needs Debian's python3-torch (and libopenblas0-pthread). DOTNET_EnableAVX512=0 before the command
# measures SparseNet's AVX2 paths on an AVX-512 machine.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run -c Release --project Benchmarks -- --filter '*LeNetStep*' '*Conv2Step*' '*Conv4Step*' '*ResNet20Step*' --job short 2>&1 | grep -E '^\| |HardwareIntrinsics' | awk '!seen[$0]++'
for threads in 1 2; do
    OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 Benchmarks/reference/lenet_step.py --threads "$threads" --steps 3000
    OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 Benchmarks/reference/conv2_step.py --threads "$threads" --steps 50
    OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 Benchmarks/reference/conv4_step.py --threads "$threads" --steps 50
    OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 Benchmarks/reference/resnet20_step.py --threads "$threads" --steps 20
done
