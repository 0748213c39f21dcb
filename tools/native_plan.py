"""The plan of the `native` engine: a state dict's network as a list of the operators that engine
runs (src/engine/native), written beside its weights into a cache entry of compile_model.py.

A plan is a text file, `native.plan`, and one binary file, `native.bin`, of little-endian fp32:

    pynference-native 1
    arch Compact
    input 3                 channels in (RGB)
    output 3                channels out
    scale 4                 the network's upscale factor
    conv 3 64 prelu         a 3x3 convolution (stride 1, padding 1): in, out channels, activation
    conv 64 64 prelu        ... activation: none, relu, prelu, or leaky:SLOPE
    conv 64 48 none
    shuffle 4               pixel shuffle by 4 (48 channels -> 3)
    skip nearest            plus the input upsampled by `scale` (nearest)

Each conv takes its weights from native.bin in order: weight [out][in][3][3], bias [out], and the
PReLU slopes [out] for `prelu`. The plan depends on the file alone (not on the device, dtype or
frame size): the engine converts the weights for its device when it loads them.

The engine runs Real-ESRGAN Compact (SRVGGNetCompact) in every size today; a network it does not
run is refused in one line that names what it does run."""

from __future__ import annotations

import struct
from pathlib import Path

import torch
from torch import nn

from export_model import ExportError

PLAN = "native.plan"
WEIGHTS = "native.bin"
SUPPORTED = "Real-ESRGAN Compact (SRVGGNetCompact)"


def _activation(module: nn.Module | None, channels: int, where: str) -> tuple[str, list[torch.Tensor]]:
    if module is None:
        return "none", []
    if isinstance(module, nn.ReLU):
        return "relu", []
    if isinstance(module, nn.LeakyReLU):
        return f"leaky:{module.negative_slope:.9g}", []
    if isinstance(module, nn.PReLU):
        slopes = module.weight.detach().float().reshape(-1)
        if slopes.numel() != channels:
            raise ExportError(f"{where}: a PReLU of {slopes.numel()} slopes after {channels} channels")
        return "prelu", [slopes]
    raise ExportError(f"{where}: the native engine has no {type(module).__name__} activation")


def _conv(conv: nn.Module, where: str) -> tuple[int, int, list[torch.Tensor]]:
    if not isinstance(conv, nn.Conv2d):
        raise ExportError(f"{where}: expected a convolution, found {type(conv).__name__}")
    if (conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.padding != (1, 1) or conv.dilation != (1, 1)
            or conv.groups != 1 or conv.padding_mode != "zeros"):
        raise ExportError(f"{where}: the native engine runs 3x3 convolutions of stride 1 and zero padding 1 only")
    weight = conv.weight.detach().float()
    bias = conv.bias.detach().float() if conv.bias is not None else torch.zeros(conv.out_channels)
    return conv.in_channels, conv.out_channels, [weight, bias]


def compact_plan(net: nn.Module) -> tuple[list[str], list[torch.Tensor]]:
    """The plan's lines and weights of an SRVGGNetCompact."""
    body = list(net.body)
    lines = ["arch Compact", f"input {net.num_in_ch}", f"output {net.num_out_ch}", f"scale {net.upscale}"]
    tensors: list[torch.Tensor] = []
    i = 0
    while i < len(body):
        where = f"Compact body.{i}"
        cin, cout, conv_tensors = _conv(body[i], where)
        following = body[i + 1] if i + 1 < len(body) and not isinstance(body[i + 1], nn.Conv2d) else None
        act, act_tensors = _activation(following, cout, f"Compact body.{i + 1}")
        lines.append(f"conv {cin} {cout} {act}")
        tensors += conv_tensors + act_tensors
        i += 2 if following is not None else 1
    last_out = int(lines[-1].split()[2])
    if last_out != net.num_out_ch * net.upscale * net.upscale:
        raise ExportError(f"Compact: the last convolution gives {last_out} channels, not "
                          f"{net.num_out_ch} x {net.upscale}^2")
    lines += [f"shuffle {net.upscale}", "skip nearest"]
    return lines, tensors


def plan_of(net: nn.Module, arch: str, name: str) -> tuple[list[str], list[torch.Tensor]]:
    if type(net).__name__ == "SRVGGNetCompact":
        return compact_plan(net)
    raise ExportError(f"the native engine runs {SUPPORTED}, not {name} ({arch}); use --engine torch")


def write_plan(net: nn.Module, arch: str, name: str, folder: Path) -> int:
    """Writes native.plan and native.bin into `folder`; returns the network's scale."""
    lines, tensors = plan_of(net, arch, name)
    with (folder / WEIGHTS).open("wb") as f:
        for tensor in tensors:
            values = tensor.contiguous().reshape(-1).tolist()
            f.write(struct.pack(f"<{len(values)}f", *values))
    (folder / PLAN).write_text("pynference-native 1\n" + "\n".join(lines) + "\n")
    return int(next(line.split()[1] for line in lines if line.startswith("scale ")))
