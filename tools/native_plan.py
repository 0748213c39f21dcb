"""The plan of the `native` engine: a state dict's network as a list of the operators that engine
runs (src/engine/native), written beside its weights into a cache entry of compile_model.py.

A plan is a text file, `native.plan`, and one binary file, `native.bin`, of little-endian fp32.
Tensors are named %0 (the input), %1, ... in the order the operators make them:

    pynference-native 2
    arch Compact
    input 3                          channels of %0 (RGB)
    scale 4                          the network's upscale factor
    %1 = conv 3 %0 64 prelu          a KxK convolution (K 3 or 1, stride 1, zero padding K/2) of
    %2 = conv 3 %1 48 none           its inputs, concatenated along the channels if several
    %3 = shuffle %2 4                (%1,%2), into COUT channels, then an activation: none, relu,
    %4 = upsample %0 4               prelu, silu or leaky:SLOPE
    %5 = add %3 %4                   (shuffle: pixel shuffle; upsample: nearest)
    output %5

The other operators: `act %a ACT` (an activation alone), `affine %a` (x * scale[c] + shift[c]),
`axpy %a S %b` (a * S + b), and `gate %a %x` ((a + x) * (sigmoid(a) - 0.5), SPAN's attention).
Each conv takes from native.bin in order: weight [out][in][K][K], bias [out], and the PReLU slopes
[out] for `prelu`; `act` with prelu takes its slopes, `affine` its scale [C] and shift [C]. The plan
depends on the file alone (not on the device, dtype or frame size): the engine converts the weights
for its device when it loads them.

The engine runs Real-ESRGAN Compact (SRVGGNetCompact), SPAN, and ESRGAN (RRDBNet, old and new
arch files, CNA mode, without the `plus` convolutions and the pixel-unshuffle of 1x/2x models);
a network it does not run is refused in one line that names what it does run."""

from __future__ import annotations

import struct
from pathlib import Path

import torch
from torch import nn

from export_model import ExportError

PLAN = "native.plan"
WEIGHTS = "native.bin"
VERSION = 2
SUPPORTED = "Real-ESRGAN Compact, SPAN and ESRGAN (RRDBNet)"


class Emitter:
    """Writes operators into the plan, naming their outputs, and collects their weights."""

    def __init__(self, arch: str, channels: int, scale: int) -> None:
        self.lines = [f"arch {arch}", f"input {channels}", f"scale {scale}"]
        self.tensors: list[torch.Tensor] = []
        self.channels = {0: channels}
        self.count = 0

    def op(self, text: str, channels: int, tensors: list[torch.Tensor] = ()) -> int:
        self.count += 1
        self.lines.append(f"%{self.count} = {text}")
        self.channels[self.count] = channels
        self.tensors += [t.detach().float().reshape(-1) for t in tensors]
        return self.count

    def conv(self, conv: nn.Module, inputs: list[int], act: nn.Module | None, where: str) -> int:
        if not isinstance(conv, nn.Conv2d):
            raise ExportError(f"{where}: expected a convolution, found {type(conv).__name__}")
        k = conv.kernel_size[0]
        if (conv.kernel_size not in ((3, 3), (1, 1)) or conv.stride != (1, 1) or conv.padding != (k // 2, k // 2)
                or conv.dilation != (1, 1) or conv.groups != 1 or conv.padding_mode != "zeros"):
            raise ExportError(f"{where}: the native engine runs 3x3 and 1x1 convolutions of stride 1 and zero "
                              "padding only")
        cin = sum(self.channels[i] for i in inputs)
        if cin != conv.in_channels:
            raise ExportError(f"{where}: a convolution of {conv.in_channels} channels in after {cin}")
        word, slopes = activation(act, conv.out_channels, where)
        bias = conv.bias if conv.bias is not None else torch.zeros(conv.out_channels)
        names = ",".join(f"%{i}" for i in inputs)
        return self.op(f"conv {k} {names} {conv.out_channels} {word}", conv.out_channels,
                       [conv.weight, bias, *slopes])

    def act(self, x: int, module: nn.Module, where: str) -> int:
        word, slopes = activation(module, self.channels[x], where)
        return self.op(f"act %{x} {word}", self.channels[x], slopes)

    def write(self, output: int, folder: Path) -> None:
        with (folder / WEIGHTS).open("wb") as f:
            for tensor in self.tensors:
                values = tensor.contiguous().tolist()
                f.write(struct.pack(f"<{len(values)}f", *values))
        lines = [f"pynference-native {VERSION}", *self.lines, f"output %{output}"]
        (folder / PLAN).write_text("\n".join(lines) + "\n")


def activation(module: nn.Module | None, channels: int, where: str) -> tuple[str, list[torch.Tensor]]:
    if module is None:
        return "none", []
    if isinstance(module, nn.ReLU):
        return "relu", []
    if isinstance(module, nn.SiLU):
        return "silu", []
    if isinstance(module, nn.LeakyReLU):
        return f"leaky:{module.negative_slope:.9g}", []
    if isinstance(module, nn.PReLU):
        slopes = module.weight.detach().float().reshape(-1)
        if slopes.numel() == 1:
            slopes = slopes.expand(channels)
        if slopes.numel() != channels:
            raise ExportError(f"{where}: a PReLU of {slopes.numel()} slopes after {channels} channels")
        return "prelu", [slopes]
    raise ExportError(f"{where}: the native engine has no {type(module).__name__} activation")


def is_activation(module: nn.Module) -> bool:
    return isinstance(module, (nn.ReLU, nn.SiLU, nn.LeakyReLU, nn.PReLU))


def sequence(e: Emitter, modules: list[nn.Module], x: int, where: str) -> int:
    """A flat chain of modules: a convolution takes the activation that follows it."""
    i = 0
    while i < len(modules):
        m = modules[i]
        here = f"{where}.{i}"
        if isinstance(m, nn.Conv2d):
            follows = modules[i + 1] if i + 1 < len(modules) and is_activation(modules[i + 1]) else None
            x = e.conv(m, [x], follows, here)
            i += 2 if follows is not None else 1
            continue
        if is_activation(m):
            x = e.act(x, m, here)
        elif isinstance(m, nn.PixelShuffle):
            x = e.op(f"shuffle %{x} {m.upscale_factor}", e.channels[x] // m.upscale_factor**2)
        elif isinstance(m, nn.Upsample):
            factor = m.scale_factor
            if m.mode != "nearest" or factor is None or float(factor) != int(factor):
                raise ExportError(f"{here}: the native engine upsamples by a whole factor, nearest, only")
            x = e.op(f"upsample %{x} {int(factor)}", e.channels[x])
        elif isinstance(m, nn.Sequential):
            x = sequence(e, list(m), x, here)
        elif type(m).__name__ == "ShortcutBlock":
            inner = sequence(e, list(m.sub) if isinstance(m.sub, nn.Sequential) else [m.sub], x, f"{here}.sub")
            x = e.op(f"add %{x} %{inner}", e.channels[x])
        elif type(m).__name__ == "RRDB":
            start = x
            for name in ("RDB1", "RDB2", "RDB3"):
                x = dense_block(e, getattr(m, name), x, f"{here}.{name}")
            x = e.op(f"axpy %{x} 0.2 %{start}", e.channels[x])
        else:
            raise ExportError(f"{here}: the native engine has no {type(m).__name__}")
        i += 1
    return x


def conv_and_act(block: nn.Module, where: str) -> tuple[nn.Module, nn.Module | None]:
    """A conv_block in CNA mode without a norm: (conv, activation or None)."""
    parts = list(block) if isinstance(block, nn.Sequential) else [block]
    if not isinstance(parts[0], nn.Conv2d) or len(parts) > 2 or (len(parts) == 2 and not is_activation(parts[1])):
        raise ExportError(f"{where}: the native engine runs conv blocks of a convolution and an activation only "
                          "(CNA mode, no norm)")
    return parts[0], parts[1] if len(parts) == 2 else None


def dense_block(e: Emitter, rdb: nn.Module, x: int, where: str) -> int:
    if getattr(rdb, "conv1x1", None) is not None:
        raise ExportError(f"{where}: the native engine does not run ESRGAN+'s extra 1x1 convolutions")
    made = [x]
    for k in range(1, 6):
        conv, act = conv_and_act(getattr(rdb, f"conv{k}"), f"{where}.conv{k}")
        made.append(e.conv(conv, list(made), act, f"{where}.conv{k}"))
    return e.op(f"axpy %{made[-1]} 0.2 %{x}", e.channels[x])


def compact_plan(net: nn.Module) -> tuple[Emitter, int]:
    e = Emitter("Compact", net.num_in_ch, net.upscale)
    x = sequence(e, list(net.body), 0, "body")
    if e.channels[x] != net.num_out_ch * net.upscale**2:
        raise ExportError(f"Compact: the last convolution gives {e.channels[x]} channels, not "
                          f"{net.num_out_ch} x {net.upscale}^2")
    shuffled = e.op(f"shuffle %{x} {net.upscale}", net.num_out_ch)
    base = e.op(f"upsample %0 {net.upscale}", net.num_in_ch)
    return e, e.op(f"add %{shuffled} %{base}", net.num_out_ch)


def span_plan(net: nn.Module) -> tuple[Emitter, int]:
    upscale = net.upsampler[1].upscale_factor
    e = Emitter("SPAN", net.in_channels, upscale)
    x = 0
    if net.is_norm:  # (x - mean) * img_range, before the first convolution's zero padding
        mean = net.mean.detach().float().reshape(-1)
        scale = torch.full_like(mean, float(net.img_range))
        x = e.op("affine %0", net.in_channels, [scale, -mean * net.img_range])

    def conv3xc(module: nn.Module, inputs: list[int], act: nn.Module | None, where: str) -> int:
        module.update_params()  # the three convolutions and the skip folded into eval_conv, as eval does
        if module.has_relu:
            if act is not None:
                raise ExportError(f"{where}: an activation after Conv3XC's own")
            act = nn.LeakyReLU(0.05)
        return e.conv(module.eval_conv, inputs, act, where)

    def spab(block: nn.Module, x: int, where: str) -> tuple[int, int]:
        out1 = conv3xc(block.c1_r, [x], block.act1, f"{where}.c1_r")
        out2 = conv3xc(block.c2_r, [out1], block.act1, f"{where}.c2_r")
        out3 = conv3xc(block.c3_r, [out2], None, f"{where}.c3_r")
        # SPAB's second result, out1, is c1_r's output after the SiLU: the SiLU is in place.
        return e.op(f"gate %{out3} %{x}", e.channels[x]), out1

    if not isinstance(net.block_1.act1, nn.SiLU):
        raise ExportError("SPAN: expected SiLU activations in its blocks")
    feature = conv3xc(net.conv_1, [x], None, "conv_1")
    out = feature
    outs = []
    for k in range(1, 7):
        out, first = spab(getattr(net, f"block_{k}"), out, f"block_{k}")
        outs.append((out, first))
    b6 = conv3xc(net.conv_2, [outs[5][0]], None, "conv_2")
    cat = e.conv(net.conv_cat, [feature, b6, outs[0][0], outs[5][1]], None, "conv_cat")
    up = e.conv(net.upsampler[0], [cat], None, "upsampler.0")
    return e, e.op(f"shuffle %{up} {upscale}", net.out_channels)


def esrgan_plan(net: nn.Module) -> tuple[Emitter, int]:
    if net.shuffle_factor:
        raise ExportError("ESRGAN: the native engine does not run the pixel-unshuffle of 1x and 2x models")
    e = Emitter("ESRGAN", net.model[0].in_channels, net.scale)
    return e, sequence(e, list(net.model), 0, "model")


def plan_of(net: nn.Module, arch: str, name: str) -> tuple[Emitter, int]:
    kind = type(net).__name__
    if kind == "SRVGGNetCompact":
        return compact_plan(net)
    if kind == "SPAN":
        return span_plan(net)
    if kind == "RRDBNet":
        return esrgan_plan(net)
    raise ExportError(f"the native engine runs {SUPPORTED}, not {name} ({arch}); use --engine torch")


def write_plan(net: nn.Module, arch: str, name: str, folder: Path) -> int:
    """Writes native.plan and native.bin into `folder`; returns the network's scale."""
    with torch.no_grad():
        emitter, output = plan_of(net, arch, name)
    emitter.write(output, folder)
    return int(emitter.lines[2].split()[1])
