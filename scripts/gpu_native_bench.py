#!/usr/bin/env python3
"""The native engine's figures for docs/engine.md, in one run on a GPU machine:

  - the tensor cores' peak in this run: a large fp16 GEMM (8192^3), median of timed calls;
  - for each network (Real-ESRGAN Compact in real configurations, random weights, saved as a
    download ships it): `pynference bench -m FILE --engine native` and `--engine torch` (today's
    AOTInductor package) side by side, split-streams: the engine alone (compute_ms), fps, the
    bound and the efficiency the bench reports; torch.compile and eager of spandrel's network in
    Python at the same size and dtype (channels_last, the faster layout), median ms of calls;
    the native engine's TFLOP/s and its share of the GEMM's;
  - PSNR of `pynference run --engine native` (Y4M 4:4:4 in and out) against fp32 eager on the same
    input, through the same colour conversion as scripts/gpu_models_bench.py.

    python3 scripts/gpu_native_bench.py --bin PYNFERENCE [--out DIR] [--only NAME ...] [--tiny]
                                        [--device cuda|cpu] [--budget S] [--no-pt2]
                                        [--layouts channels_last nchw] [--deadline S]
                                        [--variants NAME ...]

--tiny runs every step on small instances at 64x48 on the CPU (this script's CI test). Prints a
table and writes DIR/native.json and DIR/native.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests" / "models"))

from gpu_models_bench import first_line, matrix, psnr, read_y4m, rgb_to_yuv, time_calls, write_y4m, yuv_to_rgb  # noqa: E402,E501


def networks(tiny: bool):
    """name -> (spandrel module and class, arguments, frame size, whether today's .pt2 runs it too)."""
    if tiny:
        return {"compact-x4": ("Compact", "Compact", dict(num_feat=16, num_conv=2, upscale=4), (64, 48), True),
                "span-x2": ("SPAN", "SPAN", dict(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=2), (64, 48),
                            False),
                "esrgan-x2": ("ESRGAN", "ESRGAN", dict(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=2),
                              (64, 48), False)}
    compact = ("Compact", "Compact")
    return {
        # realesr-general-x4v3's shape: 64 features, 32 convolutions; the issue's compact-x4 has 16.
        "compact-x4": (*compact, dict(num_feat=64, num_conv=16, upscale=4), (960, 540), True),
        "compact-x2": (*compact, dict(num_feat=64, num_conv=16, upscale=2), (1920, 1080), True),
        # SPAN as its authors ship it (48 features), and ESRGAN-x4 (RRDBNet, 23 blocks of 64 features).
        "span-x4": ("SPAN", "SPAN", dict(num_in_ch=3, num_out_ch=3, feature_channels=48, upscale=4), (960, 540), False),
        "span-x2": ("SPAN", "SPAN", dict(num_in_ch=3, num_out_ch=3, feature_channels=48, upscale=2), (1920, 1080),
                    False),
        "esrgan-x4": ("ESRGAN", "ESRGAN", dict(in_nc=3, out_nc=3, num_filters=64, num_blocks=23, scale=4), (480, 270),
                      False),
        "general-x4v3": (*compact, dict(num_feat=64, num_conv=32, upscale=4), (960, 540), True),
        "ultracompact-x2": (*compact, dict(num_feat=64, num_conv=8, upscale=2), (1920, 1080), True),
        "superultracompact-x1": (*compact, dict(num_feat=24, num_conv=8, upscale=1), (3840, 2160), True),
    }


def save_model(name: str, factory, folder: Path) -> Path:
    """The random-weight network, its output brought into range (make_models.calibrate: else the
    8-bit PSNR compares clipped frames), saved as a download ships it (a state dict)."""
    import torch  # noqa: PLC0415
    from make_models import calibrate, randomise  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{name}.pth"
    if not model.is_file():
        net = factory().eval()
        randomise(net, 0)
        calibrate(net)
        torch.save(net.state_dict(), model)
    return model


def deployable(net):
    """SPAN's Conv3XC folds its three convolutions into one in every eval forward, writing the
    weights' .data, which torch.compile cannot trace: folded once here, as a deployment would, each
    runs its eval convolution alone. Other networks are returned as they are."""
    import torch.nn.functional as F  # noqa: PLC0415, N812

    for m in net.modules():
        if type(m).__name__ == "Conv3XC":
            m.update_params()
            m.forward = (lambda x, m=m: F.leaky_relu(m.eval_conv(x), 0.05) if m.has_relu else m.eval_conv(x))
    return net


def conv_gflop(net, size) -> float:
    """GFLOP per frame of the convolutions the network's eval forward calls (counted on a small probe)."""
    import torch  # noqa: PLC0415

    probe = (32, 24)
    flop = [0]

    def count(module, inputs, output):
        k = module.kernel_size[0] * module.kernel_size[1]
        flop[0] += 2 * k * (module.in_channels // module.groups) * output.numel()

    hooks = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.inference_mode():
        net(torch.rand(1, 3, probe[1], probe[0]))
    for h in hooks:
        h.remove()
    return flop[0] * (size[0] * size[1]) / (probe[0] * probe[1]) / 1e9


def say(text: str) -> None:
    print(f"gpu-native: {text}", flush=True)


def gemm_tflops(device: str, tiny: bool) -> float:
    import torch  # noqa: PLC0415

    n = 512 if tiny else 8192
    dtype = torch.float32 if device == "cpu" else torch.float16
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    ms = time_calls(lambda t: t @ b, a, device, 2.0, min_calls=10, max_calls=40)
    return 2 * n**3 / (ms * 1e-3) / 1e12


def pyn_bench(args, model: Path, size, engine: str, env, tag: str = "") -> dict:
    out = args.out / f"{model.stem}.{engine}{tag}.bench.json"
    frames = 30 if args.tiny else 300
    command = [args.bin, "bench", "-m", str(model), "--engine", engine, "--size", f"{size[0]}x{size[1]}",
               "--frames", str(frames), "--repeat", "1", "--strategy", "split-streams", "--device", args.device,
               "--json", str(out)]
    if engine == "torch":
        command.append("--cudnn-benchmark")  # as docs/models.md's figures were measured
    began = time.monotonic()
    r = subprocess.run(command, capture_output=True, text=True, env=env, timeout=args.budget)
    if r.returncode != 0 or not out.is_file():
        return {"error": (r.stderr.strip().splitlines() or ["bench failed"])[-1]}
    result = json.loads(out.read_text())["results"][0]
    keep = {k: result[k] for k in ("fps", "bound_fps", "efficiency", "compute_ms", "engine") if k in result}
    keep["wall_s"] = round(time.monotonic() - began, 1)
    return keep


def measure(name: str, network, args, env) -> dict:
    import numpy as np  # noqa: PLC0415
    import torch  # noqa: PLC0415
    from make_models import _arch  # noqa: PLC0415
    import spandrel  # noqa: PLC0415

    module, cls, kwargs, size, with_pt2 = network
    width, height = size
    model = save_model(name, lambda: _arch(module, cls)(**kwargs), args.out / "models")
    descriptor = spandrel.ModelLoader().load_from_file(str(model)).eval()
    row: dict = {"network": name, "size": f"{width}x{height}", "arch": module, "arguments": kwargs}
    flop = conv_gflop(descriptor.model, size) * 1e9
    row["gflop"] = round(flop / 1e9, 1)

    row["native"] = pyn_bench(args, model, size, "native", env)
    # A tuning build's other convolution kernels (PYN_NATIVE_CONV), engine alone and fps each.
    # "unfused": the default kernel without the silu and gate epilogues (PYN_NATIVE_FUSE=0).
    for variant in (args.variants or []) if name == args.first else []:
        extra = {"PYN_NATIVE_FUSE": "0"} if variant == "unfused" else {"PYN_NATIVE_CONV": variant}
        got = pyn_bench(args, model, size, "native", dict(env, **extra), f".{variant}")
        row.setdefault("variants", {})[variant] = {k: got[k] for k in ("compute_ms", "fps", "error") if k in got}
    # Today's engine (an AOTInductor package) where the issue compares with it: its compile is long.
    row["torch"] = pyn_bench(args, model, size, "torch", env) if with_pt2 and not args.no_pt2 else {}
    native_ms = row["native"].get("compute_ms")
    if native_ms:
        row["native_tflops"] = round(flop / (native_ms * 1e-3) / 1e12, 1)

    # PSNR of the native engine's output against fp32 eager.
    descriptor = descriptor.to(args.device)
    rgb = np.random.default_rng(1).random((height, width, 3))
    kr, kb = matrix(width, height)
    frames = [rgb_to_yuv(rgb, kr, kb)]
    x32 = torch.from_numpy(yuv_to_rgb(frames[0], kr, kb)).permute(2, 0, 1)[None].to(args.device, torch.float32)
    with torch.inference_mode():
        want = rgb_to_yuv(descriptor(x32)[0].permute(1, 2, 0).double().cpu().numpy(), kr, kb)
    y4m_in, y4m_out = args.out / f"{name}.in.y4m", args.out / f"{name}.out.y4m"
    write_y4m(y4m_in, frames, width, height)
    r = subprocess.run([args.bin, "run", "-i", str(y4m_in), "-o", str(y4m_out), "-m", str(model), "--engine", "native",
                        "--device", args.device, "--quiet", "-y"], capture_output=True, text=True, env=env,
                       timeout=args.budget)
    if r.returncode == 0:
        got = read_y4m(y4m_out)[0]
        row["native_psnr_db"] = round(psnr(got, want), 1) if got.shape == want.shape else None
    else:
        row["run_error"] = (r.stderr.strip().splitlines() or ["run failed"])[-1]
    y4m_in.unlink(missing_ok=True)
    y4m_out.unlink(missing_ok=True)

    # Python: eager and torch.compile, fp16 on a GPU (fp32 on the CPU), channels_last and NCHW.
    dtype = torch.float32 if args.device == "cpu" else torch.float16
    if name in (args.skip_python or []):
        return row
    net = deployable(descriptor.model).to(dtype)
    budget = 1.0 if args.tiny else 4.0
    with torch.inference_mode():
        for layout in args.layouts:
            memory = torch.channels_last if layout == "channels_last" else torch.contiguous_format
            net = net.to(memory_format=memory)
            x = x32.to(dtype).contiguous(memory_format=memory)
            try:
                row[f"eager_ms_{layout}"] = round(time_calls(net, x, args.device, budget), 3)
                compiled = torch.compile(net)
                began = time.monotonic()
                compiled(x)
                row[f"torch_compile_s_{layout}"] = round(time.monotonic() - began, 1)
                row[f"compile_ms_{layout}"] = round(time_calls(compiled, x, args.device, budget), 3)
            except Exception as e:  # noqa: BLE001 — say how it failed and go on
                row[f"compile_error_{layout}"] = first_line(e)
            torch._dynamo.reset()  # noqa: SLF001 — the next layout compiles afresh
    best = [row[k] for k in ("compile_ms_channels_last", "compile_ms_nchw") if k in row]
    if best and native_ms:
        row["compile_ms"] = min(best)
        row["native_vs_compile"] = round(min(best) / native_ms, 2)
    if row["torch"].get("fps") and row["native"].get("fps"):
        row["native_vs_pt2_fps"] = round(row["native"]["fps"] / row["torch"]["fps"], 2)
    del descriptor, net
    if args.device.startswith("cuda"):
        torch.cuda.empty_cache()
    return row


def table(rows: list[dict], peak: float) -> str:
    lines = ["| network | size | GFLOP | native ms | native TFLOP/s | of GEMM | torch.compile ms | native vs compile "
             "| native fps | .pt2 fps | native vs .pt2 | native efficiency | PSNR dB |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        n, t = r["native"], r["torch"]

        def f(value, digits=2):
            return "" if value is None else f"{value:.{digits}f}"

        def times(value):
            return "" if value is None else f"{value:.2f}x"

        share = r.get("native_tflops", 0) / peak if peak and r.get("native_tflops") else None
        lines.append(f"| {r['network']} | {r['size']} | {r['gflop']} | {f(n.get('compute_ms'), 3)} | "
                     f"{f(r.get('native_tflops'), 1)} | {f(share)} | {f(r.get('compile_ms'), 3)} | "
                     f"{times(r.get('native_vs_compile'))} | {f(n.get('fps'), 1)} | {f(t.get('fps'), 1)} | "
                     f"{times(r.get('native_vs_pt2_fps'))} | {f(n.get('efficiency'))} | {r.get('native_psnr_db', '')} |")
        for side in ("native", "torch"):
            if "error" in r[side]:
                lines.append(f"|  | {side}: {r[side]['error']} |")
        if "run_error" in r:
            lines.append(f"|  | run: {r['run_error']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True, help="the pynference binary")
    parser.add_argument("--out", type=Path, default=Path("gpu-out/native"))
    parser.add_argument("--only", nargs="*", help="network names (default: all)")
    parser.add_argument("--tiny", action="store_true", help="small instances at 64x48 (the CPU test)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--budget", type=float, default=300.0, help="cap of one pynference call, seconds")
    parser.add_argument("--no-pt2", action="store_true", help="leave out today's engine (a build without LibTorch)")
    parser.add_argument("--layouts", nargs="+", choices=("channels_last", "nchw"),
                        help="torch.compile's layouts (default: both; --tiny: channels_last)")
    parser.add_argument("--skip-python", nargs="*", help="networks whose eager and torch.compile are not timed")
    parser.add_argument("--variants", nargs="*", help="on the first network, also time these convolution kernels of a tuning build "
                        "(PYN_NATIVE_CONV names, e.g. 128x64s3), or 'unfused' (silu and gate as passes of their own)")
    parser.add_argument("--deadline", type=float, default=0.0,
                        help="start no network after this many seconds (0: no limit); the rest are listed as left out")
    args = parser.parse_args()
    args.layouts = args.layouts or (["channels_last"] if args.tiny else ["channels_last", "nchw"])
    started = time.monotonic()
    args.first = next((n for n in networks(args.tiny) if not args.only or n in args.only), None)
    try:
        import torch  # noqa: PLC0415
        import spandrel  # noqa: F401, PLC0415
    except ImportError as e:
        print(f"skipped: {e}")
        return 1 if os.environ.get("CI") == "true" else 77
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu-native: torch sees no CUDA GPU", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYN_CACHE_DIR=str(args.out / "cache"))
    card = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    commit = (REPO / "COMMIT").read_text().strip() if (REPO / "COMMIT").is_file() else "unknown"
    peak = gemm_tflops(args.device, args.tiny)
    say(f"{card}, commit {commit}: GEMM {peak:.1f} TFLOP/s")
    rows = []
    for name, network in networks(args.tiny).items():
        if args.only and name not in args.only:
            continue
        if args.deadline and time.monotonic() - started > args.deadline:
            say(f"{name}: left out, past the deadline of {args.deadline:.0f} s")
            continue
        began = time.monotonic()
        row = measure(name, network, args, env)
        row["seconds"] = round(time.monotonic() - began, 1)
        say(json.dumps(row))
        rows.append(row)
    text = table(rows, peak)
    print(text)
    (args.out / "native.json").write_text(json.dumps({"card": card, "commit": commit, "gemm_tflops": round(peak, 1),
                                                      "rows": rows}, indent=1) + "\n")
    (args.out / "native.md").write_text(f"{card}, commit {commit}, fp16 GEMM {peak:.1f} TFLOP/s\n\n{text}\n")
    failed = [r["network"] for r in rows if "error" in r["native"] or "run_error" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
