#!/usr/bin/env bash
# The torch engine's figures of docs/torch.md on a GPU, after scripts/gpu-check.sh has built
# build/gpu: the network alone in Python (eager, channels-last, torch.compile, the AOTInductor
# package), the engine alone (bench/engine_bench.cpp: its time per inference, and a CUPTI record
# of the streams its work runs on), the engine through pynference bench (.pt2 and TorchScript, every strategy), and the Python
# baselines of bench/python on the same workload.
#
#   bash scripts/gpu-torch-bench.sh OUT_DIR      # writes OUT_DIR/torch.txt
#
# Workload: compact-x4 (tools/make_demo_models.py), 960x540 in, fp16; its .pt2 exported for that size
# (and for any size, to compare). PYN_TORCH_FRAMES sets the frames per run (default 400);
# PYN_GRAPH_BENCH=0 leaves out the --cuda-graph comparison, PYN_VIDEO_BENCH=0 the `run` stages.
set -uo pipefail
out_dir="${1:?usage: gpu-torch-bench.sh OUT_DIR}"
bin=build/gpu/src/cli/pynference
models=build/gpu/bench-models
frames="${PYN_TORCH_FRAMES:-400}"
size=960x540
status=0
step() { printf '\n== %s\n' "$*"; }
{
  step "demo models (TorchScript + fp16 AOTInductor packages for this GPU: any size, and $size only)"
  python3 tools/make_demo_models.py --out "$models" --dtype fp16 || status=1
  python3 tools/make_demo_models.py --out "$models" --dtype fp16 --only compact-x4 --pt2-only --size "$size" || status=1
  pt2_any="$(ls "$models"/compact-x4.fp16.*.pt2 2>/dev/null | grep -v "\.$size\.pt2\$" | head -n 1)"
  pt2="$(ls "$models"/compact-x4.fp16.*."$size".pt2 2>/dev/null | head -n 1)"
  pt="$models/compact-x4.pt"

  step "the engine alone, and where its work runs (pyn_engine_bench, CUPTI)"
  for model in "$pt2" "$pt2_any" "$pt"; do
    [[ -n "$model" && -f "$model" ]] || continue
    name="engine-$(basename "$model" | sed 's/[^A-Za-z0-9]/-/g')"
    build/gpu/bench/pyn_engine_bench -m "$model" --size "$size" --fp16 --streams 2 \
      --json "$out_dir/$name.json" --chrome "$out_dir/$name.trace.json" --svg "$out_dir/$name.svg" || status=1
  done

  step "network alone in Python: median ms per inference"
  # (no aoti variant: Python's aoti_load_package crashed on our packages there; docs/torch.md)
  python3 bench/python/network_time.py --model compact-x4 --size "$size" --fp16 \
    --variants eager,channels-last,compile,compile-dynamic || status=1

  for model in "$pt2" "$pt2_any" "$pt"; do
    [[ -n "$model" && -f "$model" ]] || { echo "missing model $model"; status=1; continue; }
    step "pynference bench -m $(basename "$model")"
    "$bin" bench -m "$model" --size "$size" --fp16 --frames "$frames" --json "$out_dir/bench.json" || status=1
    cat "$out_dir/bench.json"; echo
  done
  rm -f "$out_dir/bench.json"

  step "Python baselines (eager compact-x4, channels-last)"
  python3 bench/python/run_all.py --model compact-x4 --size "$size" --frames "$frames" --fp16 || status=1
  step "Python split-streams with torch.compile"
  python3 bench/python/split_streams.py --model compact-x4 --size "$size" --frames "$frames" --fp16 --compile || status=1
  # (Python's torch._inductor.aoti_load_package crashed on our packages on the GPU machine, torch
  # 2.11: no Python .pt2 baseline.)

  step "--cuda-graph: TorchScript compact-x4 and compact-x2 at 320x180, synthetic compute-bound"
  # (PYN_GRAPH_BENCH=0 leaves these out)
  for graph in $([[ ${PYN_GRAPH_BENCH:-1} != 0 ]] && echo "none --cuda-graph"); do
    [[ $graph == none ]] && graph=""
    "$bin" bench -m "$pt" --size "$size" --fp16 --frames "$frames" --strategy split-streams,multi-compute $graph 2>&1 | grep -E "^(workload|split|multi)" || status=1
    "$bin" bench -m "$models/compact-x2.pt" --size 320x180 --fp16 --frames "$frames" --strategy split-streams $graph 2>&1 | grep -E "^(workload|split)" || status=1
    "$bin" bench --workload compute-bound --frames "$frames" --strategy split-streams $graph 2>&1 | grep -E "^(workload|split)" || status=1
  done
  if [[ -n "$pt2" && ${PYN_GRAPH_BENCH:-1} != 0 ]]; then
    "$bin" bench -m "$pt2" --size "$size" --fp16 --frames 50 --strategy split-streams --cuda-graph 2>&1 | tail -n 1
  fi

  if [[ -n "$pt2" && ${PYN_VIDEO_BENCH:-1} != 0 ]]; then
    step "pynference run stages: 960x540 Y4M in, compact-x4 .pt2, 3840x2160 Y4M out through a pipe"
    bash scripts/video-bench.sh build/gpu "$pt2" 960x540 3840x2160 600 y4m || status=1
    step "pynference run stages: the same with the TorchScript model"
    bash scripts/video-bench.sh build/gpu "$pt" 960x540 3840x2160 300 y4m || status=1
  fi
  if [[ ${PYN_VIDEO_BENCH:-1} != 0 ]]; then
    step "pynference run stages: 1920x1080 -> 3840x2160, synthetic x2 1 ms"
    bash scripts/video-bench.sh build/gpu synthetic:x2:1 1920x1080 3840x2160 600 y4m || status=1
  fi
} 2>&1 | tee "$out_dir/torch.txt"
exit "$status"
