#!/usr/bin/env bash
# -m FILE on a GPU machine: every architecture of docs/models.md in a usual configuration (random
# weights), compiled for this GPU, timed through pynference, in Python eager and under
# torch.compile, and pynference's PSNR against fp32 eager (scripts/gpu_models_bench.py).
#
#   bash scripts/gpu-models-bench.sh         # results in $OUT (or ./gpu-out): models.md, models.json
#
# Before: bash scripts/fetch-wheels.sh here (spandrel into .whl/, carried along). The run holds a
# hard cap: PYN_MODELS_BUDGET seconds in all (default 330), building pynference included where
# build/gpu has none; what would not fit is skipped and listed. PYN_MODELS="SPAN HAT" picks
# architectures (a later call can take the rest). PYN_MODELS_JOBS=N compiles N architectures at once
# (while pynference builds, where it has to) before timing each alone; PYN_MODELS_CACHE=DIR keeps the
# compiled models and their compile times there, so a second call on the same machine compiles
# nothing again (PYN_MODELS_COMPILE_BUDGET, half the cap by default, holds that phase).
# PYN_MODELS_NO_TORCH_COMPILE="HAT DAT" leaves out torch.compile's row where it failed before.
set -uo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root" || exit 1
start=$SECONDS
budget="${PYN_MODELS_BUDGET:-330}"
out_dir="${OUT:-$repo_root/gpu-out}"
mkdir -p "$out_dir" || exit 1
say() { printf 'gpu-models-bench: %s\n' "$*"; }

if ! python3 -c 'import spandrel' 2>/dev/null; then
  wheels=(.whl/*.whl)
  [[ -e "${wheels[0]}" ]] || { say "no spandrel and no .whl/*.whl: run scripts/fetch-wheels.sh first"; exit 1; }
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi

jobs="${PYN_MODELS_JOBS:-1}"
cache_args=()
[[ -n "${PYN_MODELS_CACHE:-}" ]] && cache_args=(--cache "$PYN_MODELS_CACHE")
# shellcheck disable=SC2206 # PYN_MODELS is a list of words
only=(${PYN_MODELS:+--only $PYN_MODELS})
# shellcheck disable=SC2206 # PYN_MODELS_NO_TORCH_COMPILE is a list of words
no_compile=(${PYN_MODELS_NO_TORCH_COMPILE:+--no-torch-compile $PYN_MODELS_NO_TORCH_COMPILE})
bench=(python3 -W ignore scripts/gpu_models_bench.py --out "$out_dir" --jobs "$jobs" "${cache_args[@]}" "${only[@]}"
  "${no_compile[@]}")

bin=build/gpu/src/cli/pynference
if [[ ! -x "$bin" ]]; then
  bin=build/gpu-models/src/cli/pynference
  if [[ ! -x "$bin" ]]; then
    compiling=""
    if ((jobs > 1)) && ((${#cache_args[@]})); then
      # The models' compiles need no pynference: they run beside its build.
      say "compiling the models, $jobs at once, beside the build"
      "${bench[@]}" --bin "$bin" --compile-only --budget "${PYN_MODELS_COMPILE_BUDGET:-$((budget / 2))}" >"$out_dir/models-compile.log" 2>&1 &
      compiling=$!
    fi
    say "building pynference (no tests, no benchmarks) into build/gpu-models"
    command -v nvcc >/dev/null 2>&1 || export PATH="/usr/local/cuda/bin:$PATH"
    torch_prefix="$(python3 -W ignore -c 'import torch;print(torch.utils.cmake_prefix_path)')" || exit 1
    generator=(); command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
    cmake -S . -B build/gpu-models "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DPYN_BUILD_TESTS=OFF \
      -DPYN_BUILD_BENCH=OFF -DPYN_WITH_TORCH=ON -DCMAKE_CUDA_ARCHITECTURES=native \
      -DCMAKE_PREFIX_PATH="$torch_prefix" >"$out_dir/models-build.log" 2>&1 &&
      cmake --build build/gpu-models -j"$(nproc)" --target pynference >>"$out_dir/models-build.log" 2>&1 ||
      { say "build failed: tail of $out_dir/models-build.log:"; tail -n 20 "$out_dir/models-build.log"; exit 1; }
    say "built in $((SECONDS - start)) s"
    if [[ -n "$compiling" ]]; then
      wait "$compiling" || say "some compiles failed (their rows say how)"
      say "compiled in $((SECONDS - start)) s"
      grep '^gpu-models: .*compiled' "$out_dir/models-compile.log"
    fi
  fi
fi
commit="$(head -n 1 COMMIT 2>/dev/null || git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
left=$((budget - (SECONDS - start)))
((left > 30)) || { say "no time left after the build ($left s)"; exit 1; }
PYN_COMMIT="$commit" "${bench[@]}" --bin "$bin" --budget "$left"
