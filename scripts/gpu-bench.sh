#!/usr/bin/env bash
# The benchmarks of docs/benchmarks.md on a GPU: the three synthetic workloads with every strategy,
# the cost of tracing, and the study. Called by scripts/gpu-check.sh after the build.
#
#   bash scripts/gpu-bench.sh OUT_DIR
#
# Writes OUT_DIR/bench.txt (the tables) and OUT_DIR/results.tar.gz (JSON per workload, the study's
# folder): few files, since only a few come back from a GPU machine.
set -uo pipefail
out_dir="${1:?usage: gpu-bench.sh OUT_DIR}"
bin=build/gpu/src/cli/pynference
results="$(mktemp -d)"
frames="${PYN_BENCH_FRAMES:-600}"
status=0
{
  "$bin" info || status=1
  for workload in transfer-bound compute-bound balanced; do
    echo
    echo "== $workload"
    "$bin" bench --workload "$workload" --frames "$frames" --json "$results/bench-$workload.json" || status=1
  done

  echo
  echo "== tracing cost: split-streams, balanced, 3 runs each way (fps)"
  for trace in off on; do
    for run in 1 2 3; do
      args=(bench --workload balanced --strategy split-streams --frames "$frames" --json "$results/trace-$trace-$run.json")
      [[ $trace == on ]] && args+=(--trace "$results/trace-run")
      "$bin" "${args[@]}" >/dev/null 2>&1 || status=1
      printf 'trace %s run %s: ' "$trace" "$run"
      grep -o '"fps":[0-9.e+]*' "$results/trace-$trace-$run.json" | head -n 1
    done
  done

  echo
  echo "== pynference run stages: 1920x1080 Y4M in, synthetic x2 1 ms, 3840x2160 Y4M out through a pipe"
  bash scripts/video-bench.sh build/gpu synthetic:x2:1 1920x1080 3840x2160 600 y4m || status=1

  echo
  echo "== study"
  "$bin" study --out "$results/study" || status=1
} 2>&1 | tee "$out_dir/bench.txt"
tar -czf "$out_dir/results.tar.gz" -C "$results" . || status=1
rm -rf "$results"
exit "$status"
