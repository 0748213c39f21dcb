#!/usr/bin/env bash
# Downloads into .whl/ (ignored) the pure-Python wheels that scripts/gpu-models-bench.sh installs on
# the GPU machine, which has no network. That machine has torch 2.11.0, torchvision 0.26.0, numpy,
# safetensors, einops, timm and onnx; of spandrel's requirements (torch, torchvision, safetensors,
# numpy, einops, typing_extensions) it lacks none, so spandrel alone travels, at the version
# scripts/install-deps.sh pins.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
readonly spandrel_version="0.4.2"
python="${PYN_PYTHON:-.venv/bin/python}"
[[ -x "$python" ]] || python=python3
mkdir -p .whl
"$python" -m pip download -q --no-deps --only-binary=:all: -d .whl "spandrel==$spandrel_version"
ls -1 .whl
