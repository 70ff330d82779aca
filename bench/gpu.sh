#!/usr/bin/env bash
# The GPU profile in one short script, run from a package root that has dist/ and build/bench (a
# clone after `npm run build && node scripts/build.mjs bench`, or shared/gpu's run.sh):
#   bash build/bench/gpu.sh            results under $OUT (default ./gpu-results)
# 1. the adapter; 2. `tune` of paper's training step at batch 128 (the cache kept under $OUT);
# 3. `bench --profile` of that step (ends with the host line); 4. the suite's --gpu rows (autotune
# against today's tiles at batch 128, host time replayed against unrecorded, end-to-end paper and
# torchvision at batch 128), written as JSON, with PyTorch's same step (cuDNN fp32, TF32 off) run
# in the same session for the ratio when PyTorch with CUDA is installed.
set -uo pipefail
out=${OUT:-gpu-results}
mkdir -p "$out"
export ALEXNET_WGSL_CACHE=$out/cache
node dist/cli.js info 2>&1 | tee "$out/info.txt"
node dist/cli.js tune --arch paper --batch-size 128 2>&1 | tee "$out/tune-paper-b128.txt"
node dist/cli.js bench --profile --arch paper --batch-size 128 2>&1 | tee "$out/profile-paper-b128.txt"
node build/bench/main.js --gpu --json "$out/bench.json" --md "$out/bench.md" 2>&1 | tee "$out/bench.txt"
