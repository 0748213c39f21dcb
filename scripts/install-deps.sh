#!/usr/bin/env bash
# Installs what building and testing pynference needs on a fresh Debian 12 (or Ubuntu) machine.
# Idempotent: a second run only checks, and takes seconds.
#
#   PYN_NO_TORCH=1        skip LibTorch (the synthetic engine needs none)
#   PYN_NO_VAPOURSYNTH=1  skip the vapoursynth package (the VapourSynth plugin's headers and test)
#
# The CUDA toolkit cannot come from Debian's packages; it must be installed already.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# The version on the GPU machine: CI compiles against the same LibTorch it runs with.
readonly torch_version="2.11.0"
readonly venv="$repo_root/.venv"
# -m FILE compiles downloaded state dicts through tools/compile_model.py: spandrel detects the
# architecture (its newest torchvision would pull a newer torch: the one matching ours is pinned),
# onnx2torch reads .onnx files; pillow reads and writes the tests' frames. Installed against a constraint that holds torch where it is.
readonly python_packages=(spandrel==0.4.2 torchvision==0.26.0 onnx2torch==1.5.15 numpy safetensors einops onnx pillow)
# The Python module (python/, built by the release preset and by `pip install .`) and its tests.
readonly module_packages=(nanobind==3.1.0 scikit-build-core==1.1.2 pytest==9.2.0 numpy pillow)
# pynference.distributed (segments as Ray tasks) and its tests; PYN_NO_RAY=1 leaves it out (the
# tests are then skipped).
readonly ray_packages=(ray==2.60.0)

build_packages=(cmake ninja-build g++ git pkg-config libgtest-dev)
# FFmpeg (libavformat/libavcodec) for the io layer's container sources and sinks.
ffmpeg_packages=(libavformat-dev libavcodec-dev libavutil-dev libswscale-dev)

start=$SECONDS
say() { printf 'install-deps: %s\n' "$*"; }
die() {
  printf 'install-deps: error: %s\n' "$*" >&2
  exit 1
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# Fail before spending minutes on packages: nothing builds without nvcc.
find_nvcc() {
  if command -v nvcc >/dev/null 2>&1; then
    command -v nvcc
  elif [[ -x /usr/local/cuda/bin/nvcc ]]; then
    echo /usr/local/cuda/bin/nvcc
  else
    return 1
  fi
}
nvcc_path="$(find_nvcc)" ||
  die "CUDA toolkit not found (no nvcc on PATH nor in /usr/local/cuda/bin). Install the CUDA 13 toolkit from NVIDIA; it does not come from apt here."

want_torch=1
[[ "${PYN_NO_TORCH:-0}" == "1" ]] && want_torch=0

packages=("${build_packages[@]}" "${ffmpeg_packages[@]}")
# The venv needs python3 with its venv module (and ensurepip, which brings pip into the venv); the
# Python module, Python's headers.
if ! command -v python3 >/dev/null 2>&1; then
  packages+=(python3 python3-venv python3-dev)
else
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || packages+=(python3-venv)
  python3 -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' ||
    packages+=(python3-dev)
fi

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}
missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done

if ((${#missing[@]})); then
  say "apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "apt: all ${#packages[@]} packages present"
fi

# Prints LibTorch's CMake prefix path where .venv holds the pinned torch; fails otherwise.
torch_prefix() {
  [[ -x "$venv/bin/python" ]] &&
    "$venv/bin/python" -W ignore -c "import torch
assert torch.__version__.startswith('$torch_version'), torch.__version__
print(torch.utils.cmake_prefix_path)" 2>/dev/null
}

if ((want_torch)); then
  if prefix="$(torch_prefix)"; then
    say "torch $torch_version present in .venv"
  else
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    say "pip: installing torch==$torch_version into .venv (a few GB the first time)"
    "$venv/bin/python" -m pip install -q "torch==$torch_version"
    prefix="$(torch_prefix)" || die "torch $torch_version does not import from .venv after the install"
  fi

  if "$venv/bin/python" -W ignore -c "import spandrel, torchvision, onnx2torch, PIL" >/dev/null 2>&1; then
    say "spandrel, torchvision and onnx2torch present in .venv"
  else
    say "pip: installing ${python_packages[*]} into .venv (torch held at $torch_version)"
    constraints="$(mktemp)"
    trap 'rm -f "$constraints"' EXIT
    printf 'torch==%s\n' "$torch_version" >"$constraints"
    "$venv/bin/python" -m pip install -q -c "$constraints" "${python_packages[@]}"
  fi
  torch_prefix >/dev/null ||
    die "torch in .venv is no longer $torch_version after installing ${python_packages[*]}: reinstall torch==$torch_version"
else
  say "PYN_NO_TORCH=1: skipping LibTorch"
fi

# The VapourSynth plugin compiles against the headers the vapoursynth package ships, and its test
# runs in that package's Python. Its wheels (the core library inside) need Python >= 3.12, newer
# than the python3 that .venv's torch is installed for, so it gets a venv of its own.
readonly vapoursynth_packages=(vapoursynth==81 numpy==2.5.5)
readonly vs_venv="$repo_root/.venv-vapoursynth"
# Prints a Python >= 3.12 (a plain command, or one pyenv keeps); fails where there is none.
python_for_vapoursynth() {
  local candidate
  for candidate in python3.13 python3.12 python3 "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}
if [[ "${PYN_NO_VAPOURSYNTH:-0}" == "1" ]]; then
  say "PYN_NO_VAPOURSYNTH=1: skipping the vapoursynth package"
elif "$vs_venv/bin/python" -c "import importlib.metadata as m; assert m.version('vapoursynth') == '81'; import numpy" >/dev/null 2>&1; then
  say "vapoursynth present in .venv-vapoursynth"
elif vs_python="$(python_for_vapoursynth)"; then
  [[ -x "$vs_venv/bin/python" ]] || "$vs_python" -m venv "$vs_venv"
  say "pip: installing ${vapoursynth_packages[*]} into .venv-vapoursynth ($("$vs_venv/bin/python" --version))"
  "$vs_venv/bin/python" -m pip install -q "${vapoursynth_packages[@]}"
else
  say "no Python 3.12 or newer: the VapourSynth plugin's headers and test are skipped (its wheels need one)"
fi

[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
if "$venv/bin/python" -W ignore -c "import nanobind, scikit_build_core, pytest, numpy, PIL" >/dev/null 2>&1; then
  say "nanobind, scikit-build-core and pytest present in .venv"
else
  say "pip: installing ${module_packages[*]} into .venv"
  "$venv/bin/python" -m pip install -q "${module_packages[@]}"
fi

# The native engine's convolutions are CUTLASS templates: its headers come in the nvidia-cutlass
# package (cutlass_library/source/include), installed without its Python dependencies, which only
# its Python kernel generator uses. src/engine/native/CMakeLists.txt finds them in .venv.
readonly cutlass_package="nvidia-cutlass==4.2.0.0"
if "$venv/bin/python" -c "import importlib.metadata as m; assert m.version('nvidia-cutlass') == '${cutlass_package#*==}'" >/dev/null 2>&1; then
  say "nvidia-cutlass present in .venv"
else
  say "pip: installing $cutlass_package into .venv (its C++ headers, for the native engine)"
  "$venv/bin/python" -m pip install -q --no-deps "$cutlass_package"
fi

if [[ "${PYN_NO_RAY:-0}" == "1" ]]; then
  say "PYN_NO_RAY=1: skipping Ray (pynference.distributed's tests are skipped)"
elif "$venv/bin/python" -c "import importlib.metadata as m; assert m.version('ray') == '${ray_packages[0]#ray==}'" >/dev/null 2>&1; then
  say "ray present in .venv"
else
  say "pip: installing ${ray_packages[*]} into .venv (torch and numpy held where they are)"
  ray_constraints="$(mktemp)"
  "$venv/bin/python" -c "import importlib.metadata as m
for p in ('torch', 'numpy'):
    try:
        print(f'{p}=={m.version(p)}')
    except m.PackageNotFoundError:
        pass" >"$ray_constraints"
  "$venv/bin/python" -m pip install -q -c "$ray_constraints" "${ray_packages[@]}"
  rm -f "$ray_constraints"
  if ((want_torch)); then
    torch_prefix >/dev/null ||
      die "torch in .venv is no longer $torch_version after installing ${ray_packages[*]}: reinstall torch==$torch_version"
  fi
fi

say "nvcc: $nvcc_path"
if ((want_torch)); then
  say "LibTorch CMake prefix path: $prefix"
fi
say "done in $((SECONDS - start)) s"
