#!/usr/bin/env python3
"""Make the small demo models that the tests, the benchmarks and the README use.

    python3 tools/make_demo_models.py [--out models/demo] [--pt2 auto|none|cpu|cuda] [--dtype fp16 ...] [--batch N]

  compact-x2, compact-x4  SRVGGNetCompact-like upscalers (16 convs of 64 channels with PReLU, pixel
                          shuffle, plus the nearest-upscaled input), random weights from a fixed
                          seed: the cost of a real compact model, a plausible-looking picture.
  esrgan-x4               ESRGAN's RRDB network (23 blocks of 3 dense blocks, 64 features, growth 32,
                          two nearest x2 upsamplings), random weights from a fixed seed: the heavy
                          model of the tiling figures (scripts/gpu-tiles-bench.sh); made only when
                          asked (--only esrgan-x4: 67 MB of weights).
  exact-x2                2x nearest upscale written as fixed weights (a one-hot 1x1 conv and a
                          pixel shuffle): its output is known exactly, in fp32, fp16 and bf16.
  superultracompact-x1    the "superultracompact" shape at scale 1 (8 convs of 24 channels with PReLU
                          between the first and the last, plus the input): a light network for the
                          decode figures (scripts/gpu-nvdec-bench.sh); made only when asked.
  classifier              not an image-to-image network (10 class scores): the engine must refuse it.

TorchScript files (.pt) are made anywhere. AOTInductor packages (.pt2) are compiled for this machine:
`--pt2 auto` (the default) makes them for the local GPU when there is one, `--pt2 cpu` for the CPU
(the host backend's tests), `--pt2 none` skips them; `--batch N` makes them for N frames per inference
(`pynference run --batch N`, named *.bN.pt2). The compact models' state dicts (.pth) come
too, for trying tools/export_model.py's spandrel path.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import export_model  # noqa: E402


class SRVGGNetCompact(nn.Module):
    """The layout of Real-ESRGAN's SRVGGNetCompact (same parameter names, so spandrel knows it)."""

    def __init__(self, upscale: int = 4, num_feat: int = 64, num_conv: int = 16) -> None:
        super().__init__()
        self.upscale = upscale
        self.body = nn.ModuleList([nn.Conv2d(3, num_feat, 3, 1, 1), nn.PReLU(num_parameters=num_feat)])
        for _ in range(num_conv):
            self.body.append(nn.Conv2d(num_feat, num_feat, 3, 1, 1))
            self.body.append(nn.PReLU(num_parameters=num_feat))
        self.body.append(nn.Conv2d(num_feat, 3 * upscale * upscale, 3, 1, 1))
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        out = self.upsampler(out)
        return out + F.interpolate(x, scale_factor=float(self.upscale), mode="nearest")


class DenseBlock(nn.Module):
    """Five 3x3 convolutions, each seeing the block's input and every earlier output; the last one's
    result scaled by 0.2 is added to the input."""

    def __init__(self, feat: int = 64, grow: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(feat, grow, 3, 1, 1)
        self.conv2 = nn.Conv2d(feat + grow, grow, 3, 1, 1)
        self.conv3 = nn.Conv2d(feat + 2 * grow, grow, 3, 1, 1)
        self.conv4 = nn.Conv2d(feat + 3 * grow, grow, 3, 1, 1)
        self.conv5 = nn.Conv2d(feat + 4 * grow, feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        return x + 0.2 * self.conv5(torch.cat((x, x1, x2, x3, x4), 1))


class RRDB(nn.Module):
    def __init__(self, feat: int = 64, grow: int = 32) -> None:
        super().__init__()
        self.rdb1 = DenseBlock(feat, grow)
        self.rdb2 = DenseBlock(feat, grow)
        self.rdb3 = DenseBlock(feat, grow)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.rdb3(self.rdb2(self.rdb1(x)))


class RRDBNet(nn.Module):
    """ESRGAN x4 with the parameter names of its later releases (conv_first, body.N.rdbK.convJ,
    conv_body, conv_up1/2, conv_hr, conv_last), so spandrel knows its state dict too."""

    def __init__(self, blocks: int = 23, feat: int = 64, grow: int = 32) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(3, feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(feat, grow) for _ in range(blocks)])
        self.conv_body = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(feat, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2.0, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2.0, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


def esrgan_x4() -> nn.Module:
    torch.manual_seed(2345)
    net = RRDBNet()
    with torch.no_grad():  # the dense blocks' weights small, as ESRGAN initialises them
        for block in net.body.modules():
            if isinstance(block, nn.Conv2d):
                nn.init.kaiming_normal_(block.weight)
                block.weight.mul_(0.1)
                block.bias.zero_()
        net.conv_last.weight.mul_(0.25)  # a picture's range: few samples clamped at 0 or 1
        net.conv_last.bias.fill_(0.5)
    return net.eval()


class NearestX2(nn.Module):
    """out[c, 2y+i, 2x+j] = in[c, y, x]: every output is one input times 1.0 plus zeros, so exact
    in any float type and with any convolution algorithm (1x1: no Winograd, no FFT)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 1, bias=True)
        self.shuffle = nn.PixelShuffle(2)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.bias.zero_()
            for c in range(3):
                for k in range(4):  # pixel_shuffle reads channel c*4 + i*2 + j for offset (i, j)
                    self.conv.weight[c * 4 + k, c, 0, 0] = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.features(x), 1))


def compact(upscale: int) -> nn.Module:
    torch.manual_seed(1234 + upscale)
    net = SRVGGNetCompact(upscale)
    with torch.no_grad():  # the residual stays small: the picture is the upscaled input, slightly textured
        net.body[-1].bias.zero_()
    return net.eval()


def compact_x2() -> nn.Module:
    return compact(2)


def compact_x4() -> nn.Module:
    return compact(4)


def compact_x2_textured() -> nn.Module:
    """compact-x2's layout, smaller (4 convolutions of 16 channels: a receptive field of 6 pixels each
    side), with weights that keep the signal's scale through the layers: compact-x2's default
    initialisation shrinks the input's part about threefold per layer, so its residual is carried by
    the biases, nearly the same for any input, and a seam between tiles hardly shows (measured: 5 of
    80,000 16-bit samples off by one with 4 pixels of overlap). The tiling tests need seams that would
    show."""
    torch.manual_seed(99)
    net = SRVGGNetCompact(2, num_feat=16, num_conv=4)
    with torch.no_grad():
        for layer in net.body:
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, a=0.25)
                layer.bias.zero_()
        net.body[-1].weight.mul_(0.05)
    return net.eval()


def superultracompact_x1() -> nn.Module:
    """Real-ESRGAN's "superultracompact" shape at scale 1: 8 convolutions of 24 channels between the
    first and the last, a light network for runs where decoding and encoding are the cost."""
    torch.manual_seed(1241)
    net = SRVGGNetCompact(1, num_feat=24, num_conv=8)
    with torch.no_grad():
        net.body[-1].bias.zero_()
    return net.eval()


def exact_x2() -> nn.Module:
    return NearestX2().eval()


def classifier() -> nn.Module:
    torch.manual_seed(7)
    return Classifier().eval()


MODELS = {
    "compact-x2": compact_x2,
    "compact-x4": compact_x4,
    "exact-x2": exact_x2,
    "classifier": classifier,
    "esrgan-x4": esrgan_x4,
    "superultracompact-x1": superultracompact_x1,
}


# Made only when named with --only.
ON_REQUEST = {"esrgan-x4", "superultracompact-x1"}


def pt2_devices(choices: list[str]) -> list[str]:
    devices: list[str] = []
    for choice in choices:
        device = export_model.pt2_device(choice)
        if device is not None and device not in devices:
            devices.append(device)
    return devices


# The frame size of the engine's exact tests (tests/engine/torch_engine_test.cpp).
FIXTURE_SIZE = (37, 21)
# The batch of the engine's batched package test.
FIXTURE_BATCH = 2


def tampered_copy(package: Path, out: Path, changes: dict[str, str]) -> Path:
    """A copy of a .pt2 whose metadata says something else: a package built elsewhere, for tests."""
    def write(tmp: Path) -> None:
        with zipfile.ZipFile(package) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as dst:
            for item in src.infolist():
                data = src.read(item)
                if item.filename.endswith("_metadata.json"):
                    data = json.dumps({**json.loads(data), **changes}).encode()
                dst.writestr(item, data)

    export_model.write_atomically(out, write)
    return out


def test_fixtures(out: Path, cpu_package: Path | None, torchscript: bool) -> list[Path]:
    """Models the engine must refuse with one clear line (its tests use them)."""
    files: list[Path] = []
    if torchscript:
        four = torch.jit.script(nn.Conv2d(4, 3, 3, padding=1))  # fails on an RGB input
        files.append(out / "four-channels.pt")
        export_model.write_atomically(files[-1], lambda tmp: torch.jit.save(four, str(tmp)))
        files.append(export_model.export_torchscript(compact_x2_textured(), out / "compact-x2-textured.pt"))
    if cpu_package is not None:
        files.append(tampered_copy(cpu_package, out / "other-torch.pt2", {"pyn.torch": "2.0.0"}))
        files.append(tampered_copy(cpu_package, out / "other-device.pt2",
                                   {"AOTI_DEVICE_KEY": "cuda", "AOTI_COMPUTE_CAPABILITY": "10"}))
        program = torch.export.export(exact_x2(), (torch.rand(1, 3, 8, 8),))
        files.append(out / "exported-program.pt2")
        export_model.write_atomically(files[-1], lambda tmp: torch.export.save(program, str(tmp)))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("models/demo"), help="folder (default models/demo)")
    parser.add_argument("--only", nargs="+", choices=sorted(MODELS), help="make only these")
    parser.add_argument("--pt2", nargs="+", choices=["auto", "none", "cpu", "cuda"], default=["auto"],
                        help="AOTInductor packages for: auto = this machine's GPU if it has one (default), "
                             "cpu, cuda, none; several may be given")
    parser.add_argument("--pt2-only", action="store_true", help="make no TorchScript or state dict files")
    parser.add_argument("--size", type=export_model.parse_size, metavar="WxH",
                        help=".pt2 packages for this input size only (faster; see tools/export_model.py)")
    parser.add_argument("--batch", type=export_model.parse_batch, default=1, metavar="N",
                        help=".pt2 packages for N frames per inference (pynference run --batch N); default 1")
    parser.add_argument("--dtype", nargs="+", choices=sorted(export_model.DTYPES), default=["fp16"],
                        help="dtypes of the CUDA .pt2 packages (CPU ones are fp32); default fp16")
    parser.add_argument("--test-fixtures", action="store_true",
                        help="also the broken models the engine's tests feed it (packages with --pt2 cpu)")
    args = parser.parse_args(argv)

    names = args.only or [name for name in MODELS if name not in ON_REQUEST]
    written: dict[str, list[str]] = {}
    try:
        devices = pt2_devices(args.pt2)
        for name in names:
            net = MODELS[name]()
            base = args.out / name
            files: list[Path] = []
            if not args.pt2_only:
                files.append(export_model.export_torchscript(net, base.with_name(name + ".pt")))
                if name.startswith("compact"):
                    pth = base.with_name(name + ".pth")
                    export_model.write_atomically(pth, lambda tmp, net=net: torch.save(net.state_dict(), tmp))
                    files.append(pth)
            if name != "classifier" and devices:
                scale = export_model.find_scale(net.to("cpu", torch.float32))
                for device in devices:
                    for dtype in ["fp32"] if device == "cpu" else args.dtype:
                        path = export_model.pt2_name(base, dtype, device, args.size, args.batch)
                        files.append(export_model.export_aoti(net, path, dtype, device, scale, args.size,
                                                              args.batch))
            written[name] = [str(p) for p in files]
        if args.test_fixtures:
            cpu_package = None
            if "cpu" in devices:
                cpu_package = export_model.pt2_name(args.out / "exact-x2", "fp32", "cpu")
                if not cpu_package.exists():
                    cpu_package = export_model.export_aoti(exact_x2(), cpu_package, "fp32", "cpu", 2)
            fixtures = test_fixtures(args.out, cpu_package, torchscript=not args.pt2_only)
            # A package for the tests' one frame size (37x21), which must refuse any other.
            for device in devices:
                fixed = export_model.pt2_name(args.out / "exact-x2", "fp32", device, FIXTURE_SIZE)
                fixtures.append(export_model.export_aoti(exact_x2(), fixed, "fp32", device, 2, FIXTURE_SIZE))
            # A CPU package for batches of 2, which must refuse any other N.
            if "cpu" in devices:
                batched = export_model.pt2_name(args.out / "exact-x2", "fp32", "cpu", None, FIXTURE_BATCH)
                fixtures.append(export_model.export_aoti(exact_x2(), batched, "fp32", "cpu", 2, None, FIXTURE_BATCH))
            written["test-fixtures"] = [str(p) for p in fixtures]
    except export_model.ExportError as e:
        print(f"make_demo_models: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"torch": torch.__version__, "written": written}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
