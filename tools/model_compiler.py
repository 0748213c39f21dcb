"""The part of tools/compile_model.py that needs torch and spandrel: detection, model-side
preparation, and the compile of one cache entry. compile_model.py imports it only on a cache miss."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import sys
import tempfile
import time
import types
import warnings
import weakref
from pathlib import Path
from typing import Iterator

import torch
from torch import nn

from export_model import DTYPES, ExportError, export_aoti, load_descriptor
from native_plan import VERSION as NATIVE_PLAN_VERSION
from native_plan import plan_of as native_plan_of
from native_plan import write_plan as write_native_plan

PROG = "pynference"


def say(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


class Prepared(nn.Module):
    """The network as spandrel's descriptor calls it (its input preparation, e.g. DRUNet's
    noise-level channel), without the padding: the engine pads on the device."""

    def __init__(self, descriptor, noise_level: float | None) -> None:
        super().__init__()
        self.net = descriptor.model
        self.call = descriptor._call_fn  # noqa: SLF001 — the preparation spandrel applies
        self.noise_level = noise_level

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.noise_level is not None:  # DRUNet, FDnCNN: an extra channel holding the noise level
            level = torch.full_like(x[:, :1], self.noise_level / 255.0)
            return self.net(torch.cat([x, level], dim=1))
        return self.call(self.net, x)


NOISE_LEVEL_TAKERS = "DRUNet and FDnCNN (DnCNN with a noise-level channel)"


def takes_noise_level(descriptor) -> bool:
    """DRUNet, and DnCNN in its FDnCNN form: a noise-level channel beside the image."""
    arch = descriptor.architecture.name
    return arch == "DRUNet" or (arch == "DnCNN" and getattr(descriptor.model, "mode", "") == "FDnCNN")


def _fused_conv3xc_forward(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = self.eval_conv(x)
    if self.has_relu:
        out = nn.functional.leaky_relu(out, negative_slope=0.05)
    return out


def _plain_layernorm2d_forward(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
    # LayerNormFunction.forward's arithmetic, in the same order, as plain tensor operations.
    channels = x.shape[1]
    mu = x.mean(1, keepdim=True)
    var = (x - mu).pow(2).mean(1, keepdim=True)
    y = (x - mu) / (var + self.eps).sqrt()
    return self.weight.view(1, channels, 1, 1) * y + self.bias.view(1, channels, 1, 1)


_MASKS: list[weakref.ref] = []


def _shared(mask: torch.Tensor) -> torch.Tensor:
    """An equal mask made before, where there is one: the blocks of a network build the same few
    masks (SwinIR-light's 24 blocks two, each 67 MB at 960x540 in bf16), and the package and the
    GPU's memory then hold each once (a tensor registered in several modules is saved once)."""
    if mask.device.type == "meta":  # no values to compare
        return mask
    _MASKS[:] = [ref for ref in _MASKS if ref() is not None]
    for ref in _MASKS:
        seen = ref()
        if (seen is not None and seen.shape == mask.shape and seen.dtype == mask.dtype and seen.device == mask.device
                and torch.equal(seen, mask)):
            return seen
    _MASKS.append(weakref.ref(mask))
    return mask


def _mask_once(self: nn.Module, *args, **kwargs):
    """calculate_mask as the network's own code computes it, once per size, kept as buffers of the
    module: on its device and in its dtype from then on (they follow .to()), shared between the
    modules that build equal ones."""
    sizes = [n for a in (*args, *(v for k, v in sorted(kwargs.items()) if k != "dtype"))
             for n in (a if isinstance(a, (tuple, list)) else (a,))]
    name = "_pyn_mask_" + "x".join(str(int(n)) for n in sizes)
    if not hasattr(self, f"{name}_0"):
        like = next(iter(self.parameters()), None)
        with torch.no_grad():
            made = type(self).calculate_mask(self, *args, **kwargs)
        single = isinstance(made, torch.Tensor)  # DAT's and RGT's give a pair
        masks = [made] if single else list(made)
        for i, mask in enumerate(masks):
            if like is not None:
                mask = mask.to(like.device, like.dtype)
            self.register_buffer(f"{name}_{i}", _shared(mask), persistent=False)
        setattr(self, f"{name}_n", 0 if single else len(masks))
    count = getattr(self, f"{name}_n")
    if count == 0:
        return getattr(self, f"{name}_0")
    return tuple(getattr(self, f"{name}_{i}") for i in range(count))


def prepare_for_export(net: nn.Module) -> nn.Module:
    """Model-side preparation the compilers need, for inference only.
    - SPAN's Conv3XC recomputes its fused eval weights inside forward() in eval mode (a lifted
      constant torch.export cannot hold): compute them once here, in fp32, and run the fused
      convolution alone.
    - OmniSR's (and NAFNet's, KBNet's) LayerNorm2d is a custom autograd Function, which neither a
      trace nor torch.export can hold: its forward arithmetic as plain operations.
    - The shifted-window transformers (SwinIR, HAT, DAT, and Swin2SR, DRCT, ATD, RGT) build their
      attention masks for a size other than their img_size on the CPU in every forward() and copy
      them to the GPU: a CPU part of the graph, which Inductor compiles as C++ and a trace runs on
      the host in every frame. The masks depend on the size alone: computed once by the network's
      own calculate_mask, and kept on the device in the network's dtype (SwinIR's is fp32 whatever
      the network's, which made its bf16 fail even in eager)."""
    for module in net.modules():
        kind = type(module).__name__
        if kind == "Conv3XC" and hasattr(module, "update_params") and hasattr(module, "eval_conv"):
            with torch.no_grad():
                module.update_params()
            module.forward = types.MethodType(_fused_conv3xc_forward, module)
        elif kind == "LayerNorm2d" and "LayerNormFunction" in type(module).forward.__code__.co_names:
            module.forward = types.MethodType(_plain_layernorm2d_forward, module)
        if callable(getattr(type(module), "calculate_mask", None)):
            module.calculate_mask = types.MethodType(_mask_once, module)
    return net


def choose_dtype(asked: str, device: str, half_ok: bool, bf16_ok: bool, arch: str) -> str:
    if device == "cpu":
        if asked not in ("auto", "fp32"):
            say(f"warning: the CPU runs {arch} in fp32, not {asked}")
        return "fp32"
    if asked == "auto":
        return "fp16" if half_ok else "bf16" if bf16_ok else "fp32"
    if asked == "fp16" and not half_ok:
        say(f"warning: {arch} is not safe in fp16 (spandrel marks it so: its output may overflow to inf/NaN); "
            f"running fp16 as asked ({'bf16' if bf16_ok else 'fp32'} is the safe default)")
    if asked == "bf16" and not bf16_ok:
        say(f"warning: {arch} is not safe in bf16 (spandrel marks it so); running bf16 as asked")
    return asked


def load_source(path: Path, noise_level: float | None):
    """(module, architecture name, size requirement (minimum, multiple_of, square), fp16 ok, bf16 ok)."""
    if path.suffix.lower() == ".onnx":
        try:
            import onnx2torch  # noqa: PLC0415
        except ImportError as e:
            raise ExportError(f"{path.name} is an ONNX model: converting it needs the `onnx2torch` package "
                              "(scripts/install-deps.sh installs it)") from e
        if noise_level is not None:
            raise ExportError(f"{path.name} (ONNX) takes no --noise-level")
        import onnx  # noqa: PLC0415 — onnx2torch's own dependency

        try:
            proto = onnx.load(str(path))
        except Exception as e:  # noqa: BLE001 — protobuf's decode errors, and any other
            raise ExportError(f"{path.name} is not an ONNX model: {first_line(e)}") from e
        weights = {t.name for t in proto.graph.initializer}
        inputs = [i.name for i in proto.graph.input if i.name not in weights]
        if len(inputs) != 1 or len(proto.graph.output) != 1:
            raise ExportError(f"{path.name}: an image-to-image network takes one input and gives one output; this "
                              f"ONNX graph takes {len(inputs)} and gives {len(proto.graph.output)}")
        try:
            module = onnx2torch.convert(proto)
        except Exception as e:  # noqa: BLE001 — onnx2torch raises many kinds
            text = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ExportError(f"onnx2torch cannot convert {path.name}: {text}") from e
        # ONNX files carry no fp16 safety: fp32 unless asked.
        return module.eval(), "ONNX", (0, 1, False), False, False
    descriptor = load_descriptor(path)
    arch = descriptor.architecture.name
    takes = takes_noise_level(descriptor)
    if noise_level is not None and not takes:
        raise ExportError(f"{path.name} ({arch}) takes no noise level; --noise-level is for {NOISE_LEVEL_TAKERS}")
    if takes and noise_level is None:
        noise_level = 15.0  # spandrel's default, the one DRUNet's and DnCNN's authors use
    req = descriptor.size_requirements
    module = Prepared(descriptor, noise_level if takes else None)
    module = prepare_for_export(module.eval())
    return module, arch, (req.minimum, req.multiple_of, req.square), descriptor.supports_half, descriptor.supports_bfloat16


def padded_size(width: int, height: int, minimum: int, multiple: int, square: bool) -> tuple[int, int]:
    def up(x: int) -> int:
        x = max(x, minimum)
        return (x + multiple - 1) // multiple * multiple

    w, h = up(width), up(height)
    if square:
        w = h = max(w, h)
    return w, h


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Inductor and the C++ compiler it runs write pages on failure; keep them out of our one line."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def first_dtype_that_runs(module: nn.Module, dtype: str, device: torch.device, size: tuple[int, int],
                          arch: str) -> str:
    """The chosen dtype, or the next safer one where the network's code fails in it at this
    (padded) size: SwinIR's does in bf16 at any size but its img_size, even in eager ("expected
    scalar type Float but found BFloat16": the attention mask it builds for another size is fp32).
    One run of a copy per dtype tried."""
    order = ["fp16", "bf16", "fp32"]
    w, h = size
    for candidate in order[order.index(dtype):]:
        if candidate == "fp32":
            return candidate
        try:
            probe = copy.deepcopy(module).to(device, DTYPES[candidate]).eval()
            with torch.no_grad():
                probe(torch.rand(1, 3, h, w, device=device, dtype=DTYPES[candidate]))
            return candidate
        except Exception as e:  # noqa: BLE001 — any failure of the network's code in this dtype
            say(f"{arch} fails in {candidate} ({first_line(e)}): trying {order[order.index(candidate) + 1]}")
        finally:
            probe = None
    return "fp32"


def trace(module: nn.Module, example: torch.Tensor, path: Path) -> None:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module, example, check_trace=False)
    torch.jit.save(traced, str(path))


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:300]
    return type(error).__name__


def native_choice(module: nn.Module, arch: str, name: str, engine: str, device_tag: str, asked_dtype: str,
                  half_ok: bool, bf16_ok: bool) -> str | None:
    """The dtype the native engine runs this request in, or None where the torch engine runs it
    (engine `auto` and a network the native engine does not run). Refusals of `native` raise."""
    if engine == "torch":
        return None
    net = getattr(module, "net", None)  # Prepared; an ONNX model is not one
    try:
        if net is None:
            raise ExportError(f"the native engine takes state dicts, not {name} ({arch}); use --engine torch")
        if getattr(module, "noise_level", None) is not None:
            raise ExportError(f"the native engine has no noise-level input ({arch}); use --engine torch")
        with torch.no_grad():
            native_plan_of(net, arch, name)
    except ExportError:
        if engine == "auto":
            return None
        raise
    if device_tag == "cpu":
        return choose_dtype(asked_dtype, device_tag, half_ok, bf16_ok, arch)
    if asked_dtype == "fp32":
        raise ExportError("the native engine runs fp16 or bf16 on a GPU, not fp32; use --engine torch for fp32")
    if asked_dtype == "auto":
        return "fp16" if half_ok or not bf16_ok else "bf16"
    return choose_dtype(asked_dtype, device_tag, half_ok, bf16_ok, arch)


def compile_native(module: nn.Module, source: Path, arch: str, device_tag: str, dtype: str,
                   padded: tuple[int, int], cache: Path, digest: str) -> dict:
    """The native engine's cache entry: the plan and weights (native_plan.py), written in moments."""
    safe_arch = re.sub(r"[^A-Za-z0-9]+", "", arch)
    key = f"native{NATIVE_PLAN_VERSION}-{safe_arch}-{digest[:16]}-{device_tag}-{dtype}-{padded[0]}x{padded[1]}"
    entry = cache / key
    if (entry / "meta.json").is_file():
        meta = json.loads((entry / "meta.json").read_text())
        meta["compiled"] = 0
        meta["entry"] = str(entry)
        return meta
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=cache))
    try:
        scale = write_native_plan(module.net, arch, source.name, tmp)
        meta = {
            "source": source.name,
            "sha256": digest,
            "arch": arch,
            "device": device_tag,
            "dtype": dtype,
            "padded": f"{padded[0]}x{padded[1]}",
            "scale": scale,
            "format": "native",
            "artifact": "native.plan",
            "noise_level": None,
            "torch": torch.__version__.split("+")[0],
            "compile_s": 0.0,
            "fallback": "",
            "fallback_log": "",
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, entry)
        except OSError:
            if not (entry / "meta.json").is_file():
                raise
        say(f"wrote the native engine's plan of {source.name} ({arch}) into {cache}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    meta["compiled"] = 1
    meta["entry"] = str(entry)
    return meta


def compile_model(source: Path, size: tuple[int, int], device: str, asked_dtype: str,
                  noise_level: float | None, cache: Path, digest: str, engine: str = "torch") -> dict:
    """The cache entry for this request, compiled now unless an entry of the same name exists.
    `engine` is torch, native (the native engine's plan, or a one-line refusal) or auto (native
    where that engine runs the network)."""
    cuda = device.startswith("cuda")
    if cuda:
        if not torch.cuda.is_available():
            raise ExportError(f"cannot compile {source.name} for {device}: torch sees no CUDA GPU")
        index = int(device.partition(":")[2] or 0)
        torch.cuda.set_device(index)
        major, minor = torch.cuda.get_device_capability(index)
        device_tag = f"sm{major}{minor}"
    else:
        device_tag = "cpu"
    module, arch, (minimum, multiple, square), half_ok, bf16_ok = load_source(source, noise_level)
    noise_level = getattr(module, "noise_level", None)  # the default where one is taken (load_source)
    pw, ph = padded_size(size[0], size[1], minimum, multiple, square)
    native_dtype = native_choice(module, arch, source.name, engine, device_tag, asked_dtype, half_ok, bf16_ok)
    if native_dtype is not None:
        return compile_native(module, source, arch, device_tag, native_dtype, (pw, ph), cache, digest)
    dtype = choose_dtype(asked_dtype, device_tag, half_ok, bf16_ok, arch)
    if cuda and asked_dtype == "auto":
        dtype = first_dtype_that_runs(module, dtype, torch.device(f"cuda:{index}"), (pw, ph), arch)
    torch_version = torch.__version__.split("+")[0]
    noise = f"-n{noise_level:g}" if noise_level is not None else ""
    safe_arch = re.sub(r"[^A-Za-z0-9]+", "", arch)
    key = f"{safe_arch}-{digest[:16]}-{device_tag}-{dtype}-{pw}x{ph}{noise}-torch{torch_version}"
    entry = cache / key
    meta_path = entry / "meta.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        meta["compiled"] = 0
        meta["entry"] = str(entry)
        return meta

    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=cache))
    try:
        start = time.monotonic()
        how = "an AOTInductor package" if cuda else "a trace"
        say(f"compiling {source.name} ({arch}) for {device_tag}, {dtype}, {pw}x{ph}: {how} (once; cached in {cache})")
        torch_device = torch.device(f"cuda:{index}") if cuda else torch.device("cpu")
        example = torch.rand(1, 3, ph, pw, device=torch_device, dtype=DTYPES[dtype])
        module = module.to(torch_device, DTYPES[dtype]).eval()
        with torch.no_grad():
            probe = module(example)
        if not isinstance(probe, torch.Tensor) or probe.dim() != 4 or probe.shape[1] != 3 or probe.shape[2] % ph:
            shape = list(probe.shape) if isinstance(probe, torch.Tensor) else type(probe).__name__
            raise ExportError(f"{source.name} ({arch}) is not an image-to-image RGB network: 1x3x{ph}x{pw} gives {shape}")
        scale = probe.shape[2] // ph
        if probe.shape[3] != pw * scale:
            raise ExportError(f"{source.name} ({arch}) scales height and width differently: 1x3x{ph}x{pw} gives {list(probe.shape)}")
        fallback = ""
        artifact = None
        if cuda:
            try:
                with quiet_stderr(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    export_aoti(module, tmp / "model.pt2", dtype, "cuda", scale, (pw, ph))
                artifact = "model.pt2"
            except Exception as e:  # noqa: BLE001 — any failure of export or Inductor: trace instead
                fallback = f"AOTInductor failed ({first_line(e)}): a trace at {pw}x{ph} instead"
                say(f"{source.name}: {fallback}")
                for leftover in tmp.iterdir():
                    shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink()
                # The whole of it (a C++ compile error is the compiler's pages), beside meta.json.
                (tmp / "fallback.log").write_text(f"{type(e).__name__}: {e}"[:200_000] + "\n")
        if artifact is None:
            trace(module, example, tmp / "model.pt")
            artifact = "model.pt"
        meta = {
            "source": source.name,
            "sha256": digest,
            "arch": arch,
            "device": device_tag,
            "dtype": dtype,
            "padded": f"{pw}x{ph}",
            "scale": scale,
            "format": "pt2" if artifact.endswith(".pt2") else "pt",
            "artifact": artifact,
            "noise_level": noise_level,
            "torch": torch_version,
            "compile_s": round(time.monotonic() - start, 2),
            "fallback": fallback,
            "fallback_log": "fallback.log" if fallback else "",
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, entry)
        except OSError:
            if not meta_path.is_file():  # not another process that finished the same entry first
                raise
        say(f"compiled {source.name} in {meta['compile_s']:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    meta["compiled"] = 1
    meta["entry"] = str(entry)
    return meta


