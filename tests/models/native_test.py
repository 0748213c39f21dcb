#!/usr/bin/env python3
"""`pynference run -m FILE --engine native` on state dicts of the architectures the native engine
runs: Real-ESRGAN Compact of several shapes (x1, x2, x4; 8 to 64 features; a bare state dict, an
fp16 one and BasicSR's params_ema file), SPAN and ESRGAN (RRDBNet), on an even and an odd frame
size: the output has the right size and matches spandrel's own call of the model (PyTorch eager,
fp32) after the same 8-bit rounding as pynference's post kernel. On the CPU (the native engine's
fp32 reference) that is PSNR >= 60 dB; with --device cuda (the tensor-core path, fp16 and bf16)
PSNR >= 40 dB at 8 bits.

Also: --engine native refuses, in one line with exit 2, a network it does not run (SAFMN), an
fp32 request on a GPU, and a synthetic model; --engine auto on the CPU runs the torch engine; the
plan is written into the cache once and found there the second time.

    python3 tests/models/native_test.py --binary build/release/src/cli/pynference --work DIR [--device cuda]

Ends with the line "N passed, N failed"; exit 77 (a skip) where spandrel is missing, except in CI.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from models_test import Checks, cache_entries, psnr, read_frames, reference, run, write_frames  # noqa: E402

SIZES = ((32, 24), (33, 25))
# name -> (spandrel module and class, arguments, how make_models.save writes it, scale)
SHAPES = {
    "x4-f16": ("Compact", "Compact", dict(num_feat=16, num_conv=3, upscale=4), "pth", 4),
    "x2-f24": ("Compact", "Compact", dict(num_feat=24, num_conv=2, upscale=2), "ema", 2),
    "x1-f8": ("Compact", "Compact", dict(num_feat=8, num_conv=2, upscale=1), "pth16", 1),
    "x4-real": ("Compact", "Compact", dict(num_feat=64, num_conv=16, upscale=4), "pth", 4),  # compact-x4's shape
    "span-x2": ("SPAN", "SPAN", dict(num_in_ch=3, num_out_ch=3, feature_channels=16, upscale=2), "pth", 2),
    "span-x4-nonorm": ("SPAN", "SPAN", dict(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=4, norm=False),
                       "pth", 4),
    "esrgan-x4": ("ESRGAN", "ESRGAN", dict(in_nc=3, out_nc=3, num_filters=16, num_blocks=2, scale=4), "pth", 4),
    "esrgan-x2": ("ESRGAN", "ESRGAN", dict(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=2), "ema", 2),
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    try:
        import numpy as np  # noqa: PLC0415
        import spandrel  # noqa: PLC0415
        import torch  # noqa: PLC0415
    except ImportError as e:
        print(f"skipped: {e}")
        return 1 if os.environ.get("CI") == "true" else 77
    from make_models import _arch, calibrate, randomise, save  # noqa: PLC0415

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    cache = args.work / "cache"
    env = dict(os.environ, PYN_CACHE_DIR=str(cache))
    checks = Checks()
    gpu = args.device != "cpu"
    dtypes = ["--fp16", "--bf16"] if gpu else [None]
    min_psnr = 40.0 if gpu else 60.0

    frames_dir = {size: args.work / f"in-{size[0]}x{size[1]}" for size in SIZES}
    inputs = {size: write_frames(frames_dir[size], *size, seed=i) for i, size in enumerate(SIZES)}
    files = {}
    for i, (name, (module, cls, kwargs, style, _)) in enumerate(SHAPES.items()):
        net = _arch(module, cls)(**kwargs)
        randomise(net, seed=100 + i)
        calibrate(net)
        files[name] = save(net, style, args.work / name)
    for name, path in files.items():
        descriptor = spandrel.ModelLoader().load_from_file(str(path))
        descriptor.model.eval()
        scale = SHAPES[name][4]
        for size in SIZES:
            expected = [reference(descriptor, frame) for frame in inputs[size]]
            clipped = sum(float(np.mean((e == 0) | (e == 255))) for e in expected) / len(expected)
            checks.check(clipped < 0.3, f"{name} {size[0]}x{size[1]}: the reference is {clipped:.0%} clipped")
            for dtype in dtypes:
                out = args.work / f"out-{name}-{size[0]}x{size[1]}-{dtype or 'fp32'}"
                out.mkdir()
                command = ["run", "-i", str(frames_dir[size] / "%03d.png"), "-o", str(out / "%03d.png"), "-m",
                           str(path), "--engine", "native", "--device", args.device, "--quiet"]
                r = run(args.binary, command + ([dtype] if dtype else []), env)
                what = f"{name} {size[0]}x{size[1]} {dtype or 'fp32'}"
                if not checks.check(r.returncode == 0, f"{what}: exit {r.returncode}: {r.stderr.strip()[-400:]}"):
                    continue
                got = read_frames(out)
                checks.check(len(got) == len(expected), f"{what}: {len(got)} frames, not {len(expected)}")
                for j, (g, e) in enumerate(zip(got, expected)):
                    if checks.check(g.shape == (size[1] * scale, size[0] * scale, 3), f"{what}: frame {j} is {g.shape}"):
                        p = psnr(g, e)
                        checks.check(p >= min_psnr, f"{what}: frame {j}: PSNR {p:.1f} dB < {min_psnr}")
    # One plan per file, size, device and dtype; a second run writes nothing new.
    before = cache_entries(cache)
    checks.check(any(e.startswith("native") for e in before), f"no native entry in the cache: {before}")
    size = SIZES[0]
    for folder in ("again", "auto", "refused"):
        (args.work / folder).mkdir()
    r = run(args.binary, ["run", "-i", str(frames_dir[size] / "%03d.png"), "-o", str(args.work / "again" / "%03d.png"),
                          "-m", str(files["x4-f16"]), "--engine", "native", "--device", args.device], env)
    checks.check(r.returncode == 0 and "wrote the native engine's plan" not in r.stderr,
                 f"second run: exit {r.returncode}, stderr {r.stderr.strip()[-300:]}")
    checks.check(cache_entries(cache) == before, f"second run changed the cache: {cache_entries(cache)}")

    # Refusals: one line, exit 2.
    from make_models import small_models  # noqa: PLC0415

    safmn = small_models()["SAFMN"][0]()
    randomise(safmn, seed=7)
    safmn_file = save(safmn, "pth", args.work / "safmn")
    refused = [
        (["-m", str(safmn_file), "--engine", "native"], "runs Real-ESRGAN Compact, SPAN and ESRGAN"),
        (["-m", "synthetic:x2", "--engine", "native"], "state dict"),
        (["--engine", "native"], "-m"),
        (["-m", str(files["x4-f16"]), "--engine", "fast"], "torch, native or auto"),
    ]
    if gpu:
        refused.append((["-m", str(files["x4-f16"]), "--engine", "native", "--fp32"], "fp32"))
    for extra, words in refused:
        r = run(args.binary, ["run", "-i", str(frames_dir[size] / "%03d.png"), "-o", str(args.work / "refused" / "%03d.png"),
                              "--device", args.device, "--quiet", *extra], env)
        lines = r.stderr.strip().splitlines()
        checks.check(r.returncode == 2 and len(lines) == 1 and words in r.stderr,
                     f"{' '.join(extra)}: exit {r.returncode}, stderr {lines}")
    checks.check(not any((args.work / "refused").iterdir()), "a refusal wrote frames")
    # auto runs the native engine on a GPU that has its kernels, the torch engine on the CPU.
    r = run(args.binary, ["run", "-i", str(frames_dir[size] / "%03d.png"), "-o", str(args.work / "auto" / "%03d.png"),
                          "-m", str(files["x4-f16"]), "--engine", "auto", "--device", args.device], env)
    engine_word = "native" if gpu else "RealESRGAN Compact"
    checks.check(r.returncode == 0 and (("native " in r.stderr) == gpu) and engine_word in r.stderr,
                 f"--engine auto on {args.device}: exit {r.returncode}, stderr {r.stderr.strip()[-400:]}")

    print(f"{checks.passed} passed, {len(checks.failed)} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
