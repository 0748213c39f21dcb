#!/usr/bin/env bash
# The strategy benchmarks of docs/benchmarks.md on a GPU: the three synthetic workloads, every
# strategy, one JSON file each plus a text table. Called by scripts/gpu-check.sh after the build.
#
#   bash scripts/gpu-bench.sh OUT_DIR
set -uo pipefail
out_dir="${1:?usage: gpu-bench.sh OUT_DIR}"
bin=build/gpu/src/cli/pynference
status=0
{
  "$bin" info || status=1
  for workload in transfer-bound compute-bound balanced; do
    echo
    echo "== $workload"
    "$bin" bench --workload "$workload" --frames "${PYN_BENCH_FRAMES:-600}" \
      --json "$out_dir/bench-$workload.json" || status=1
  done
} 2>&1 | tee "$out_dir/bench.txt"
exit "$status"
