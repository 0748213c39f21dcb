#!/usr/bin/env bash
# Before and after, side by side in one call on a GPU machine: a baseline build of pynference
# (another commit, built from its own source tree) against this tree's build/gpu, on the three
# synthetic workloads and compact-x4 at 960x540 with a .pt2 for that size, every strategy, in
# alternating rounds (A B A B) so drift shows up as spread and not as a difference. Then, this
# tree alone: `run` of synthetic 1080p YUV 4:2:0 frames through a compact-x2 .pt2 for that size
# against its bound, and the first frame's latency.
#
#   bash scripts/gpu-processor-bench.sh OUT_DIR BASE_BIN   # writes OUT_DIR/processor.txt
#
# Models come from tools/make_demo_models.py into build/gpu/bench-models (made if missing).
# PYN_ROUNDS (default 2) rounds per binary, PYN_FRAMES (default 300) frames per strategy.
set -uo pipefail
out_dir="${1:?usage: gpu-processor-bench.sh OUT_DIR BASE_BIN}"
base="${2:?usage: gpu-processor-bench.sh OUT_DIR BASE_BIN}"
new=build/gpu/src/cli/pynference
models=build/gpu/bench-models
rounds="${PYN_ROUNDS:-2}"
frames="${PYN_FRAMES:-300}"
results="$out_dir/processor-json"
mkdir -p "$results" "$models"
status=0
step() { printf '\n== %s\n' "$*"; }
{
  pt2_x4="$(ls "$models"/compact-x4.fp16.*.960x540.pt2 2>/dev/null | head -n 1)"
  if [[ -z "$pt2_x4" ]]; then
    step "compact-x4 .pt2 for 960x540"
    python3 tools/make_demo_models.py --out "$models" --dtype fp16 --only compact-x4 --pt2-only --size 960x540 || status=1
    pt2_x4="$(ls "$models"/compact-x4.fp16.*.960x540.pt2 2>/dev/null | head -n 1)"
  fi
  pt2_x2="$(ls "$models"/compact-x2.fp16.*.1920x1080.pt2 2>/dev/null | head -n 1)"
  if [[ -z "$pt2_x2" ]]; then
    step "compact-x2 .pt2 for 1920x1080"
    python3 tools/make_demo_models.py --out "$models" --dtype fp16 --only compact-x2 --pt2-only --size 1920x1080 || status=1
    pt2_x2="$(ls "$models"/compact-x2.fp16.*.1920x1080.pt2 2>/dev/null | head -n 1)"
  fi

  for round in $(seq 1 "$rounds"); do
    for side in base new; do
      bin="$base"
      [[ $side == new ]] && bin="$new"
      step "round $round, $side ($bin)"
      for workload in transfer-bound compute-bound balanced; do
        "$bin" bench --workload "$workload" --frames "$frames" --repeat 1 \
          --json "$results/$side-$round-$workload.json" >/dev/null 2>&1 || { echo "$workload failed"; status=1; }
      done
      if [[ -n "$pt2_x4" ]]; then
        "$bin" bench -m "$pt2_x4" --size 960x540 --fp16 --frames "$frames" --repeat 1 \
          --json "$results/$side-$round-compact-x4.json" >/dev/null 2>&1 || { echo "compact-x4 failed"; status=1; }
      fi
    done
  done

  step "each strategy's fps: median over rounds, after / before (and efficiency after)"
  python3 - "$results" "$rounds" <<'PY' || status=1
import json, statistics, sys
from pathlib import Path
results, rounds = Path(sys.argv[1]), int(sys.argv[2])
def load(side, r, w):
    p = results / f"{side}-{r}-{w}.json"
    return {x["strategy"]: x for x in json.loads(p.read_text())["results"]} if p.exists() else {}
print(f"{'workload':15} {'strategy':16} {'before':>9} {'after':>9} {'after/before':>12} {'eff. after':>10}")
for w in ["transfer-bound", "compute-bound", "balanced", "compact-x4"]:
    runs = {s: [load(s, r, w) for r in range(1, rounds + 1)] for s in ("base", "new")}
    for strategy in ["serial-pageable", "serial-pinned", "worker-streams", "split-streams", "multi-compute"]:
        fps = {s: [x[strategy]["fps"] for x in runs[s] if strategy in x] for s in runs}
        eff = [x[strategy]["efficiency"] for x in runs["new"] if strategy in x]
        if not fps["base"] or not fps["new"]:
            print(f"{w:15} {strategy:16} missing"); continue
        b, n = statistics.median(fps["base"]), statistics.median(fps["new"])
        spread = lambda v: f" ({min(v):.1f}-{max(v):.1f})" if len(v) > 1 else ""
        print(f"{w:15} {strategy:16} {b:9.1f} {n:9.1f} {n / b:12.3f} {statistics.median(eff):10.3f}"
              f"   before{spread(fps['base'])} after{spread(fps['new'])}")
PY

  step "transfer-bound: each stage alone and in the run (ms), median over rounds, before / after"
  python3 - "$results" "$rounds" <<'PY' || status=1
import json, statistics, sys
from pathlib import Path
results, rounds = Path(sys.argv[1]), int(sys.argv[2])
keys = ["h2d_ms", "compute_ms", "d2h_ms", "duplex_ms", "in_run_h2d_ms", "in_run_compute_ms",
        "in_run_d2h_ms", "compute_gap_ms", "latency_p50_ms"]
print(f"{'strategy':16} {'side':6} " + " ".join(f"{k.replace('_ms', ''):>15}" for k in keys))
for strategy in ["worker-streams", "split-streams"]:
    for side in ("base", "new"):
        rows = []
        for r in range(1, rounds + 1):
            p = results / f"{side}-{r}-transfer-bound.json"
            if p.exists():
                rows += [x for x in json.loads(p.read_text())["results"] if x["strategy"] == strategy]
        if rows:
            print(f"{strategy:16} {side:6} " + " ".join(
                f"{statistics.median(x.get(k, 0) for x in rows):15.3f}" for k in keys))
PY

  if [[ -n "$pt2_x4" ]]; then
    step "compact-x4 .pt2 960x540, this tree: cuDNN's heuristics (default) against --cudnn-benchmark"
    for flag in "" --cudnn-benchmark "" --cudnn-benchmark; do
      "$new" bench -m "$pt2_x4" --size 960x540 --fp16 --frames "$frames" --repeat 1 \
        --strategy split-streams,multi-compute $flag --json "$out_dir/cudnn.json" >/dev/null 2>&1 || status=1
      python3 - "$out_dir/cudnn.json" "${flag:-heuristics}" <<'PY' || status=1
import json, sys
results = json.load(open(sys.argv[1]))["results"]
print(f"{sys.argv[2]:18} " + "  ".join(f"{x['strategy']} {x['fps']:.1f} fps" for x in results))
PY
    done
    rm -f "$out_dir/cudnn.json"
  fi

  if [[ -n "$pt2_x2" ]]; then
    step "run -i synthetic:1920x1080:600 -o null, compact-x2 .pt2 (1920x1080), YUV 4:2:0 on the GPU"
    for i in 1 2 3; do
      "$new" run -i synthetic:1920x1080:600 -o null -m "$pt2_x2" --measure --verbose 2>&1 | tail -n 3 || status=1
    done
    step "the same with --strategy multi-compute"
    "$new" run -i synthetic:1920x1080:600 -o null -m "$pt2_x2" --measure --strategy multi-compute 2>&1 | tail -n 1 || status=1
    step "the same, before (its run always measured)"
    "$base" run -i synthetic:1920x1080:600 -o null -m "$pt2_x2" 2>&1 | tail -n 1 || status=1
  fi
  if [[ -n "$pt2_x4" ]]; then
    step "first frame: run of compact-x4 .pt2 at 960x540, unmeasured (3 runs), then other strategies"
    for strategy in split-streams split-streams split-streams worker-streams multi-compute; do
      "$new" run -i synthetic:960x540:100 -o null -m "$pt2_x4" --strategy "$strategy" --verbose 2>&1 | tail -n 2 || status=1
    done
  fi
} 2>&1 | tee "$out_dir/processor.txt"
exit "$status"
