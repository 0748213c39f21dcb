#!/usr/bin/env python3
"""Small instances of the architectures pynference's -m compiles, with random weights, saved the way
downloads ship them: BasicSR key names inside `params_ema`, .safetensors, fp16 tensors.

    python3 tests/models/make_models.py OUT_DIR [--only NAME ...] [--list]

Prints one line per file: NAME FILE. Configurations are small (CI runs them on two CPU cores);
scripts/gpu_models_bench.py has the usual real ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

import torch
from torch import nn


def _arch(module: str, name: str) -> Callable[..., nn.Module]:
    import importlib  # noqa: PLC0415

    return getattr(importlib.import_module(f"spandrel.architectures.{module}"), name)


# name -> (factory, how the file is saved): "pth" (a bare state dict), "ema" (inside params_ema, as
# BasicSR writes it), "st" (.safetensors), "st16" (.safetensors in fp16), "pth16" (fp16 tensors).
def small_models() -> dict[str, tuple[Callable[[], nn.Module], str]]:
    return {
        "ESRGAN": (lambda: _arch("ESRGAN", "ESRGAN")(in_nc=3, out_nc=3, num_filters=16, num_blocks=1, scale=2), "ema"),
        "Compact": (lambda: _arch("Compact", "Compact")(num_feat=16, num_conv=4, upscale=2), "pth16"),
        "SPAN": (lambda: _arch("SPAN", "SPAN")(num_in_ch=3, num_out_ch=3, feature_channels=16, upscale=2), "st"),
        "SwinIR": (lambda: _arch("SwinIR", "SwinIR")(embed_dim=12, depths=[2], num_heads=[2], window_size=4,
                                                     upscale=2, img_size=16, upsampler="pixelshuffledirect"), "ema"),
        "HAT": (lambda: _arch("HAT", "HAT")(embed_dim=12, depths=(1,), num_heads=(2,), window_size=4,
                                            compress_ratio=3, squeeze_factor=4, upscale=2, img_size=16), "st16"),
        "DAT": (lambda: _arch("DAT", "DAT")(embed_dim=16, depth=[3], num_heads=[2], split_size=[2, 4],
                                            upscale=2, img_size=16, expansion_factor=2.0), "pth"),
        "OmniSR": (lambda: _arch("OmniSR", "OmniSR")(num_feat=16, block_num=1, window_size=4, up_scale=2), "st"),
        "RealCUGAN": (lambda: _arch("RealCUGAN", "UpCunet2x")(in_channels=3, out_channels=3), "pth16"),
        "PLKSR": (lambda: _arch("PLKSR", "PLKSR")(dim=16, n_blocks=2, upscaling_factor=2, kernel_size=7), "pth"),
        "RealPLKSR": (lambda: _arch("PLKSR", "RealPLKSR")(dim=16, n_blocks=2, upscaling_factor=2, kernel_size=7), "st"),
        "SAFMN": (lambda: _arch("SAFMN", "SAFMN")(dim=8, n_blocks=1, ffn_scale=2.0, upscaling_factor=2), "ema"),
        "DITN": (lambda: _arch("DITN", "DITN")(dim=8, UFONE_blocks=1, ITL_blocks=1, SAL_blocks=1, upscale=2,
                                               patch_size=4), "pth"),
        "CRAFT": (lambda: _arch("CRAFT", "CRAFT")(embed_dim=12, depths=[1], num_heads=[2], split_size_0=2,
                                                  split_size_1=4, window_size=4, upscale=2), "st"),
        "SCUNet": (lambda: _arch("SCUNet", "SCUNet")(dim=64, config=[1, 1, 1, 1, 1, 1, 1]), "pth"),
        "DRUNet": (lambda: _arch("DRUNet", "DRUNet")(in_nc=4, out_nc=3, nc=[8, 16, 32, 64], nb=2), "pth16"),
        # Input and output preparation by spandrel's call: DnCNN, FDnCNN (a noise-level channel), and
        # FBCNN (its call takes the image of the (image, quality) it returns; its quality head wants
        # 512 channels at the bottom).
        "DnCNN": (lambda: _arch("DnCNN", "DnCNN")(in_nc=3, out_nc=3, nc=8, nb=8, act_mode="R"), "pth"),
        "FDnCNN": (lambda: _arch("DnCNN", "DnCNN")(in_nc=4, out_nc=3, nc=8, nb=8, act_mode="R", mode="FDnCNN"), "ema"),
        "FBCNN": (lambda: _arch("FBCNN", "FBCNN")(in_nc=3, out_nc=3, nc=[8, 16, 32, 512], nb=2), "st16"),
        # More shifted-window transformers, beyond the list: their masks are prepared alike.
        "Swin2SR": (lambda: _arch("Swin2SR", "Swin2SR")(embed_dim=12, depths=[2], num_heads=[2], window_size=4,
                                                        upscale=2, img_size=16, upsampler="pixelshuffledirect"), "st"),
        "DRCT": (lambda: _arch("DRCT", "DRCT")(embed_dim=12, depths=[2], num_heads=[2], window_size=4, upscale=2,
                                               img_size=16, upsampler="pixelshuffle", gc=8), "ema"),
        "ATD": (lambda: _arch("ATD", "ATD")(embed_dim=12, depths=[2], num_heads=[2], window_size=4, category_size=16,
                                            num_tokens=8, upscale=2, img_size=16, upsampler="pixelshuffledirect"), "pth"),
        "RGT": (lambda: _arch("RGT", "RGT")(embed_dim=12, depth=[3], num_heads=[2], split_size=[2, 4], upscale=2,
                                            img_size=16), "st16"),
        # refusals
        "gray": (lambda: _arch("Compact", "Compact")(num_in_ch=1, num_out_ch=1, num_feat=8, num_conv=2), "pth"),
        "rgba": (lambda: _arch("Compact", "Compact")(num_in_ch=4, num_out_ch=4, num_feat=8, num_conv=2), "pth"),
    }


def randomise(net: nn.Module, seed: int) -> None:
    """Weights of a trained net's magnitude: the default init of some blocks is all zeros."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            if p.is_floating_point() and p.numel() > 0:
                fan_in = max(1, p[0].numel()) if p.dim() > 1 else 16
                p.copy_(torch.randn(p.shape, generator=generator) / fan_in**0.5)


def calibrate(net: nn.Module, seed: int = 0) -> None:
    """Rescales the last convolution so that the output on a random frame has a mean of 0.5 and the
    last convolution's part a spread of 0.2: random weights otherwise give outputs that the 8-bit
    rounding clips to 0 or 255 almost everywhere, against which any engine would match. For
    networks that end in a convolution, maybe pixel-shuffled, maybe plus a skip."""
    last = [m for m in net.modules() if isinstance(m, nn.Conv2d)][-1]
    x = torch.rand(1, 3, 24, 32, generator=torch.Generator().manual_seed(seed))
    seen = {}
    hook = last.register_forward_hook(lambda module, inputs, output: seen.update(out=output.detach().clone()))
    net.eval()
    with torch.no_grad():
        net(x)
        k = 0.2 / max(float(seen["out"].std()), 1e-12)
        last.weight.mul_(k)
        if last.bias is not None:
            last.bias.mul_(k)
            last.bias.add_(0.5 - float(net(x).mean()))
    hook.remove()


def save(net: nn.Module, style: str, base: Path) -> Path:
    state = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    if style.endswith("16"):
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    if style.startswith("st"):
        from safetensors.torch import save_file  # noqa: PLC0415

        path = base.with_suffix(".safetensors")
        save_file(state, str(path))
        return path
    path = base.with_suffix(".pth")
    torch.save({"params_ema": state} if style == "ema" else state, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--only", nargs="+")
    args = parser.parse_args(argv)
    models = small_models()
    args.out.mkdir(parents=True, exist_ok=True)
    for seed, (name, (factory, style)) in enumerate(models.items()):
        if args.only and name not in args.only:
            continue
        net = factory().eval()
        randomise(net, seed)
        print(name, save(net, style, args.out / name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
