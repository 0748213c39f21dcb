#!/usr/bin/env bash
# On a GPU machine: one build tree, build/gpu, that every GPU bench can run on, so that a session
# builds once (about 80 s on 16 cores) and not once a script: the CLI with FFmpeg's reader and writer
# and the torch engine, the Python module, the VapourSynth plugin and the GPU test programs of video
# and kernels. Then, on the same machine (build/ is kept between calls while it stays warm):
#
#   bash scripts/gpu-build.sh
#   PYN_BUILD_DIR=build/gpu PYN_NO_BUILD=1 bash scripts/gpu-python-bench.sh OUT_DIR
#   PYN_BUILD_DIR=build/gpu PYN_NO_BUILD=1 bash scripts/gpu-distributed-bench.sh OUT_DIR
#   PYN_NVDEC_BUILD_DIR=build/gpu PYN_NVDEC_NO_BUILD=1 bash scripts/gpu-nvdec-bench.sh OUT_DIR
#   bash scripts/gpu-models-bench.sh       # finds build/gpu/src/cli/pynference on its own
#
# What it needs carried: .deps (googletest, as scripts/gpu-check.sh takes it), .ffmpeg/ffmpeg.tar.xz
# (scripts/fetch-ffmpeg.sh), .whl with nanobind and vapoursynth (scripts/fetch-wheels.sh), and a
# COMMIT file. FFmpeg is unpacked into /opt/deps/ffmpeg and linked as build/gpu/ffmpeg, where
# gpu-distributed-bench.sh looks for an earlier call's copy; the wheels go into build/gpu/site. The
# build's log is $OUT/gpu-build.log (OUT defaults to ./gpu-out). PYN_GPU_TARGETS replaces the list
# of targets.
set -uo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root" || exit 1
out_dir="${OUT:-$repo_root/gpu-out}"
mkdir -p "$out_dir" || exit 1
log="$out_dir/gpu-build.log"
say() { printf 'gpu-build: %s\n' "$*"; }
command -v nvcc >/dev/null 2>&1 || export PATH="/usr/local/cuda/bin:$PATH"

# shellcheck source=scripts/gpu-deps.sh
source scripts/gpu-deps.sh && unpack_carried_debs
mkdir -p build/gpu
# shellcheck source=scripts/gpu-ffmpeg.sh
source scripts/gpu-ffmpeg.sh && use_carried_ffmpeg "$deps_root/ffmpeg" || { say "the carried FFmpeg did not unpack"; exit 1; }
[[ -d "$deps_root/ffmpeg" ]] && ln -sfn "$deps_root/ffmpeg" build/gpu/ffmpeg
site="$repo_root/build/gpu/site"
mkdir -p "$site"
for wheel in .whl/nanobind-*.whl .whl/vapoursynth-*.whl; do
  if [[ -e "$wheel" ]]; then
    python3 -m zipfile -e "$wheel" "$site" || say "unpacking $wheel failed"
  else
    say "no $wheel: the module or the plugin will not build (scripts/fetch-wheels.sh)"
  fi
done
chmod +x "$site"/vapoursynth/vspipe 2>/dev/null
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"

torch_prefix="$(python3 -W ignore -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)" ||
  { say "python3 has no torch: the torch engine cannot be built"; exit 1; }
commit="$(head -n 1 COMMIT 2>/dev/null)" || commit=""
[[ -n "$commit" ]] || commit="$(git rev-parse --short=12 HEAD 2>/dev/null)" || commit="unknown"
python="$(command -v python3)"
# shellcheck disable=SC2206 # a list of words
targets=(${PYN_GPU_TARGETS:-pynference _core pyn_vapoursynth pyn_nvdec_gpu_tests pyn_kernels_gpu_tests})
start=$SECONDS
if cmake --preset gpu -DPYN_WERROR=OFF -DCMAKE_CUDA_ARCHITECTURES=native -DPYN_WITH_FFMPEG=ON \
  -DPYN_WITH_TORCH=ON -DCMAKE_PREFIX_PATH="$deps_root/usr;$torch_prefix" \
  -DGTest_DIR="$deps_root/usr/lib/x86_64-linux-gnu/cmake/GTest" -DPYN_BUILD_PYTHON=ON \
  -DPython_EXECUTABLE="$python" -DPYN_BUILD_VAPOURSYNTH=ON -DPYN_VAPOURSYNTH_PYTHON="$python" \
  -DPYN_COMMIT="$commit" -DPYN_BUILD_BENCH=OFF >"$log" 2>&1 &&
  cmake --build build/gpu -j"$(nproc)" --target "${targets[@]}" >>"$log" 2>&1; then
  say "built ${targets[*]} into build/gpu at $commit in $((SECONDS - start)) s"
  grep -E -- '-- (torch engine|pynference: FFmpeg|VapourSynth plugin)' "$log" | head -n 3
else
  say "the build failed: the end of $log:"
  tail -n 30 "$log"
  exit 1
fi
