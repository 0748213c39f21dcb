#!/usr/bin/env bash
# The native engine on a GPU machine (issue 15, docs/engine.md), in one call: builds pynference
# with the torch engine and the native engine's CUTLASS convolutions (build/gpu-native), runs the
# native engine's tests there (the GPU program: layout kernels and tensor-core path against the CPU
# reference), then scripts/gpu_native_bench.py, whose native.md and native.json land in $OUT.
#
#   bash scripts/gpu-native-bench.sh          # results in $OUT (or ./gpu-out)
#
# Carry: .whl/spandrel-*.whl and .whl/nvidia_cutlass-*.whl (bash scripts/fetch-wheels.sh), .deps
# (googletest's Debian packages, as scripts/gpu-check.sh takes them) and a COMMIT file. No FFmpeg:
# the bench reads and writes Y4M. The build is a tuning one (-DPYN_NATIVE_TUNING=ON): the GPU tests
# run once per convolution kernel, and the bench times each beside the default.
# PYN_NATIVE_ONLY="compact-x4 compact-x2" picks networks;
# PYN_NATIVE_NO_BENCH=1 stops after the tests; PYN_NATIVE_TORCH=0 builds without the torch engine
# (minutes less) and leaves today's engine out of the bench; PYN_NATIVE_LAYOUTS="channels_last"
# times torch.compile in that layout alone; PYN_NATIVE_DEADLINE=S starts no network after S seconds
# of the whole script; PYN_NATIVE_SKIP_PYTHON="esrgan-x4" leaves those networks' eager and torch.compile out.
set -uo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root" || exit 1
start=$SECONDS
out_dir="${OUT:-$repo_root/gpu-out}"
mkdir -p "$out_dir" || exit 1
say() { printf 'gpu-native-bench: %s\n' "$*"; }
command -v nvcc >/dev/null 2>&1 || export PATH="/usr/local/cuda/bin:$PATH"

site=/tmp/pyn-native-site
wheels=(.whl/spandrel-*.whl .whl/nvidia_cutlass-*.whl)
for wheel in "${wheels[@]}"; do
  [[ -e "$wheel" ]] || { say "no $wheel: run scripts/fetch-wheels.sh here and carry .whl"; exit 1; }
done
python3 -m pip install -q --no-index --no-deps --target "$site" "${wheels[@]}" || exit 1
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
cutlass="$site/cutlass_library/source/include"

# shellcheck source=scripts/gpu-deps.sh
source scripts/gpu-deps.sh && unpack_carried_debs || exit 1
torch_prefix="$(python3 -W ignore -c 'import torch; print(torch.utils.cmake_prefix_path)')" ||
  { say "python3 has no torch"; exit 1; }
commit="$(head -n 1 COMMIT 2>/dev/null || git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
build=build/gpu-native
with_torch=ON
bench_args=()
build_tests=(pyn_native_engine_tests pyn_native_engine_gpu_tests)
[[ "${PYN_NATIVE_NO_TESTS:-0}" == "1" ]] && build_tests=()
if [[ "${PYN_NATIVE_TORCH:-1}" == "0" ]]; then
  with_torch=OFF
  bench_args+=(--no-pt2)
fi
# shellcheck disable=SC2206 # a list of words
[[ -n "${PYN_NATIVE_LAYOUTS:-}" ]] && bench_args+=(--layouts $PYN_NATIVE_LAYOUTS)
# shellcheck disable=SC2206 # a list of words
[[ -n "${PYN_NATIVE_SKIP_PYTHON:-}" ]] && bench_args+=(--skip-python $PYN_NATIVE_SKIP_PYTHON)
log="$out_dir/native-build.log"
if cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DPYN_BUILD_BENCH=OFF \
  -DPYN_WITH_TORCH="$with_torch" -DPYN_NATIVE_TUNING=ON -DCMAKE_CUDA_ARCHITECTURES=native -DPYN_CUTLASS_INCLUDE="$cutlass" \
  -DCMAKE_PREFIX_PATH="$deps_root/usr;$torch_prefix" \
  -DGTest_DIR="$deps_root/usr/lib/x86_64-linux-gnu/cmake/GTest" -DPYN_COMMIT="$commit" >"$log" 2>&1 &&
  cmake --build "$build" -j"$(nproc)" --target pynference "${build_tests[@]}" \
    >>"$log" 2>&1; then
  say "built at $commit in $((SECONDS - start)) s"
  grep -E -- '-- native engine' "$log" | head -n 2
else
  say "the build failed: the end of $log:"
  tail -n 30 "$log"
  exit 1
fi

status=0
# PYN_NATIVE_NO_TESTS=1: the bench alone (where the tests ran on this commit's kernels already).
programs=(pyn_native_engine_tests pyn_native_engine_gpu_tests)
[[ "${PYN_NATIVE_NO_TESTS:-0}" == "1" ]] && programs=()
for program in "${programs[@]}"; do
  "$build/tests/engine/$program" >"$out_dir/$program.log" 2>&1 || status=1
  say "$program: $(grep -E '^\[  (PASSED|FAILED) ' "$out_dir/$program.log" | tr '\n' ' ')$(grep -c '\[  SKIPPED \]' "$out_dir/$program.log") skipped lines"
done
((status == 0)) || grep -E 'Failure|FAILED|Expected|Which is|actual' "$out_dir/pyn_native_engine_gpu_tests.log" | head -n 30
# The tuning variants: the GPU tests again with each (fp16 only: their bf16 cases fail by design).
variants="$(sed -n 's/.*tuning variants //p' "$log" | head -n 1 | tr -d ',')"
((${#programs[@]} == 0)) && test_variants="" || test_variants="$variants"
for variant in $test_variants; do
  PYN_NATIVE_CONV="$variant" "$build/tests/engine/pyn_native_engine_gpu_tests" --gtest_filter='*f16*:-*bf16*' \
    >"$out_dir/gpu-tests-$variant.log" 2>&1 || status=1
  say "pyn_native_engine_gpu_tests with $variant: $(grep -E '^\[  (PASSED|FAILED) ' "$out_dir/gpu-tests-$variant.log" | tr '\n' ' ')"
done
if ((${#programs[@]} > 0)); then
  PYN_NATIVE_FUSE=0 "$build/tests/engine/pyn_native_engine_gpu_tests" >"$out_dir/gpu-tests-unfused.log" 2>&1 || status=1
  say "pyn_native_engine_gpu_tests unfused: $(grep -E '^\[  (PASSED|FAILED) ' "$out_dir/gpu-tests-unfused.log" | tr '\n' ' ')"
fi
bench_args+=(--variants unfused $variants)
[[ "${PYN_NATIVE_NO_BENCH:-0}" == "1" ]] && exit "$status"

# shellcheck disable=SC2206 # a list of words
only=(${PYN_NATIVE_ONLY:+--only $PYN_NATIVE_ONLY})
# The deadline counts from the script's start; the bench's from its own.
[[ -n "${PYN_NATIVE_DEADLINE:-}" ]] &&
  bench_args+=(--deadline "$((PYN_NATIVE_DEADLINE > SECONDS ? PYN_NATIVE_DEADLINE - SECONDS : 1))")
python3 -W ignore scripts/gpu_native_bench.py --bin "$build/src/cli/pynference" --out "$out_dir/native" "${only[@]}" \
  "${bench_args[@]}" ||
  status=1
say "done in $((SECONDS - start)) s"
exit "$status"
