#!/usr/bin/env bash
# The planar RGB kernels (VapourSynth's RGB clips, issue 16) on a GPU machine, in one call: builds
# only the kernels' tests (preset gpu, in build/gpu-planar, without LibTorch, so that build/gpu stays
# as scripts/gpu-check.sh left it) and runs them. pyn_kernels_gpu_tests' view tests compare the CUDA
# kernels with the CPU reference bit for bit for every frame format, planar RGB among them (u8, u16,
# 10-bit, f16, f32; regions of pitched frames into strided tensors and back, whole packed frames);
# pyn_kernels_tests checks the CPU reference, planar frames against interleaved ones.
#
#   bash scripts/gpu-planar-check.sh OUT_DIR
#
# OUT_DIR gets planar-check.log; its last lines are the two test binaries' summaries and
# "gpu-planar-check: all steps passed" (or what failed). googletest comes from the repo's .deps/ as
# for scripts/gpu-check.sh. About two minutes on 16 cores.
set -uo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root" || exit 1
out_dir="${1:?usage: gpu-planar-check.sh OUT_DIR}"
mkdir -p "$out_dir" || exit 1
out_dir="$(cd "$out_dir" && pwd)"
build=build/gpu-planar
status=0
say() { printf 'gpu-planar-check: %s\n' "$*"; }
fail() {
  say "FAILED: $*"
  status=1
}

main() {
  local deps_root gtest_dir commit
  commit="$(head -n 1 COMMIT 2>/dev/null)" || commit=""
  [[ -n "$commit" ]] || commit="$(git rev-parse --short=12 HEAD 2>/dev/null)" || commit="unknown"
  say "commit $commit; $(nvidia-smi -L 2>/dev/null | head -n 1 || echo "no nvidia-smi")"
  command -v nvcc >/dev/null 2>&1 || export PATH="/usr/local/cuda/bin:$PATH"
  # shellcheck source=scripts/gpu-deps.sh
  source scripts/gpu-deps.sh && unpack_carried_debs || fail "unpacking .deps"
  local args=(-B "$build" -DPYN_WITH_TORCH=OFF -DPYN_COMMIT="$commit")
  gtest_dir="$deps_root/usr/lib/x86_64-linux-gnu/cmake/GTest"
  [[ -f "$gtest_dir/GTestConfig.cmake" ]] && args+=(-DGTest_DIR="$gtest_dir")
  if ! cmake --preset gpu "${args[@]}" >"$out_dir/planar-configure.log" 2>&1; then
    tail -n 30 "$out_dir/planar-configure.log"
    fail "configure"
    return
  fi
  if ! cmake --build "$build" -j "$(nproc)" --target pyn_kernels_tests pyn_kernels_gpu_tests; then
    fail "build"
    return
  fi
  say "pyn_kernels_gpu_tests (the CUDA kernels against the CPU reference)"
  "$build/tests/kernels/pyn_kernels_gpu_tests" 2>&1 | tee "$out_dir/planar-gpu-tests.log"
  ((PIPESTATUS[0] == 0)) || fail "pyn_kernels_gpu_tests"
  if grep -q '^\[  SKIPPED \] ViewGpu' "$out_dir/planar-gpu-tests.log"; then
    fail "the view GPU tests skipped: no CUDA device seen"
  fi
  rm -f "$out_dir/planar-gpu-tests.log"
  say "pyn_kernels_tests (the CPU reference; planar against interleaved)"
  "$build/tests/kernels/pyn_kernels_tests" || fail "pyn_kernels_tests"
}

main 2>&1 | tee "$out_dir/planar-check.log"
if ((PIPESTATUS[0] != 0)) || grep -q 'gpu-planar-check: FAILED' "$out_dir/planar-check.log"; then
  echo "gpu-planar-check: some steps failed (see above)" | tee -a "$out_dir/planar-check.log"
  exit 1
fi
echo "gpu-planar-check: all steps passed" | tee -a "$out_dir/planar-check.log"
