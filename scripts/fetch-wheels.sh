#!/usr/bin/env bash
# Downloads into .whl/ (ignored) the wheels that travel to the GPU machine, which has no network.
# That machine has Python 3.12, torch 2.11.0, torchvision 0.26.0, numpy, safetensors, einops, timm
# and onnx.
#   - spandrel, for scripts/gpu-models-bench.sh: of its requirements (torch, torchvision,
#     safetensors, numpy, einops, typing_extensions) that machine lacks none, so it alone travels.
#   - nanobind and vapoursynth (CPython 3.12, x86_64), for scripts/gpu-python-bench.sh: the Python
#     module's binding library, and VapourSynth's core, headers and vspipe for the plugin.
#   - nvidia-cutlass, whose C++ headers the native engine's convolutions are built from
#     (scripts/gpu-build.sh unzips it; about 6 MB).
# At the versions scripts/install-deps.sh pins; about 13 MB in all.
#   - with the argument `ray`: ray for CPython 3.12 and every dependency of it, for
#     scripts/gpu-distributed-bench.sh. Its wheel alone (79 MB) is over what one call carries, so it
#     travels installed and trimmed instead: .whl/ray-site.tar.xz (about 31 MB), a site-packages
#     tree without ray's Java jars, RLlib, Serve and the dashboard's web client (none of which a
#     task needs), and without filelock and typing_extensions, which torch brings there. xz takes
#     a few minutes here.
#   - with the argument `cudnn`: the nvidia-cudnn-frontend wheel (CPython 3.12, x86_64, about
#     12 MB), for scripts/gpu_conv_probe.py: its python module `cudnn`, unzipped there into a folder
#     on PYTHONPATH (docs/engine.md). Its dependencies are not fetched: the probe's graphs use the
#     cuDNN that torch brings, and none of the optional kernels that want more.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
readonly spandrel_version="0.4.2"
readonly nanobind_version="3.1.0"
readonly vapoursynth_version="81"
readonly ray_version="2.60.0"
readonly cudnn_frontend_version="1.32.0"
readonly cutlass_version="4.2.0.0"
python="${PYN_PYTHON:-.venv/bin/python}"
[[ -x "$python" ]] || python=python3
mkdir -p .whl
"$python" -m pip download -q --no-deps --only-binary=:all: -d .whl "spandrel==$spandrel_version" \
  "nanobind==$nanobind_version" "nvidia-cutlass==$cutlass_version"
# For the GPU machine's Python, not this one's.
"$python" -m pip download -q --no-deps --only-binary=:all: -d .whl --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 "vapoursynth==$vapoursynth_version"
if [[ "${1:-}" == ray ]]; then
  site="$(mktemp -d)"
  trap 'rm -rf "$site"' EXIT
  "$python" -m pip install -q --target "$site" --only-binary=:all: --no-compile --python-version 3.12 \
    --implementation cp --platform manylinux2014_x86_64 "ray==$ray_version"
  rm -rf "$site"/ray/jars "$site"/ray/rllib "$site"/ray/serve "$site"/ray/dashboard/client/build \
    "$site"/typing_extensions.py "$site"/typing_extensions-*.dist-info "$site"/filelock \
    "$site"/filelock-*.dist-info
  find "$site" -name '*.js.map' -delete
  tar -cJf .whl/ray-site.tar.xz -C "$site" .
fi
if [[ "${1:-}" == cudnn ]]; then
  "$python" -m pip download -q --no-deps --only-binary=:all: -d .whl --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 "nvidia-cudnn-frontend==$cudnn_frontend_version"
fi
ls -sh1 .whl
