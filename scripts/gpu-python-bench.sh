#!/usr/bin/env bash
# Issue 16's figures on a GPU machine, in one call: builds the CLI, the Python module and the
# VapourSynth plugin there (one build, build/gpu-python), makes a compact-x4 .pt2 for 960x540, and
# runs scripts/gpu_python_bench.py: `pynference bench` and `pynference run` (the references),
# Processor.map over numpy frames and over torch CUDA tensors (the Processor's upload and download
# counters, and the memory copies a torch.profiler trace sees), the plugin through clip.frames() for
# an RGB24 and a YUV420P8 clip with a few frames compared with the CLI's; a compact table at the end.
#
#   bash scripts/fetch-wheels.sh                 # here, with network: nanobind and vapoursynth into .whl/
#   bash scripts/gpu-python-bench.sh OUT_DIR     # there
#
# OUT_DIR gets four files: python-bench.txt (this log and the table), python-bench.json (the
# figures), python-bench-cli.json (the bench's own JSON) and python-build.log. That machine has no
# network: nanobind and vapoursynth come as wheels in .whl/ (about 7 MB together), unpacked (wheels
# are zip files) into build/gpu-python/site, which goes on PYTHONPATH; CMake is configured directly
# with nanobind from there (no pip, no scikit-build-core). The module needs the headers of the
# Python it is built for (Python.h); without them the call stops and says so. PYN_FRAMES (default
# 300) frames a timed run, PYN_REPEAT (default 3) runs a row, PYN_DEVICE (default cuda); PYN_DIAGNOSE=1
# adds the GPU's timeline under Processor.map and the plugin, and the plugin's RGB rate with other
# streams, slots and threads (gpu_python_bench.py --diagnose); PYN_BUILD_ONLY=1 stops after the build
# and the .pt2 (so that other work can use the GPU before the figures). A second
# call reuses the build and the .pt2 (build/gpu/bench-models, shared with gpu-processor-bench.sh).
# To try the script without a GPU: PYN_DEVICE=cpu PYN_MODEL=synthetic:x4 PYN_BUILD_DIR=build/release
# PYN_NO_BUILD=1 (a build of the release preset, which has the module and, where its headers were
# found, the plugin).
set -uo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root" || exit 1
out_dir="${1:?usage: gpu-python-bench.sh OUT_DIR}"
mkdir -p "$out_dir" || exit 1
out_dir="$(cd "$out_dir" && pwd)"
build="${PYN_BUILD_DIR:-build/gpu-python}"
site="$repo_root/$build/site"
models=build/gpu/bench-models
frames="${PYN_FRAMES:-300}"
repeat="${PYN_REPEAT:-3}"
device="${PYN_DEVICE:-cuda}"
start=$SECONDS
status=0 # of main, which runs in the pipeline's subshell
say() { printf '\n== %s (%d s)\n' "$*" "$((SECONDS - start))"; }
fail() {
  printf 'gpu-python-bench: FAILED: %s\n' "$*"
  status=1
}

main() {
  local commit python wheel torch_prefix generator=() pt2 plugin
  commit="$(head -n 1 COMMIT 2>/dev/null)" || commit=""
  [[ -n "$commit" ]] || commit="$(git rev-parse --short=12 HEAD 2>/dev/null)" || commit="unknown"
  command -v nvcc >/dev/null 2>&1 || export PATH="/usr/local/cuda/bin:$PATH"
  python="$(command -v python3)"
  say "commit $commit; $(nvidia-smi -L 2>/dev/null | head -n 1 || echo "no nvidia-smi"); $("$python" --version 2>&1)"

  say "wheels from .whl/ into $build/site"
  mkdir -p "$site" "$models"
  for wheel in .whl/nanobind-*.whl .whl/vapoursynth-*.whl; do
    if [[ -e "$wheel" ]]; then
      "$python" -m zipfile -e "$wheel" "$site" || fail "unpacking $wheel"
    else
      fail "no $wheel: run scripts/fetch-wheels.sh where there is network"
    fi
  done
  # zipfile keeps no permissions: vspipe and the libraries need them.
  chmod +x "$site"/vapoursynth/vspipe 2>/dev/null
  export PYTHONPATH="$site:$repo_root/$build/python${PYTHONPATH:+:$PYTHONPATH}"
  "$python" -c 'import nanobind, sys; print("nanobind", nanobind.__version__)' || fail "nanobind from $site"
  "$python" -c 'import vapoursynth as vs; print("vapoursynth", vs.core.version_number())' ||
    fail "vapoursynth from $site"
  local headers
  headers="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  [[ -f "$headers/Python.h" ]] || { fail "no Python.h in $headers: the module cannot be built"; return 1; }

  say "build: pynference, the Python module and the VapourSynth plugin into $build (log: python-build.log)"
  torch_prefix="$("$python" -W ignore -c 'import torch;print(torch.utils.cmake_prefix_path)')" ||
    { fail "python3 has no torch"; return 1; }
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  if [[ "${PYN_NO_BUILD:-0}" == 1 ]]; then
    echo "PYN_NO_BUILD=1: $build as it is" >"$out_dir/python-build.log"
  elif ! { cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DPYN_BUILD_TESTS=OFF \
    -DPYN_BUILD_BENCH=OFF -DPYN_WITH_TORCH=ON -DCMAKE_CUDA_ARCHITECTURES=native \
    -DCMAKE_PREFIX_PATH="$torch_prefix" -DPYN_COMMIT="$commit" \
    -DPYN_BUILD_PYTHON=ON -DPython_EXECUTABLE="$python" \
    -DPYN_BUILD_VAPOURSYNTH=ON -DPYN_VAPOURSYNTH_PYTHON="$python" &&
    cmake --build "$build" -j"$(nproc)" --target pynference _core pyn_vapoursynth; } \
    >"$out_dir/python-build.log" 2>&1; then
    fail "build: tail of python-build.log:"
    tail -n 25 "$out_dir/python-build.log"
    return 1
  fi
  grep -E 'VapourSynth plugin|LibTorch|torch engine' "$out_dir/python-build.log" | head -n 4
  plugin="$(ls "$build"/src/vapoursynth/libpynference_vs.so 2>/dev/null)"
  [[ -n "$plugin" ]] || fail "no plugin built (python-build.log says why)"

  pt2="${PYN_MODEL:-$(ls "$models"/compact-x4.fp16.*.960x540.pt2 2>/dev/null | head -n 1)}"
  if [[ -z "$pt2" ]]; then
    say "compact-x4 .pt2 for 960x540 (tools/make_demo_models.py)"
    "$python" tools/make_demo_models.py --out "$models" --dtype fp16 --only compact-x4 --pt2-only \
      --size 960x540 || fail "making the .pt2"
    pt2="$(ls "$models"/compact-x4.fp16.*.960x540.pt2 2>/dev/null | head -n 1)"
  fi
  [[ -n "$pt2" ]] || return 1
  if [[ "${PYN_BUILD_ONLY:-0}" == 1 ]]; then
    say "PYN_BUILD_ONLY=1: built, and $pt2 made; nothing measured"
    return "$status"
  fi

  say "bench, Processor.map (numpy, torch), VapourSynth: $frames frames a run, $repeat runs a row"
  PYN_COMMIT="$commit" "$python" -W ignore scripts/gpu_python_bench.py --bin "$build/src/cli/pynference" \
    --model "$pt2" --size 960x540 --device "$device" --frames "$frames" --repeat "$repeat" \
    ${plugin:+--plugin "$plugin"} ${PYN_DIAGNOSE:+--diagnose} --out "$out_dir" || status=1
  say "done"
  return "$status"
}

main 2>&1 | tee "$out_dir/python-bench.txt"
exit "${PIPESTATUS[0]}"
