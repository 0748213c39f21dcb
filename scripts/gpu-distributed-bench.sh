#!/usr/bin/env bash
# Issue 17's figure on a GPU machine: a local Ray cluster with one GPU runs 4 segments of a clip
# through a compact-x2 .pt2 (pynference.distributed); the output must equal a single run's
# (`pynference run` of the same clip, model and lossless encoder), at >= 0.9 of its fps.
#
#   bash scripts/fetch-wheels.sh ray     # here, with network: ray and nanobind wheels into .whl/
#   bash scripts/fetch-ffmpeg.sh         # here: .ffmpeg/ffmpeg.tar.xz (FFmpeg's libraries)
#   bash scripts/gpu-distributed-bench.sh OUT_DIR     # there
#
# What it needs carried (that machine has no network and no FFmpeg):
#   - .ffmpeg/ffmpeg.tar.xz, unpacked by scripts/gpu-ffmpeg.sh (both from scripts/fetch-ffmpeg.sh):
#     the video reader and writer are FFmpeg's, and segments and join need them. (Both scripts are
#     on main from 3236964; this script was written on a branch cut before them.)
#   - .whl/: nanobind (the module's binding library) and ray 2.60.0 for CPython 3.12 with the
#     dependencies that machine lacks, as .whl/ray-site.tar.xz (`fetch-wheels.sh ray` makes it,
#     about 31 MB), unpacked into $build/site, which goes on PYTHONPATH.
# Both together (78 MB) are over what one call carries: carry them in two calls on one machine,
# .ffmpeg first (that call unpacks it into $build/ffmpeg and may build; PYN_NO_RUN=1 stops there),
# then .whl without .ffmpeg: the second call finds the first's FFmpeg and build in $build. A build of the module (the torch engine, FFmpeg) goes into $build; a second call reuses it.
#
# The clip: PYN_FRAMES (default 2400) synthetic 960x540 frames encoded with ffv1 (every frame a
# key frame, so it cuts anywhere), made once into $build/clip.mkv. It has no audio: the synthetic
# source has none. CI's python.distributed test checks the audio on the CPU. Both runs encode with
# ffv1, which is lossless, so equal outputs mean equal frames. The check decodes both outputs
# through the synthetic engine on the GPU into Y4M and compares their hashes. It compares their
# timestamps from `pynference segments` (with ffv1, every frame is a key frame and is listed).
# fps: frames / wall time. The single run is timed as a whole. The distributed run is timed from
# after Ray has started, so the tasks' model loads count but the start of the local cluster does
# not. With one GPU and one GPU a task, the 4 segments run one after another. Each task loads the
# model again, and that load is what costs against the single run. PYN_GPUS_PER_TASK (default 1)
# lets the script try 0.5 too.
#
# To try the script without a GPU: PYN_DEVICE=cpu PYN_MODEL=synthetic:x2 PYN_FRAMES=48
# PYN_BUILD_DIR=build/release PYN_NO_BUILD=1 (a release preset build, with Ray in .venv).
#
# OUT_DIR gets distributed-bench.txt (this log and the verdict), distributed-bench.json (the
# figures) and distributed-build.log.
set -uo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root" || exit 1
out_dir="${1:?usage: gpu-distributed-bench.sh OUT_DIR}"
mkdir -p "$out_dir" || exit 1
out_dir="$(cd "$out_dir" && pwd)"
build="${PYN_BUILD_DIR:-build/gpu-distributed}"
site="$repo_root/$build/site"
models=build/gpu/bench-models
frames="${PYN_FRAMES:-2400}"
gpus_per_task="${PYN_GPUS_PER_TASK:-1}"
device="${PYN_DEVICE:-cuda}"
start=$SECONDS
status=0
say() { printf '\n== %s (%d s)\n' "$*" "$((SECONDS - start))"; }
fail() {
  printf 'gpu-distributed-bench: FAILED: %s\n' "$*"
  status=1
}

# FFmpeg from .ffmpeg/ffmpeg.tar.xz, or from an earlier call's unpacked copy in $build/ffmpeg.
ffmpeg_env() {
  local root="$repo_root/$build/ffmpeg" lib
  if [[ -f .ffmpeg/ffmpeg.tar.xz && -f scripts/gpu-ffmpeg.sh ]]; then
    # shellcheck source=/dev/null
    source scripts/gpu-ffmpeg.sh && use_carried_ffmpeg "$root"
    return
  fi
  lib="$root/usr/lib/x86_64-linux-gnu"
  if [[ -d "$lib/pkgconfig" ]]; then
    export PKG_CONFIG="$root/usr/bin/pkgconf"
    export PKG_CONFIG_LIBDIR="$lib/pkgconfig:$root/usr/share/pkgconfig"
    export PKG_CONFIG_SYSROOT_DIR="$root"
    export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "FFmpeg from an earlier call's $root"
    return 0
  fi
  pkg-config --exists libavformat 2>/dev/null && { echo "FFmpeg from the system"; return 0; }
  echo "no FFmpeg: carry .ffmpeg/ffmpeg.tar.xz (scripts/fetch-ffmpeg.sh) and scripts/gpu-ffmpeg.sh"
  return 1
}

main() {
  local commit python torch_prefix generator=() pt2 bin clip
  commit="$(head -n 1 COMMIT 2>/dev/null)" || commit=""
  [[ -n "$commit" ]] || commit="$(git rev-parse --short=12 HEAD 2>/dev/null)" || commit="unknown"
  command -v nvcc >/dev/null 2>&1 || export PATH="/usr/local/cuda/bin:$PATH"
  python="$(command -v python3)"
  say "commit $commit; $(nvidia-smi -L 2>/dev/null | head -n 1 || echo "no nvidia-smi"); $("$python" --version 2>&1)"

  say "FFmpeg"
  ffmpeg_env || { fail "FFmpeg"; return 1; }

  say "wheels from .whl/ into $build/site"
  mkdir -p "$site" "$models"
  export PYTHONPATH="$site:$repo_root/$build/python${PYTHONPATH:+:$PYTHONPATH}"
  if [[ "${PYN_NO_RUN:-0}" == 1 ]]; then
    # The first of two calls (.ffmpeg carried, not ray): nanobind for the build is enough.
    "$python" -c 'import nanobind' >/dev/null 2>&1 ||
      "$python" -m pip install -q --no-index --find-links .whl --target "$site" --no-deps \
        nanobind==3.1.0 || { fail "pip: nanobind from .whl/"; return 1; }
  elif ! "$python" -c 'import ray, nanobind' >/dev/null 2>&1; then
    # ray as fetch-wheels.sh ray packs it (installed and trimmed), else as wheels.
    if [[ -f .whl/ray-site.tar.xz ]]; then
      tar -xJf .whl/ray-site.tar.xz -C "$site" || { fail "unpacking .whl/ray-site.tar.xz"; return 1; }
      "$python" -m pip install -q --no-index --find-links .whl --target "$site" --no-deps \
        nanobind==3.1.0 || { fail "pip: nanobind from .whl/"; return 1; }
    else
      "$python" -m pip install -q --no-index --find-links .whl --target "$site" ray==2.60.0 \
        nanobind==3.1.0 || { fail "pip from .whl/ (scripts/fetch-wheels.sh ray makes it)"; return 1; }
    fi
  fi
  if [[ "${PYN_NO_RUN:-0}" != 1 ]]; then
    "$python" -c 'import ray, nanobind; print("ray", ray.__version__, "nanobind", nanobind.__version__)' ||
      { fail "ray and nanobind from $site"; return 1; }
  fi

  say "build: pynference and the Python module into $build (log: distributed-build.log)"
  torch_prefix="$("$python" -W ignore -c 'import torch;print(torch.utils.cmake_prefix_path)')" ||
    { fail "python3 has no torch"; return 1; }
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  if [[ "${PYN_NO_BUILD:-0}" == 1 ]]; then
    echo "PYN_NO_BUILD=1: $build as it is" >"$out_dir/distributed-build.log"
  elif ! { cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DPYN_BUILD_TESTS=OFF \
    -DPYN_BUILD_BENCH=OFF -DPYN_WITH_TORCH=ON -DPYN_WITH_FFMPEG=ON -DCMAKE_CUDA_ARCHITECTURES=native \
    -DCMAKE_PREFIX_PATH="$torch_prefix" -DPYN_COMMIT="$commit" \
    -DPYN_BUILD_PYTHON=ON -DPython_EXECUTABLE="$python" &&
    cmake --build "$build" -j"$(nproc)" --target pynference _core; } \
    >"$out_dir/distributed-build.log" 2>&1; then
    fail "build: tail of distributed-build.log:"
    tail -n 25 "$out_dir/distributed-build.log"
    return 1
  fi
  bin="$repo_root/$build/src/cli/pynference"

  pt2="${PYN_MODEL:-$(ls "$models"/compact-x2.fp16.*.960x540.pt2 2>/dev/null | head -n 1)}"
  if [[ -z "$pt2" ]]; then
    say "compact-x2 .pt2 for 960x540 (tools/make_demo_models.py)"
    "$python" tools/make_demo_models.py --out "$models" --dtype fp16 --only compact-x2 --pt2-only \
      --size 960x540 || fail "making the .pt2"
    pt2="$(ls "$models"/compact-x2.fp16.*.960x540.pt2 2>/dev/null | head -n 1)"
  fi
  [[ -n "$pt2" ]] || return 1

  clip="$build/clip-$frames.mkv"
  if [[ ! -f "$clip" ]]; then
    say "the clip: $frames synthetic 960x540 frames, ffv1"
    "$bin" run -i "synthetic:960x540:$frames" -o "$clip" -m synthetic:x1 --encoder ffv1 --quiet ||
      { fail "making the clip"; return 1; }
  fi

  if [[ "${PYN_NO_RUN:-0}" == 1 ]]; then
    say "PYN_NO_RUN=1: FFmpeg, build, model and clip are in $build; a second call runs"
    return 0
  fi

  say "a single run, then 4 segments on a local Ray cluster ($gpus_per_task GPU a task)"
  PYN_BIN="$bin" PYN_CLIP="$clip" PYN_PT2="$pt2" PYN_WORK="$build/runs" PYN_OUT="$out_dir" \
    PYN_GPUS="$gpus_per_task" PYN_COMMIT="$commit" PYN_DEVICE="$device" "$python" -W ignore - <<'EOF' || status=1
import hashlib, json, os, subprocess, sys, time

import pynference
from pynference import distributed

bin_, clip, pt2, work, out, device = (os.environ[k] for k in ("PYN_BIN", "PYN_CLIP", "PYN_PT2", "PYN_WORK",
                                                               "PYN_OUT", "PYN_DEVICE"))
os.makedirs(work, exist_ok=True)
single, joined = os.path.join(work, "single.mkv"), os.path.join(work, "distributed.mkv")
options = {"encoder": "ffv1", "y": True}

began = time.monotonic()
one = pynference.run(clip, single, pt2, device=device, **options)
single_fps = one["frames"] / (time.monotonic() - began)
print(f"single run: {one['frames']} frames, {single_fps:.1f} fps (its own figure {one['fps']:.1f})")

import ray
ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR")
print("Ray resources:", ray.cluster_resources())
many = distributed.run(clip, joined, pt2, segments=4, device=device,
                       gpus_per_task=float(os.environ["PYN_GPUS"]), **options)
print(f"distributed: {many['frames']} frames in {many['segments']} segments, {many['fps']:.1f} fps")

def decoded(path):
    """The output decoded through the synthetic engine into Y4M on a pipe, hashed: equal frames
    give equal bytes."""
    digest = hashlib.sha256()
    with subprocess.Popen([bin_, "run", "-i", path, "-o", "-", "-m", "synthetic:x1", "--device",
                           device, "--quiet"], stdout=subprocess.PIPE) as p:
        while chunk := p.stdout.read(1 << 20):
            digest.update(chunk)
    assert p.returncode == 0, f"decoding {path} failed"
    return digest.hexdigest()

def times(path):
    plan = json.loads(subprocess.run([bin_, "segments", "-i", path], check=True,
                                     capture_output=True, text=True).stdout)
    return plan["packets"], plan["keyframes"], plan["end_s"]

same_frames = decoded(single) == decoded(joined)
same_times = times(single) == times(joined)
ratio = many["fps"] / single_fps
verdict = "PASS" if same_frames and same_times and ratio >= 0.9 else "FAIL"
print(f"frames equal: {same_frames}; timestamps equal: {same_times}; fps ratio {ratio:.3f} "
      f"(issue 17: >= 0.9): {verdict}")
with open(os.path.join(out, "distributed-bench.json"), "w") as f:
    json.dump({"commit": os.environ["PYN_COMMIT"], "frames": one["frames"], "single_fps": single_fps,
               "distributed_fps": many["fps"], "segments": many["segments"],
               "gpus_per_task": float(os.environ["PYN_GPUS"]), "ratio": ratio,
               "frames_equal": same_frames, "timestamps_equal": same_times, "verdict": verdict}, f,
              indent=1)
sys.exit(0 if verdict == "PASS" else 1)
EOF
  say "done"
  return "$status"
}

main 2>&1 | tee "$out_dir/distributed-bench.txt"
exit "${PIPESTATUS[0]}"
