#!/usr/bin/env python3
"""The network alone, timed as a PyTorch user would run it: median GPU time of one inference.

    python3 bench/python/network_time.py --model compact-x4 --size 960x540 --fp16 [--variants eager,channels-last,compile]

Variants: `eager` (NCHW), `channels-last` (weights and input NHWC), `compile` (torch.compile of the
channels-last module, default mode: kernels specialised to the input's shape), `compile-dynamic`
(the same with dynamic=True: kernels for any height and width, as a .pt2 exported without --size), and, with --model PATH.pt2, `aoti` (the package through
torch._inductor.aoti_load_package). One JSON line per variant: median and p10/p90 of CUDA-event
times over --iters inferences after --warmup, on one stream, the input already on the device. This is
the figure the torch engine's compute per frame is compared with (docs/torch.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def time_variant(name: str, args: argparse.Namespace, iters: int, warmup: int) -> dict:
    variant = argparse.Namespace(**vars(args))
    variant.channels_last = name in ("channels-last", "compile", "compile-dynamic")
    variant.compile = name in ("compile", "compile-dynamic")
    variant.dynamic = True if name == "compile-dynamic" else None
    if name == "aoti":
        variant.model = args.pt2
    net = common.load_model(variant)
    x = torch.rand(1, 3, args.height, args.width, device=args.torch_device).to(args.torch_dtype)
    if variant.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    times = []
    with torch.inference_mode():
        for i in range(warmup + iters):
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            net(x)
            end.record()
            end.synchronize()
            if i >= warmup:
                times.append(begin.elapsed_time(end))
    times.sort()
    return {
        "bench": "python-network",
        "variant": name,
        "model": args.model if name != "aoti" else args.pt2,
        "size": f"{args.width}x{args.height}",
        "dtype": args.dtype,
        "iters": iters,
        "median_ms": round(statistics.median(times), 4),
        "p10_ms": round(times[len(times) // 10], 4),
        "p90_ms": round(times[(len(times) * 9) // 10], 4),
        "device": torch.cuda.get_device_name(args.torch_device),
        "torch": torch.__version__,
    }


def main() -> int:
    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--variants", default="eager,channels-last,compile",
                            help="comma-separated: eager, channels-last, compile, compile-dynamic, aoti "
                                 "(default eager,channels-last,compile)")
        parser.add_argument("--pt2", default=None, help="an AOTInductor package for the aoti variant")
        parser.add_argument("--iters", type=int, default=100, help="timed inferences (default 100)")

    args = common.parse_args("network", add)
    if not common.cuda(args):
        raise SystemExit("network_time.py times GPU work: it needs a CUDA device")
    variants = [v for v in args.variants.split(",") if v]
    if "aoti" in variants and not args.pt2:
        raise SystemExit("the aoti variant needs --pt2 PATH")
    for name in variants:
        print(json.dumps(time_variant(name, args, args.iters, max(args.warmup, 10))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
