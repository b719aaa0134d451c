#!/usr/bin/env bash
# Checks SparseNet's GPU backend on a machine with an NVIDIA (or OpenCL 2.0+) GPU, which needs no .NET SDK.
#
#   scripts/gpu-check.sh --publish-only     on a machine with the .NET SDK: build the self-contained runner
#                                           into artifacts/gpu-check/ (one compressed self-contained executable, about 60 MB; copy it, or the whole
#                                           checkout with it, to the GPU machine)
#   scripts/gpu-check.sh [runner options]   build the runner if the SDK is here and it is missing or stale,
#                                           then run it: every backend op against the CPU on the GPU, the GPU
#                                           benchmarks (SGEMM, masked SGEMM, convolution, radix select) and one
#                                           LeNet-300-100 lottery level on the GPU and on the CPU, as a table
#                                           naming the device
#
# Runner options: --device cuda|opencl|ilgpu-cpu|auto (default auto), --no-bench, --no-lottery.
# Exit status: 0 when every check passed and the lottery accuracies agree within 0.5 points.
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/gpu-check
runner="$out/sparsenet-gpu-check"

publish=0
if [[ "${1:-}" == "--publish-only" ]]; then
  publish=1
  shift
fi

if command -v dotnet >/dev/null && dotnet --list-sdks 2>/dev/null | grep -q .; then
  stale=$([[ -x "$runner" ]] && find Kernels Engine Pruning Cli Benchmarks GpuCheck -name '*.cs' -newer "$runner" -print -quit || echo missing)
  if [[ -n "$stale" || "$publish" == 1 ]]; then
    echo "publishing the self-contained runner into $out ..."
    dotnet publish GpuCheck -c Release -r linux-x64 --self-contained -p:DebugType=none -p:SatelliteResourceLanguages=en -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -o "$out" --nologo -v quiet
    echo "$(du -sh "$out" | cut -f1) in $out"
  fi
elif [[ ! -x "$runner" ]]; then
  echo "error: no .NET SDK here and no runner at $runner; run scripts/gpu-check.sh --publish-only on a machine with the SDK and copy $out" >&2
  exit 2
fi

if [[ "$publish" == 1 ]]; then
  exit 0
fi
exec "$runner" "$@"
