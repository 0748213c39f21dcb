#!/usr/bin/env python3
"""Turn a PyTorch image-to-image network into files the `torch` engine loads.

    python3 tools/export_model.py MODEL [-o OUT] [--dtype fp32 fp16 bf16] [--pt2 auto|none|cpu|cuda] [--size WxH]
                                  [--batch N]

MODEL is one of
  - a state dict (.pth, .pt, .ckpt, .safetensors) whose architecture the `spandrel` package detects
    (`pip install spandrel`; only this path needs it);
  - `module:factory` — a Python callable that returns an `nn.Module` (a file path or a dotted
    module name before the colon), optionally with `--weights STATE_DICT` loaded into it.

It writes
  - OUT.pt          TorchScript, fp32 weights (the engine casts to --fp16/--bf16 itself), loadable
                    anywhere; OUT.fp16.pt / OUT.bf16.pt too where --dtype asks for them;
  - OUT.DTYPE.DEV.pt2  AOTInductor packages (DEV = smXY for a CUDA GPU, or cpu), compiled for this
                    machine's GPU and this torch version, one per --dtype. A .pt2 holds native code:
                    build it yourself, and load only packages you trust. With --size WxH they are
                    OUT.DTYPE.DEV.WxH.pt2, for that input size only, and faster (docs/torch.md).
                    A package takes one N (frames, or tiles, per inference): 1, or with --batch N
                    that N, named OUT.DTYPE.DEV[.WxH].bN.pt2 (`pynference run --batch N`); its
                    metadata says which, and the engine refuses any other. TorchScript takes any N.

The network must take an N x 3 x H x W tensor in [0, 1] and return N x 3 x sH x sW (s a whole
number); the scale is checked here on a small input before anything is written.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Callable

import torch
from torch import nn

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
# Metadata keys the C++ engine reads from a .pt2 to refuse a package built for another machine.
META_PREFIX = "pyn."
PROBE = 64  # side of the probe input that finds the scale


class ExportError(Exception):
    """A user error: one line, no traceback."""


def cuda_arch() -> str:
    major, minor = torch.cuda.get_device_capability()
    return f"sm{major}{minor}"


def find_scale(module: nn.Module, device: str = "cpu", dtype: torch.dtype = torch.float32) -> int:
    """The network's integer upscale factor, from one run on a PROBE x PROBE input."""
    x = torch.rand(1, 3, PROBE, PROBE, device=device, dtype=dtype)
    with torch.inference_mode():
        y = module(x)
    if not isinstance(y, torch.Tensor):
        raise ExportError(f"the network returns {type(y).__name__}, not one image tensor")
    if y.dim() != 4 or y.shape[0] != 1 or y.shape[1] != 3:
        raise ExportError(f"not an image-to-image network: a 1x3x{PROBE}x{PROBE} input gives {list(y.shape)}")
    h, w = y.shape[2], y.shape[3]
    if h % PROBE or w % PROBE or h != w or h == 0:
        raise ExportError(f"the output {list(y.shape)} is not a whole-number upscale of 1x3x{PROBE}x{PROBE}")
    return h // PROBE


def load_descriptor(path: Path):
    """spandrel's descriptor of a state dict, refusing what is not one image-to-image RGB model."""
    try:
        import spandrel  # noqa: PLC0415 — optional, only this path needs it
    except ImportError as e:
        raise ExportError(
            f"{path.name} is a state dict: detecting its architecture needs the `spandrel` package "
            "(pip install spandrel), or give the architecture as module:factory"
        ) from e
    try:
        descriptor = spandrel.ModelLoader().load_from_file(str(path))
    except Exception as e:  # spandrel raises many kinds; one line is enough
        raise ExportError(f"spandrel cannot load {path.name}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from e
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise ExportError(f"{path.name} ({descriptor.architecture.name}) is not an image-to-image model")
    if descriptor.input_channels != 3 or descriptor.output_channels != 3:
        what = {1: "a grayscale model", 4: "a 4-channel model with no known preparation of its 4th channel"}
        kind = what.get(descriptor.input_channels, f"a {descriptor.input_channels}-channel model")
        raise ExportError(
            f"{path.name} ({descriptor.architecture.name}) is {kind}: it takes {descriptor.input_channels} and gives "
            f"{descriptor.output_channels} channels; pynference feeds it RGB and needs RGB out"
        )
    return descriptor


def load_spandrel(path: Path) -> nn.Module:
    return load_descriptor(path).model


def load_factory(spec: str, weights: Path | None) -> nn.Module:
    where, _, name = spec.rpartition(":")
    if where.endswith(".py") or os.sep in where:
        file = Path(where)
        if not file.is_file():
            raise ExportError(f"no such file: {file}")
        spec_ = importlib.util.spec_from_file_location(file.stem, file)
        module = importlib.util.module_from_spec(spec_)
        sys.modules[file.stem] = module
        spec_.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    factory: Callable[[], nn.Module] = getattr(module, name)
    net = factory()
    if weights is not None:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        for key in ("params_ema", "params", "state_dict"):  # common training-framework wrappers
            if isinstance(state, dict) and key in state and isinstance(state[key], dict):
                state = state[key]
                break
        net.load_state_dict(state)
    return net


def load_model(source: str, weights: Path | None = None) -> nn.Module:
    if ":" in source and not Path(source).exists():
        net = load_factory(source, weights)
    else:
        path = Path(source)
        if not path.is_file():
            raise ExportError(f"no such file: {path}")
        net = load_spandrel(path)
    if not isinstance(net, nn.Module):
        raise ExportError(f"{source} gives a {type(net).__name__}, not an nn.Module")
    return net.eval()


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary folder beside `path`, so a failed export leaves nothing (the file
    keeps its own name inside: archives take their root folder's name from it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        tmp = tmp_dir / path.name
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def export_torchscript(net: nn.Module, path: Path, dtype: torch.dtype = torch.float32) -> Path:
    """TorchScript by scripting (keeps any input size); by tracing where the code does not script,
    checked at a second, non-square size so that a size fixed by the trace is caught here."""
    net = net.to("cpu", torch.float32).eval()
    try:
        scripted = torch.jit.script(net)
    except Exception:  # architectures written for eager mode often do not script
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            scripted = torch.jit.trace(net, torch.rand(1, 3, PROBE, PROBE), check_trace=False)
            other = torch.rand(1, 3, PROBE + 8, PROBE + 24)
            try:
                same = torch.allclose(scripted(other), net(other), rtol=1e-3, atol=1e-4)
            except Exception:
                same = False
        if not same:
            raise ExportError(f"{path.name}: the network does not script, and its trace holds only for "
                              f"{PROBE}x{PROBE} inputs; export it as a .pt2 (--pt2) instead")
    if dtype != torch.float32:
        scripted = scripted.to(dtype)
    write_atomically(path, lambda tmp: torch.jit.save(scripted, str(tmp)))
    return path


def export_aoti(net: nn.Module, path: Path, dtype_name: str, device: str, scale: int,
                size: tuple[int, int] | None = None, batch: int = 1) -> Path:
    """An AOTInductor package for `device` ("cpu" or "cuda"): for any height and width, or, with
    `size` = (width, height), for that input size alone (its kernels specialised to it: faster);
    for N = `batch` images per run only."""
    dtype = DTYPES[dtype_name]
    net = net.to(device, dtype).eval()
    if size is None:
        example = torch.rand(batch, 3, PROBE, PROBE, device=device, dtype=dtype)
        dynamic = {"x": {2: torch.export.Dim.DYNAMIC, 3: torch.export.Dim.DYNAMIC}}
    else:
        example = torch.rand(batch, 3, size[1], size[0], device=device, dtype=dtype)
        dynamic = None
    with torch.no_grad():
        program = torch.export.export(_SingleInput(net), (example,), dynamic_shapes=dynamic, strict=False)
    metadata = {
        f"{META_PREFIX}torch": torch.__version__.split("+")[0],
        f"{META_PREFIX}device": device,
        f"{META_PREFIX}dtype": dtype_name,
        f"{META_PREFIX}scale": str(scale),
        f"{META_PREFIX}batch": str(batch),
    }
    if size is not None:
        metadata[f"{META_PREFIX}size"] = f"{size[0]}x{size[1]}"
    if device == "cuda":
        major, minor = torch.cuda.get_device_capability()
        metadata[f"{META_PREFIX}arch"] = f"{major}.{minor}"
        metadata[f"{META_PREFIX}gpu"] = torch.cuda.get_device_name()

    # Inductor lays convolutions out channels-last on its own only for static shapes; with dynamic
    # height and width it keeps NCHW, which on a GPU costs a conv net about twice the time
    # (compact-x4 at 960x540 fp16 on an H100: docs/torch.md). Ask for the layout explicitly.
    configs = {"aot_inductor.metadata": metadata}
    if device == "cuda":
        configs["force_layout_optimization"] = True

    def write(tmp: Path) -> None:
        torch._inductor.aoti_compile_and_package(program, package_path=str(tmp), inductor_configs=configs)

    write_atomically(path, write)
    return path


class _SingleInput(nn.Module):
    """Names the input `x` for torch.export's dynamic_shapes, whatever the network calls it."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def pt2_device(choice: str) -> str | None:
    if choice == "none":
        return None
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else None
    if choice == "cuda" and not torch.cuda.is_available():
        raise ExportError("--pt2 cuda needs a CUDA GPU here: a package is compiled for the GPU it runs on")
    return choice


def pt2_name(base: Path, dtype_name: str, device: str, size: tuple[int, int] | None = None,
             batch: int = 1) -> Path:
    where = cuda_arch() if device == "cuda" else "cpu"
    fixed = f".{size[0]}x{size[1]}" if size is not None else ""
    batched = f".b{batch}" if batch > 1 else ""
    return base.with_name(f"{base.name}.{dtype_name}.{where}{fixed}{batched}.pt2")


def parse_batch(text: str) -> int:
    """N of --batch: a whole number from 1 to 64 (what `pynference run --batch` takes)."""
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 64, not {text!r}")
    return int(text)


def parse_size(text: str) -> tuple[int, int]:
    """WxH -> (width, height), both positive."""
    width, sep, height = text.partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 1 or int(height) < 1:
        raise argparse.ArgumentTypeError(f"expected WxH (e.g. 1920x1080), not {text!r}")
    return int(width), int(height)


def export_all(net: nn.Module, base: Path, dtypes: list[str], pt2: str,
               size: tuple[int, int] | None = None, batch: int = 1) -> list[Path]:
    """TorchScript (fp32, plus each non-fp32 dtype asked) and, where pt2 allows, .pt2 packages."""
    scale = find_scale(net)
    written = [export_torchscript(net, base.with_name(base.name + ".pt"))]
    for name in dtypes:
        if name != "fp32":
            written.append(export_torchscript(net, base.with_name(f"{base.name}.{name}.pt"), DTYPES[name]))
    device = pt2_device(pt2)
    if device is not None:
        for name in dtypes:
            if device == "cpu" and name != "fp32":
                continue  # the host backend computes in fp32; CPU half kernels are slow or absent
            written.append(export_aoti(net, pt2_name(base, name, device, size, batch), name, device, scale, size,
                                       batch))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="state dict (.pth/.safetensors, needs spandrel) or module:factory")
    parser.add_argument("-o", "--out", type=Path, help="output path without extension (default: beside MODEL)")
    parser.add_argument("--weights", type=Path, help="state dict loaded into a module:factory network")
    parser.add_argument("--dtype", nargs="+", choices=sorted(DTYPES), default=["fp16"],
                        help=".pt2 dtypes, and extra TorchScript copies for non-fp32 ones (default fp16)")
    parser.add_argument("--pt2", choices=["auto", "none", "cpu", "cuda"], default="auto",
                        help="AOTInductor packages: auto = for this machine's GPU if it has one")
    parser.add_argument("--size", type=parse_size, metavar="WxH",
                        help=".pt2 packages for this input size only (kernels specialised to it: faster; "
                             "the engine refuses other sizes); default: any size")
    parser.add_argument("--batch", type=parse_batch, default=1, metavar="N",
                        help=".pt2 packages for N images per inference (pynference run --batch N; the engine "
                             "refuses another N); default 1")
    args = parser.parse_args(argv)
    try:
        net = load_model(args.model, args.weights)
        if args.out is not None:
            base = args.out
        elif ":" in args.model and not Path(args.model).exists():
            base = Path(args.model.rpartition(":")[2])
        else:
            base = Path(args.model).with_suffix("")
            if base.with_name(base.name + ".pt").resolve() == Path(args.model).resolve():
                raise ExportError(f"{args.model} would be overwritten: give the output with -o")
        written = export_all(net, base, args.dtype, args.pt2, args.size, args.batch)
    except ExportError as e:
        print(f"export_model: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"written": [str(p) for p in written]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
