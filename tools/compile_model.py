#!/usr/bin/env python3
"""Compile a downloaded model file into what the `torch` engine loads, once, into a cache.

    python3 tools/compile_model.py FILE --size WxH [--device cpu|cuda[:N]] [--dtype auto|fp32|fp16|bf16]
                                   [--noise-level L] [--cache DIR] [--engine torch|native|auto]

With --engine native (or auto, for a network the native engine runs) the entry holds that engine's
plan instead (native.plan and native.bin: tools/native_plan.py), written without a compile.

FILE is a state dict (.pth, .pt, .ckpt, .safetensors; its architecture detected by spandrel) or an
.onnx file (converted by onnx2torch). `pynference -m FILE` runs this itself; it is a script of its
own so that the compile can be tried, and timed, alone.

The cache folder is --cache, else $PYN_CACHE_DIR, else $XDG_CACHE_HOME/pynference, else
~/.cache/pynference. An entry is a folder named after what it was compiled for (architecture, the
file's content hash, device and compute capability, dtype, padded size, noise level, torch version)
holding one artifact (model.pt2: an AOTInductor package; or model.pt: a trace) and meta.json. It is
written under a temporary name and renamed when whole, so an entry is there complete or not at all.

What spandrel's descriptor does around the network is kept, outside the network: the network is
compiled for the frame size padded to the architecture's multiple and minimum (meta.json's `padded`),
and pynference pads each frame on the device (reflect, then replicate, as spandrel does) and crops
the output back. Input preparation (DRUNet's and FDnCNN's noise-level channel, ...) is compiled in.

  - CPU: a trace at exactly the padded size (seconds).
  - CUDA: an AOTInductor package for the padded size; where AOTInductor fails on an architecture, a
    trace at that size instead (fixed-size code such as SwinIR's, HAT's and DAT's is fine either way).

dtype `auto` is the fastest one spandrel marks safe for the architecture: fp16, else bf16, else
fp32 (always fp32 on the CPU). Asking for fp16 on a model marked unsafe in fp16 warns.

stdout: `pyn.KEY=VALUE` lines (entry, artifact, format, arch, dtype, scale, padded, compiled).
Errors: one line on stderr, exit 2, nothing left in the cache.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

PROG = "pynference"


class Refusal(Exception):
    """A user error found before torch is imported: one line."""


def cache_root(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    if os.environ.get("PYN_CACHE_DIR"):
        return Path(os.environ["PYN_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "pynference"
    return Path.home() / ".cache" / "pynference"


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_size(text: str) -> tuple[int, int]:
    width, sep, height = text.partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 1 or int(height) < 1:
        raise argparse.ArgumentTypeError(f"expected WxH (e.g. 1920x1080), not {text!r}")
    return int(width), int(height)


def torch_version() -> str:
    return importlib.metadata.version("torch").split("+")[0]


# The index: what a request (file content, device, dtype asked, frame size, noise level, torch)
# was answered with, so that a second run finds its entry without importing torch or spandrel
# (which cost seconds) to learn the architecture and padded size the entry's name holds.
def request_key(digest: str, device_tag: str, dtype: str, size: tuple[int, int], noise_level: float | None,
                engine: str = "torch") -> str:
    noise = f"-n{noise_level:g}" if noise_level is not None else ""
    asked = "" if engine == "torch" else f"-{engine}"
    return f"{digest[:32]}-{device_tag}-{dtype}-{size[0]}x{size[1]}{noise}{asked}-torch{torch_version()}"


def lookup(cache: Path, key: str) -> dict | None:
    try:
        name = (cache / "index" / key).read_text().strip()
        meta = json.loads((cache / name / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    meta["entry"] = str(cache / name)
    meta["compiled"] = 0
    return meta


def remember(cache: Path, key: str, entry: Path) -> None:
    index = cache / "index"
    index.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{key}.", dir=index)
    with os.fdopen(fd, "w") as f:
        f.write(entry.name + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, index / key)


def first_line(error: BaseException) -> str:
    for line in str(error).strip().splitlines():
        if line.strip():
            return line.strip()[:300]
    return type(error).__name__


def answer(source: Path, size: tuple[int, int], device: str, device_tag: str | None, dtype: str,
           noise_level: float | None, cache: Path, engine: str = "torch") -> dict:
    if not source.is_file():
        raise Refusal(f"cannot open model {source}: no such file")
    digest = content_hash(source)
    if device == "cpu":
        device_tag = "cpu"
    key = request_key(digest, device_tag, dtype, size, noise_level, engine) if device_tag else None
    if key is not None and (meta := lookup(cache, key)) is not None:
        return meta
    import model_compiler  # noqa: PLC0415 — torch and spandrel: only to compile

    meta = model_compiler.compile_model(source, size, device, dtype, noise_level, cache, digest, engine)
    if key is None:
        key = request_key(digest, meta["device"], dtype, size, noise_level, engine)
    remember(cache, key, Path(meta["entry"]))
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="state dict (.pth/.pt/.ckpt/.safetensors) or .onnx")
    parser.add_argument("--size", type=parse_size, required=True, metavar="WxH", help="the frames' size")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    parser.add_argument("--device-tag", help="smXY of that GPU, where the caller knows it (finds a cached "
                                             "entry without importing torch)")
    parser.add_argument("--dtype", choices=["auto", "fp32", "fp16", "bf16"], default="auto")
    parser.add_argument("--engine", choices=["torch", "native", "auto"], default="torch",
                        help="torch (default); native: the native engine's plan (Compact), or a one-line "
                             "refusal; auto: native where that engine runs the network")
    parser.add_argument("--noise-level", type=float, help="DRUNet, FDnCNN: the noise level, 0-255 (default 15)")
    parser.add_argument("--cache", type=Path, help="cache folder (default: see above)")
    parser.add_argument("--machine", action="store_true",
                        help="errors as a pyn.error=LINE answer on stdout (how pynference runs this)")
    args = parser.parse_args(argv)

    def fail(line: str) -> int:
        if args.machine:
            print(f"pyn.error={line}", flush=True)
        else:
            print(f"{PROG}: {line}", file=sys.stderr)
        return 2

    try:
        if args.noise_level is not None and not 0 <= args.noise_level <= 255:
            raise Refusal(f"--noise-level {args.noise_level:g} is outside 0-255")
        if args.device != "cpu" and not re.fullmatch(r"cuda(:\d+)?", args.device):
            raise Refusal(f"--device is cpu or cuda[:N], not '{args.device}'")
        meta = answer(args.model, args.size, args.device, args.device_tag, args.dtype, args.noise_level,
                      cache_root(args.cache), args.engine)
    except Exception as e:  # noqa: BLE001 — detection and compile failures are one line, never a traceback
        if type(e).__name__ in ("Refusal", "ExportError"):
            return fail(str(e))
        return fail(f"cannot compile {args.model.name}: {first_line(e)}")
    for key in ("entry", "artifact", "format", "arch", "dtype", "scale", "padded", "compiled"):
        print(f"pyn.{key}={meta[key]}")
    return 0


if __name__ == "__main__":
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sys.exit(main())
