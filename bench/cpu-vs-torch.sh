#!/usr/bin/env bash
# `npm run bench:cpu-vs-torch`: the CPU backend (bench/cpu-step.ts) against PyTorch on the CPU
# (bench/torch_step.py, needs `pip install torch`), THREADS threads each (default 1), same shapes, interleaved
# (TS, torch, TS, torch, …) so that load on a shared machine hits both alike. One JSON line
# per run; compare stepMsMedian of matching shapes (stepCpuMsMedian, CPU time, where the machine
# is shared and busy).
# RELAXED_SIMD=1 adds --relaxed-simd to the TS runs (fused multiply-add kernels on Node 20).
# THREADS=2 gives both two threads (TS: cpu.threads, the linear layers' matmuls and attention; torch: all ops).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-1}
SHAPES=(
  "--T 256 --width 64 --layers 2 --heads 2 --mlp 128 --batch 8 --window 32"
  "--T 512 --width 128 --layers 4 --heads 2 --mlp 256 --batch 8 --window 32"
)
for shape in "${SHAPES[@]}"; do
  for variant in window global; do
    for _ in $(seq "$ROUNDS"); do
      npx tsx bench/cpu-step.ts $shape --variant "$variant" --steps "${STEPS:-5}" --threads "$THREADS" ${RELAXED_SIMD:+--relaxed-simd}
      python3 bench/torch_step.py $shape --variant "$variant" --steps "${STEPS:-5}" --threads "$THREADS"
    done
  done
done
