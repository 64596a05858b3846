#!/usr/bin/env bash
# Installs what is missing, builds everything (the CUDA kernels too when nvcc is present) and runs
# every test with ctest. Usage: scripts/test.sh [--asan]   (--asan: the ASan+UBSan build instead)
set -euo pipefail
cd "$(dirname "$0")/.."
# Let ccache share results between clones in different folders.
export CCACHE_BASEDIR="$PWD"
scripts/install-deps.sh

preset=default
if [ "${1:-}" = "--asan" ]; then preset=asan; fi

cmake_args=()
if [ "$preset" = default ] && [ -z "${CUDAARCHS:-}" ]; then
  if nvidia-smi >/dev/null 2>&1; then
    cmake_args+=(-DCMAKE_CUDA_ARCHITECTURES=native)
  else
    # No GPU here to run the kernels: compile them to PTX only, which checks them and keeps the build short.
    cmake_args+=(-DCMAKE_CUDA_ARCHITECTURES=80-virtual)
  fi
fi

start=$(date +%s)
cmake --preset "$preset" "${cmake_args[@]}"
cmake --build --preset "$preset"
ctest --preset "$preset" -j 2
echo "scripts/test.sh ($preset): $(( $(date +%s) - start )) s"
