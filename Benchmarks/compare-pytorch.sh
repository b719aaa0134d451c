#!/usr/bin/env bash
# Times one training step of LeNet-300-100 (batch 60), Conv-2 and Conv-4 (3x32x32, batch 60; Adam) and
# ResNet-20 (3x32x32, batch 128; SGD with momentum, batch norm), forward + backward + update, in SparseNet (BenchmarkDotNet) and in PyTorch on the same machine, one right after
# the other, so the numbers can be compared as ratios. It also compares SparseNet's sparse step benchmarks
# (SparseStep: LeNet-300-100 and Conv-2 steps pruned at random to 0, 90 and 98%; SparseLinear: a masked linear layer,
# 768->3072 at batch 2048 and 4096->4096 at batch 256; SparseConv: masked 3x3 convolutions, Conv-2's 64->64 at 32x32,
# batch 60, among them) at the same sparsities against PyTorch's masked step (reference/masked_step.py): the weight
# multiplied by a 0/1 mask and the pruned gradients zeroed, as open_lth and torch.nn.utils.prune train a ticket, which
# costs the same at every sparsity. PyTorch runs with 1 and 2 threads: on a
# 2-core machine two threads can oversubscribe, so compare against its best.
# Needs Debian's python3-torch (and libopenblas0-pthread). DOTNET_EnableAVX512=0 before the command
# measures SparseNet's AVX2 paths on an AVX-512 machine; PyTorch then runs twice, as it is and restricted to AVX2
# (ATEN_CPU_CAPABILITY=avx2, DNNL_MAX_CPU_ISA=AVX2, OPENBLAS_CORETYPE=Haswell), as it would on an AVX2 CPU.
# SPARSENET_BENCH_JOB=medium (default short) gives BenchmarkDotNet more iterations.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run -c Release --project Benchmarks -- --filter '*LeNetStep*' '*Conv2Step*' '*Conv4Step*' '*ResNet20Step*' '*SparseStep*' '*SparseLinear*' '*SparseConv*' --job "${SPARSENET_BENCH_JOB:-short}" 2>&1 | grep -E '^\| |HardwareIntrinsics|^// Benchmark: ' | awk '!seen[$0]++'
pytorch() {
    for threads in 1 2; do
        OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 Benchmarks/reference/lenet_step.py --threads "$threads" --steps 3000
        OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 Benchmarks/reference/conv2_step.py --threads "$threads" --steps 50
        OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 Benchmarks/reference/conv4_step.py --threads "$threads" --steps 50
        OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 Benchmarks/reference/resnet20_step.py --threads "$threads" --steps 20
        OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 Benchmarks/reference/masked_step.py --threads "$threads"
    done
}
pytorch
if [ "${DOTNET_EnableAVX512:-1}" = 0 ]; then
    echo "PyTorch restricted to AVX2:"
    ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell pytorch
fi
