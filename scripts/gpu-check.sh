#!/usr/bin/env bash
# On a machine with a GPU: build everything (preset `gpu`), run the full suite with the gpu tests,
# run the benchmarks, and print a short summary: card, commit, test summary line, bench table.
#
#   bash scripts/gpu-check.sh            # results in $OUT if set, else ./gpu-out
#
# That machine has no network and no googletest: the Debian packages of googletest travel in the
# repo's ignored .deps/ folder and are unpacked here. Only a few files may come back, so the results
# folder holds gpu-check.log, ctest.log, prepost.json and prepost.txt (scripts/gpu-bench.sh and
# scripts/gpu-torch-bench.sh add their own). A file COMMIT, if one came along, names the commit: a
# copied tree's .git may be missing or stale. PYN_BENCH=0 and PYN_TORCH_BENCH=0 leave those benchmarks out.
# Where .ffmpeg/ffmpeg.tar.xz came along (scripts/fetch-ffmpeg.sh, about 50 MB), the build has the
# FFmpeg video reader and writer and the video tests run (scripts/gpu-ffmpeg.sh); else they skip.
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root" || exit 1

out_dir="${OUT:-$repo_root/gpu-out}"
mkdir -p "$out_dir" || exit 1
out_dir="$(cd "$out_dir" && pwd)"

status=0
say() { printf 'gpu-check: %s\n' "$*"; }
fail() {
  say "FAILED: $*"
  status=1
}

unpack_deps() {
  local debs=(.deps/*.deb)
  [[ -e "${debs[0]}" ]] || say "no .deps/*.deb here: googletest must come from the system"
  # shellcheck source=scripts/gpu-deps.sh
  source scripts/gpu-deps.sh && unpack_carried_debs || fail "unpacking .deps"
}

main() {
  local commit card torch_prefix prefix_path gtest_dir ctest_line="not run" skipped bench_table=""
  local bench=build/gpu/bench/pyn_prepost_bench

  # A COMMIT file is written on purpose for a copy of the tree, whose .git (if any) may be stale.
  commit="$(head -n 1 COMMIT 2>/dev/null)" || commit=""
  [[ -n "$commit" ]] || commit="$(git rev-parse --short=12 HEAD 2>/dev/null)" || commit=""
  [[ -n "$commit" ]] || commit="unknown"
  card="$(nvidia-smi -L 2>&1)" || card="none seen by nvidia-smi: $card"

  if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
    export PATH="/usr/local/cuda/bin:$PATH"
  fi

  unpack_deps
  # shellcheck source=scripts/gpu-ffmpeg.sh
  source scripts/gpu-ffmpeg.sh && use_carried_ffmpeg "$deps_root/ffmpeg" || fail "the carried FFmpeg"
  prefix_path="$deps_root/usr"
  if torch_prefix="$(python3 -W ignore -c 'import torch;print(torch.utils.cmake_prefix_path)' 2>/dev/null)"; then
    prefix_path="$prefix_path;$torch_prefix"
  else
    say "python3 has no torch: configuring without LibTorch"
  fi
  local configure_args=(-DCMAKE_PREFIX_PATH="$prefix_path" -DPYN_COMMIT="$commit")
  gtest_dir="$deps_root/usr/lib/x86_64-linux-gnu/cmake/GTest"
  if [[ -f "$gtest_dir/GTestConfig.cmake" ]]; then
    configure_args+=(-DGTest_DIR="$gtest_dir")
  fi

  # Extra configure options for this run, e.g. PYN_CMAKE_ARGS="-DPYN_WITH_TORCH=OFF".
  read -r -a extra_args <<<"${PYN_CMAKE_ARGS:-}"
  configure_args+=("${extra_args[@]}")
  if ! cmake --preset gpu "${configure_args[@]}"; then
    fail "configure"
  elif ! cmake --build --preset gpu -j "$(nproc)"; then
    fail "build"
  else
    ctest --preset gpu 2>&1 | tee "$out_dir/ctest.log"
    ((PIPESTATUS[0] == 0)) || fail "ctest"
    ctest_line="$(grep -E '^[0-9]+% tests passed' "$out_dir/ctest.log" | tail -n 1)"
    skipped="$(grep -cE '^[[:space:]]*[0-9]+ - .* \(Skipped\)$' "$out_dir/ctest.log")"
    if ((skipped)); then
      ctest_line="$ctest_line ($skipped skipped)"
    fi

    if [[ -x "$bench" ]]; then
      "$bench" --json "$out_dir/prepost.json" 2>&1 | tee "$out_dir/prepost.txt"
      ((PIPESTATUS[0] == 0)) || fail "$bench"
      bench_table="$(cat "$out_dir/prepost.txt")"
    else
      fail "$bench was not built"
    fi

    if [[ -x build/gpu/bench/pyn_yuv_bench ]]; then
      build/gpu/bench/pyn_yuv_bench >"$out_dir/yuv.txt" 2>&1 || fail "pyn_yuv_bench"
      bench_table="$bench_table"$'\n'"$(cat "$out_dir/yuv.txt")"
    fi

    if [[ -x build/gpu/src/cli/pynference && -f scripts/gpu-bench.sh && ${PYN_BENCH:-1} != 0 ]]; then
      bash scripts/gpu-bench.sh "$out_dir" || fail "scripts/gpu-bench.sh"
    fi
    # The torch engine's figures, where it was built (PYN_TORCH_BENCH=0 leaves them out).
    if [[ ${PYN_TORCH_BENCH:-1} != 0 ]] && [[ -f build/gpu/src/engine/torch/libpyn_engine_torch.a ]]; then
      bash scripts/gpu-torch-bench.sh "$out_dir" || fail "scripts/gpu-torch-bench.sh"
    fi
  fi

  echo
  say "card:   $card"
  say "commit: $commit"
  say "tests:  ${ctest_line:-no ctest summary line}"
  if [[ -n "$bench_table" ]]; then
    say "prepost bench:"
    printf '%s\n' "$bench_table"
  fi
  if ((status == 0)); then
    say "all steps passed"
  else
    say "some steps failed (see above)"
  fi
  return "$status"
}

main 2>&1 | tee "$out_dir/gpu-check.log"
exit "${PIPESTATUS[0]}"
