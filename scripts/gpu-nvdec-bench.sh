#!/usr/bin/env bash
# NVDEC on a GPU machine (issue 13's figures), in one call:
#   0. builds pynference with the carried FFmpeg (scripts/gpu-ffmpeg.sh) and googletest (.deps, as
#      scripts/gpu-check.sh takes it) into build/gpu-nvdec, and runs the GPU tests of this work:
#      pyn_nvdec_gpu_tests (NVDEC frames against the CPU decoder's by hash, x264/x265 8/10-bit,
#      AV1 with libaom; run --hwdec cuda against none) and the semi-planar kernels
#      (pyn_kernels_gpu_tests --gtest_filter=SemiPlanar*);
#   1. makes a 4K HEVC 10-bit clip (libx265 ultrafast) and a 1080p H.264 clip (libx264) from
#      synthetic frames;
#   2. (a) decode alone: run -o null through the synthetic engine at x1, --hwdec none against cuda
#      (the issue asks >= 3x);
#      (b) superultracompact-x1 (.pt2 made here for the 4K size) on the 4K clip with -o null,
#      --hwdec cuda against none (>= 2x); and to ffv1 with --hwdec cuda against its slowest stage
#      alone (NVDEC decode alone, the network alone from `bench`, ffv1 encode alone) (>= 0.95);
#      (c) the 1080p H.264 clip -> compact-x2 (.pt2 for 1920x1080) -> 4K libx265 medium, --hwdec
#      cuda, against x265 medium alone on 4K frames (>= 0.95).
#   Writes OUT_DIR/nvdec.md (card, commit, the table), OUT_DIR/nvdec.log (everything) and
#   OUT_DIR/nvdec-tests.log (the GPU tests' output).
#
#   bash scripts/gpu-nvdec-bench.sh OUT_DIR
#
# PYN_NVDEC_DEVICE=cpu runs the same steps on the host backend with --hwdec auto (which decodes on
# the CPU there) at PYN_NVDEC_SIZE (default 96x64 in that mode), with TorchScript models and the
# binary PYN_NVDEC_BIN (default build/release's): a check of the script's plumbing, not a
# measurement. PYN_NVDEC_FRAMES: frames of the 4K clip (default 300); PYN_NVDEC_X265_FRAMES:
# frames of the libx265 medium runs (default 60).
set -uo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root" || exit 1
out_dir="${1:-${OUT:-$repo_root/gpu-out}}"
mkdir -p "$out_dir" || exit 1
out_dir="$(cd "$out_dir" && pwd)"
log="$out_dir/nvdec.log"
: >"$log"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say() { printf 'gpu-nvdec-bench: %s\n' "$*" | tee -a "$log"; }

device="${PYN_NVDEC_DEVICE:-cuda}"
if [[ "$device" == cpu ]]; then
  size4k="${PYN_NVDEC_SIZE:-96x64}"
  size_hd="${PYN_NVDEC_HD_SIZE:-48x32}"
  frames="${PYN_NVDEC_FRAMES:-20}"
  x265_frames="${PYN_NVDEC_X265_FRAMES:-6}"
  hw=auto
  precision=(--fp32)
else
  size4k="${PYN_NVDEC_SIZE:-3840x2160}"
  size_hd="${PYN_NVDEC_HD_SIZE:-1920x1080}"
  frames="${PYN_NVDEC_FRAMES:-300}"
  x265_frames="${PYN_NVDEC_X265_FRAMES:-60}"
  hw=cuda
  precision=(--fp16)
fi
w4k="${size4k%x*}"
h4k="${size4k#*x}"
w_hd="${size_hd%x*}"
h_hd="${size_hd#*x}"
out4k="$((w_hd * 2))x$((h_hd * 2))"

commit="$(head -n 1 COMMIT 2>/dev/null)" || commit=""
[[ -n "$commit" ]] || commit="$(git rev-parse --short=12 HEAD 2>/dev/null)" || commit="unknown"
card="$(nvidia-smi -L 2>/dev/null | head -n 1)"
[[ -n "$card" ]] || card="none seen by nvidia-smi (device $device)"
tests_line="not run"
# PYN_NVDEC_BUILD_DIR: the build tree (default build/gpu-nvdec); with PYN_NVDEC_NO_BUILD=1 one that
# an earlier step built, with pynference, pyn_nvdec_gpu_tests and pyn_kernels_gpu_tests in it.
build_dir="${PYN_NVDEC_BUILD_DIR:-build/gpu-nvdec}"

if [[ "$device" == cpu ]]; then
  bin="${PYN_NVDEC_BIN:-build/release/src/cli/pynference}"
  [[ -x "$bin" ]] || { say "no $bin: build the release preset first"; exit 1; }
else
  command -v nvcc >/dev/null 2>&1 || export PATH="/usr/local/cuda/bin:$PATH"
  # shellcheck source=scripts/gpu-deps.sh
  source scripts/gpu-deps.sh && unpack_carried_debs
  # shellcheck source=scripts/gpu-ffmpeg.sh
  # Not through a pipe: its exports (the loader's path among them) must reach this shell.
  source scripts/gpu-ffmpeg.sh && use_carried_ffmpeg "$deps_root/ffmpeg" >"$work/ffmpeg.txt" ||
    { cat "$work/ffmpeg.txt"; say "the carried FFmpeg did not unpack"; exit 1; }
  tee -a "$log" <"$work/ffmpeg.txt"
  prefix_path="$deps_root/usr"
  if torch_prefix="$(python3 -W ignore -c 'import torch;print(torch.utils.cmake_prefix_path)' 2>/dev/null)"; then
    prefix_path="$prefix_path;$torch_prefix"
  else
    say "python3 has no torch: the .pt2 steps will fail"
  fi
  configure=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=native -DPYN_BUILD_BENCH=OFF
    -DPYN_WITH_FFMPEG=ON -DCMAKE_PREFIX_PATH="$prefix_path" -DPYN_COMMIT="$commit")
  gtest_dir="$deps_root/usr/lib/x86_64-linux-gnu/cmake/GTest"
  [[ -f "$gtest_dir/GTestConfig.cmake" ]] && configure+=(-DGTest_DIR="$gtest_dir")
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  if [[ "${PYN_NVDEC_NO_BUILD:-0}" == 1 ]]; then
    say "PYN_NVDEC_NO_BUILD=1: $build_dir as it is"
  else
    say "building pynference and the NVDEC tests into $build_dir"
    cmake -S . -B "$build_dir" "${generator[@]}" "${configure[@]}" >>"$log" 2>&1 &&
      cmake --build "$build_dir" -j"$(nproc)" --target pynference pyn_nvdec_gpu_tests \
        pyn_kernels_gpu_tests >>"$log" 2>&1 ||
      { say "build failed: tail of $log:"; tail -n 30 "$log"; exit 1; }
  fi
  bin=$build_dir/src/cli/pynference
fi
# PYN_NVDEC_SKIP_TESTS=1: an earlier step ran the GPU tests (into OUT_DIR/nvdec-tests.log, whose
# lines are counted below as the script's own would be).
if [[ "$device" != cpu && "${PYN_NVDEC_SKIP_TESTS:-0}" != 1 ]]; then
  say "GPU tests: pyn_nvdec_gpu_tests, pyn_kernels_gpu_tests --gtest_filter=SemiPlanar*"
  tests_ok=1
  $build_dir/tests/io/pyn_nvdec_gpu_tests >"$out_dir/nvdec-tests.log" 2>&1 || tests_ok=0
  $build_dir/tests/kernels/pyn_kernels_gpu_tests --gtest_filter='SemiPlanar*' \
    >>"$out_dir/nvdec-tests.log" 2>&1 || tests_ok=0
fi
if [[ "$device" != cpu && -f "$out_dir/nvdec-tests.log" ]]; then
  tests_ok=1
  grep -q '^\[  FAILED  \]' "$out_dir/nvdec-tests.log" && tests_ok=0
  passed="$(grep -c '^\[       OK \]' "$out_dir/nvdec-tests.log")"
  # Each test's own line ends in its time; gtest's closing list repeats the names without it.
  failed="$(grep -cE '^\[  FAILED  \] .* \([0-9]+ ms\)$' "$out_dir/nvdec-tests.log")"
  skipped="$(grep -cE '^\[  SKIPPED \] .* \([0-9]+ ms\)$' "$out_dir/nvdec-tests.log")"
  tests_line="$passed passed, $failed failed, $skipped skipped"
  ((tests_ok)) || tests_line="$tests_line (FAILED: see nvdec-tests.log)"
  say "GPU tests: $tests_line"
fi

# fps of a run from its summary ("wrote N frames in T s (F fps"), else "".
fps_of() { grep -oE 'wrote [0-9]+ frames? in [0-9.]+ s \([0-9.]+ fps' "$1" | tail -n 1 | grep -oE '[0-9.]+ fps' | cut -d' ' -f1; }
# run NAME ARGS...: pynference run, its stderr into $work/NAME.err, its fps into $work/NAME.fps.
run() {
  local name="$1"
  shift
  echo "== run $name: $*" >>"$log"
  if "$bin" run --device "$device" -y "$@" 2>"$work/$name.err"; then
    fps_of "$work/$name.err" >"$work/$name.fps"
  else
    say "$name failed: $(tail -n 1 "$work/$name.err")"
    : >"$work/$name.fps"
  fi
  cat "$work/$name.err" >>"$log"
}

say "clips: $size4k HEVC 10-bit ($frames frames, libx265 ultrafast), $size_hd H.264 ($frames frames)"
hevc="$work/hevc10.mkv"
h264="$work/h264.mkv"
run make-hevc -i "synthetic:$size4k:$frames:yuv420p10le" -m synthetic:x1 --encoder libx265 \
  --preset ultrafast -o "$hevc"
run make-h264 -i "synthetic:$size_hd:$frames" -m synthetic:x1 --encoder libx264 --preset veryfast \
  -o "$h264"

say "(a) decode alone: $size4k HEVC 10-bit -> synthetic x1 -> null, --hwdec none and $hw"
run decode-cpu -i "$hevc" -m synthetic:x1 --hwdec none -o null
run decode-nvdec -i "$hevc" -m synthetic:x1 --hwdec "$hw" -o null

say "models: superultracompact-x1 for $size4k, compact-x2 for $size_hd"
# PYN_NVDEC_MODELS: a folder where an earlier step made the .pt2 packages (make_demo_models.py
# names them by dtype and size); what is missing there is made here.
models="${PYN_NVDEC_MODELS:-$work/models}"
if [[ "$device" == cpu ]]; then
  python3 -W ignore tools/make_demo_models.py --out "$models" --only superultracompact-x1 compact-x2 \
    --pt2 none >>"$log" 2>&1 || say "make_demo_models.py failed (see $log)"
  light="$models/superultracompact-x1.pt"
  compact="$models/compact-x2.pt"
else
  light="$(ls "$models"/superultracompact-x1.fp16.*."$size4k".pt2 2>/dev/null | head -n 1)"
  [[ -n "$light" ]] || python3 -W ignore tools/make_demo_models.py --out "$models" --only superultracompact-x1 \
    --pt2 cuda --pt2-only --dtype fp16 --size "$size4k" >>"$log" 2>&1 || say "the superultracompact .pt2 failed (see $log)"
  compact="$(ls "$models"/compact-x2.fp16.*."$size_hd".pt2 2>/dev/null | head -n 1)"
  [[ -n "$compact" ]] || python3 -W ignore tools/make_demo_models.py --out "$models" --only compact-x2 --pt2 cuda \
    --pt2-only --dtype fp16 --size "$size_hd" >>"$log" 2>&1 || say "the compact-x2 .pt2 failed (see $log)"
  light="$(ls "$models"/superultracompact-x1.fp16.*."$size4k".pt2 2>/dev/null | head -n 1)"
  compact="$(ls "$models"/compact-x2.fp16.*."$size_hd".pt2 2>/dev/null | head -n 1)"
fi
[[ -n "$light" && -f "$light" ]] || { say "no superultracompact model"; light=missing; }
[[ -n "$compact" && -f "$compact" ]] || { say "no compact-x2 model"; compact=missing; }

say "(b) superultracompact-x1 on $size4k HEVC 10-bit: -o null with --hwdec none and $hw; to ffv1 with $hw"
run light-cpu -i "$hevc" -m "$light" "${precision[@]}" --hwdec none -o null
run light-nvdec -i "$hevc" -m "$light" "${precision[@]}" --hwdec "$hw" -o null
run light-ffv1 -i "$hevc" -m "$light" "${precision[@]}" --hwdec "$hw" --encoder ffv1 -o "$work/light.mkv"
echo "== bench light-alone" >>"$log"
"$bin" bench --device "$device" --strategy split-streams --repeat 1 --frames "$frames" \
  -m "$light" "${precision[@]}" --size "$size4k" --json "$work/light-alone.json" >>"$log" 2>&1 ||
  say "bench of the network alone failed (see $log)"
run ffv1-alone -i "synthetic:$size4k:$frames:yuv420p10le" -m synthetic:x1 --encoder ffv1 -o "$work/ffv1.mkv"

say "(c) $size_hd H.264 -> compact-x2 -> $out4k libx265 medium ($x265_frames frames), against x265 alone"
run x265-chain -i "$h264" -t "$(python3 -c "print($x265_frames / 25)")" -m "$compact" "${precision[@]}" \
  --hwdec "$hw" --encoder libx265 --preset medium -o "$work/chain.mkv"
run x265-alone -i "synthetic:$out4k:$x265_frames" -m synthetic:x1 --encoder libx265 --preset medium \
  -o "$work/x265.mkv"

say "summing up into $out_dir/nvdec.md"
python3 - "$work" "$out_dir" "$commit" "$card" "$device" "$hw" "$size4k" "$size_hd" "$out4k" "$tests_line" <<'EOF'
import json, sys
from pathlib import Path
work, out, commit, card, device, hw, size4k, size_hd, out4k, tests = sys.argv[1:]
work, out = Path(work), Path(out)

def fps(name):
    try:
        text = (work / f"{name}.fps").read_text().strip()
        return float(text) if text else None
    except OSError:
        return None

def bench_fps(name):
    try:
        data = json.loads((work / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
    for key in ("results", "strategies"):
        for r in data.get(key, []) if isinstance(data, dict) else []:
            if isinstance(r, dict) and "fps" in r:
                return float(r["fps"])
    return float(data["fps"]) if isinstance(data, dict) and "fps" in data else None

def f(v, unit=" fps"):
    return "failed" if v is None else f"{v:.1f}{unit}"

def ratio(a, b, target):
    if a is None or b is None or b == 0:
        return "n/a", "n/a"
    r = a / b
    return f"{r:.2f}", ("yes" if r >= target else "NO")

rows = []
def row(what, value, base, target, base_name):
    r, ok = ratio(value, base, target)
    rows.append(f"| {what} | {f(value)} | {base_name} {f(base)} | {r} | >= {target} | {ok} |")

row(f"(a) decode alone, {size4k} HEVC 10-bit, --hwdec {hw}", fps("decode-nvdec"), fps("decode-cpu"),
    3.0, "--hwdec none")
row(f"(b) superultracompact-x1, {size4k} HEVC 10-bit, -o null, --hwdec {hw}", fps("light-nvdec"),
    fps("light-cpu"), 2.0, "--hwdec none")
stages = {"NVDEC decode alone": fps("decode-nvdec"), "network alone (bench)": bench_fps("light-alone"),
          "ffv1 encode alone": fps("ffv1-alone")}
known = {k: v for k, v in stages.items() if v is not None}
slowest = min(known.items(), key=lambda kv: kv[1]) if known else ("n/a", None)
row(f"(b) superultracompact-x1 to ffv1, --hwdec {hw}", fps("light-ffv1"), slowest[1], 0.95,
    f"slowest stage ({slowest[0]})")
row(f"(c) {size_hd} H.264 -> compact-x2 -> {out4k} libx265 medium, --hwdec {hw}", fps("x265-chain"),
    fps("x265-alone"), 0.95, "x265 alone")

test_log = out / "nvdec-tests.log"
notes = []
if test_log.exists():
    notes = [f"  - {l.strip()}" for l in test_log.read_text(errors="replace").splitlines() if "not compared" in l]

lines = [
    "# NVDEC figures (scripts/gpu-nvdec-bench.sh)",
    "",
    f"- card: {card}",
    f"- commit: {commit}",
    f"- device: {device}" + (" (a check of the script on the host backend, not a measurement)" if device == "cpu" else ""),
    f"- GPU tests: {tests}",
    *notes,
    "",
    "| run | fps | against | ratio | target | met |",
    "|---|---|---|---|---|---|",
    *rows,
    "",
    "Stages alone for (b): " + ", ".join(f"{k} {f(v)}" for k, v in stages.items()) + ".",
    "",
    "Clips are made from the synthetic source (libx265 ultrafast, libx264 veryfast); fps are the runs' "
    "own summaries (`wrote N frames in T s (F fps`), one run each.",
]
(out / "nvdec.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
