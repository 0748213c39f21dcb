#!/usr/bin/env python3
"""-m FILE on a GPU: for each architecture in a usual real configuration (random weights), saved
as a download ships it, the figures of docs/models.md:

  - compile: wall time of tools/compile_model.py for this GPU, dtype and size, and what it built
    (an AOTInductor package, or a trace where AOTInductor failed);
  - pynference: ms per frame and fps of `pynference bench -m FILE` (split-streams) at that size;
  - Python: spandrel's descriptor in eager and under torch.compile (same dtype, same size), median
    ms of timed calls after warm-up, on one CUDA stream;
  - PSNR of pynference's output (`pynference run`, Y4M 4:4:4 in and out) against fp32 eager on the
    same input, both through the same colour conversion; beside it, spandrel's own eager call in the
    same dtype against fp32 (what the dtype costs: random weights can make a network unstable in
    fp16/bf16 in eager too).

    python3 scripts/gpu_models_bench.py --bin PYNFERENCE [--out DIR] [--budget S] [--only NAME ...]
                                        [--tiny] [--device cuda|cpu]

Input 1920x1080 (960x540 for the heavy transformers and RRDB). A hard cap (--budget, seconds)
holds the whole run: an architecture that would not fit in what is left is skipped, and said so.
--tiny runs every step on small instances at 64x48 (the CPU test of this script). Prints a table
and writes DIR/models.json and DIR/models.md (the rows of docs/models.md's table).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "models"))

FULL = (1920, 1080)
HEAVY = (960, 540)


def real_models():
    """name -> (factory, size). Configurations as the usual downloads have them."""
    from make_models import _arch  # noqa: PLC0415

    return {
        "Compact": (lambda: _arch("Compact", "Compact")(num_feat=64, num_conv=32, upscale=4), FULL),
        "SPAN": (lambda: _arch("SPAN", "SPAN")(num_in_ch=3, num_out_ch=3, feature_channels=48, upscale=4), FULL),
        "SAFMN": (lambda: _arch("SAFMN", "SAFMN")(dim=36, n_blocks=8, ffn_scale=2.0, upscaling_factor=4), FULL),
        "RealCUGAN": (lambda: _arch("RealCUGAN", "UpCunet2x")(in_channels=3, out_channels=3), FULL),
        "PLKSR": (lambda: _arch("PLKSR", "PLKSR")(dim=64, n_blocks=28, upscaling_factor=4), FULL),
        "RealPLKSR": (lambda: _arch("PLKSR", "RealPLKSR")(dim=64, n_blocks=28, upscaling_factor=4), FULL),
        "OmniSR": (lambda: _arch("OmniSR", "OmniSR")(num_feat=64, block_num=1, window_size=8, up_scale=4), FULL),
        "DITN": (lambda: _arch("DITN", "DITN")(upscale=4), FULL),
        "DRUNet": (lambda: _arch("DRUNet", "DRUNet")(in_nc=4, out_nc=3), FULL),
        "ESRGAN": (lambda: _arch("ESRGAN", "ESRGAN")(in_nc=3, out_nc=3, num_filters=64, num_blocks=23, scale=4), HEAVY),
        "SwinIR": (lambda: _arch("SwinIR", "SwinIR")(embed_dim=60, depths=[6, 6, 6, 6], num_heads=[6, 6, 6, 6],
                                                     window_size=8, upscale=2, img_size=64,
                                                     upsampler="pixelshuffledirect"), HEAVY),
        "HAT": (lambda: _arch("HAT", "HAT")(embed_dim=144, depths=[6] * 6, num_heads=[6] * 6, window_size=16,
                                            compress_ratio=24, squeeze_factor=24, upscale=4), HEAVY),
        "DAT": (lambda: _arch("DAT", "DAT")(upscale=4), HEAVY),
        "CRAFT": (lambda: _arch("CRAFT", "CRAFT")(upscale=4), HEAVY),
        "SCUNet": (lambda: _arch("SCUNet", "SCUNet")(), HEAVY),
        # Beyond the list: more shifted-window transformers, prepared as SwinIR is.
        "Swin2SR": (lambda: _arch("Swin2SR", "Swin2SR")(embed_dim=60, depths=[6] * 4, num_heads=[6] * 4, window_size=8,
                                                        img_size=64, upscale=2, upsampler="pixelshuffledirect"), HEAVY),
        "DRCT": (lambda: _arch("DRCT", "DRCT")(embed_dim=180, depths=[6] * 6, num_heads=[6] * 6, window_size=16, gc=32,
                                               mlp_ratio=2.0, upscale=4, upsampler="pixelshuffle"), HEAVY),
        "ATD": (lambda: _arch("ATD", "ATD")(embed_dim=48, depths=[6] * 4, num_heads=[4] * 4, window_size=16,
                                            category_size=128, num_tokens=64, reducted_dim=8, convffn_kernel_size=7,
                                            mlp_ratio=1.0, upscale=4, upsampler="pixelshuffledirect"), HEAVY),
        "RGT": (lambda: _arch("RGT", "RGT")(embed_dim=180, depth=[6] * 6, num_heads=[6] * 6, mlp_ratio=2.0,
                                            split_size=[8, 32], c_ratio=0.5, upscale=4), HEAVY),
    }


def tiny_models():
    from make_models import small_models  # noqa: PLC0415

    return {name: (factory, (64, 48)) for name, (factory, _) in small_models().items() if name not in ("gray", "rgba")}


def say(text: str) -> None:
    print(f"gpu-models: {text}", flush=True)


# --- Y4M 4:4:4, 8 bit, limited range: what pynference reads and writes without FFmpeg ------------
def matrix(width: int, height: int) -> tuple[float, float]:
    """(Kr, Kb) as pynference picks them for an untagged Y4M: BT.709 for HD, else BT.601."""
    return (0.2126, 0.0722) if width >= 1280 or height > 576 else (0.299, 0.114)


def rgb_to_yuv(rgb, kr: float, kb: float):
    """rgb: float64 H x W x 3 in [0, 1] -> uint8 3 x H x W limited-range codes."""
    import numpy as np  # noqa: PLC0415

    rgb = np.clip(rgb, 0.0, 1.0)
    kg = 1 - kr - kb
    y = kr * rgb[..., 0] + kg * rgb[..., 1] + kb * rgb[..., 2]
    cb = (rgb[..., 2] - y) / (2 * (1 - kb))
    cr = (rgb[..., 0] - y) / (2 * (1 - kr))
    planes = [np.clip(np.rint(16 + 219 * y), 16, 235), np.clip(np.rint(128 + 224 * cb), 16, 240),
              np.clip(np.rint(128 + 224 * cr), 16, 240)]
    return np.stack(planes).astype(np.uint8)


def yuv_to_rgb(yuv, kr: float, kb: float):
    import numpy as np  # noqa: PLC0415

    y = (yuv[0].astype(np.float64) - 16) / 219
    cb = (yuv[1].astype(np.float64) - 128) / 224
    cr = (yuv[2].astype(np.float64) - 128) / 224
    r = y + 2 * (1 - kr) * cr
    b = y + 2 * (1 - kb) * cb
    g = (y - kr * r - kb * b) / (1 - kr - kb)
    return np.clip(np.stack([r, g, b], axis=-1), 0.0, 1.0)


def write_y4m(path: Path, frames, width: int, height: int) -> None:
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C444\n".encode())
        for frame in frames:
            f.write(b"FRAME\n")
            f.write(frame.tobytes())


def read_y4m(path: Path):
    import numpy as np  # noqa: PLC0415

    data = path.read_bytes()
    header, _, rest = data.partition(b"\n")
    fields = {t[:1]: t[1:] for t in header.split()[1:]}
    width, height = int(fields[b"W"]), int(fields[b"H"])
    frame_bytes = 3 * width * height
    frames = []
    while rest.startswith(b"FRAME"):
        rest = rest[rest.index(b"\n") + 1:]
        frames.append(np.frombuffer(rest[:frame_bytes], dtype=np.uint8).reshape(3, height, width))
        rest = rest[frame_bytes:]
    return frames


def psnr(a, b) -> float:
    import numpy as np  # noqa: PLC0415

    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


# --- Python baselines --------------------------------------------------------------------------
def time_calls(fn, x, device: str, budget_s: float, min_calls: int = 3, max_calls: int = 50) -> float:
    """Median ms of calls after two warm-ups, as many as fit in budget_s (at least min_calls)."""
    import torch  # noqa: PLC0415

    cuda = device.startswith("cuda")
    for _ in range(2):
        fn(x)
    if cuda:
        torch.cuda.synchronize()
    times = []
    start = time.monotonic()
    while len(times) < max_calls and (len(times) < min_calls or time.monotonic() - start < budget_s):
        if cuda:
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            fn(x)
            end.record()
            end.synchronize()
            times.append(begin.elapsed_time(end))
        else:
            t = time.perf_counter()
            fn(x)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return times[len(times) // 2]


def first_line(error: BaseException) -> str:
    for line in str(error).strip().splitlines():
        if line.strip():
            return line.strip()[:160]
    return type(error).__name__


def save_model(name: str, factory, folder: Path) -> Path:
    """The random-weight network saved as a download ships it (a state dict), once per folder."""
    import torch  # noqa: PLC0415
    from make_models import randomise  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{name}.pth"
    if not model.is_file():
        net = factory().eval()
        randomise(net, 0)
        torch.save(net.state_dict(), model)
    return model


def compile_one(name: str, size, args, work: Path, deadline: float) -> dict:
    """tools/compile_model.py for this GPU, dtype and size (the script pynference runs): its wall
    time and its answers. The entry lands in the cache, where the steps after it find it."""
    width, height = size
    model = save_model(name, args.models[name][0], args.pth)
    env = dict(os.environ, PYN_CACHE_DIR=str(args.cache))
    start = time.monotonic()
    compile_cmd = [sys.executable, "-W", "ignore", str(REPO / "tools" / "compile_model.py"), str(model),
                   "--size", f"{width}x{height}", "--device", args.device]
    try:
        r = subprocess.run(compile_cmd, capture_output=True, text=True, env=env,
                           timeout=max(10.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return {"compile_s": round(time.monotonic() - start, 1), "error": "compile did not end within the cap",
                "timed_out": True}
    result: dict = {"compile_s": round(time.monotonic() - start, 1)}
    answers = dict(line[4:].split("=", 1) for line in r.stdout.splitlines() if line.startswith("pyn."))
    if r.returncode != 0 or "entry" not in answers:
        result["error"] = (r.stderr.strip().splitlines() or ["compile failed"])[-1]
    else:
        result["entry"] = answers["entry"]
    return result


def bench_one(name: str, factory, size, args, work: Path, deadline: float, compiled: dict | None = None) -> dict:
    import numpy as np  # noqa: PLC0415
    import torch  # noqa: PLC0415
    import spandrel  # noqa: PLC0415

    width, height = size
    row: dict = {"arch": name, "size": f"{width}x{height}"}
    model = save_model(name, factory, args.pth)
    env = dict(os.environ, PYN_CACHE_DIR=str(args.cache))

    # 1. compile (through the same script pynference runs), unless the compile phase did it
    if compiled is None:
        compiled = compile_one(name, size, args, work, deadline)
    elif compiled.get("alongside", 1) > 1:
        row["compiled_alongside"] = compiled["alongside"]
    row["compile_s"] = compiled["compile_s"]
    if "error" in compiled:
        row["error"] = compiled["error"]
        return row
    answers = {"entry": compiled["entry"]}
    meta = json.loads((Path(answers["entry"]) / "meta.json").read_text())
    row.update(dtype=meta["dtype"], format=meta["format"], padded=meta["padded"], fallback=meta["fallback"])
    if meta.get("fallback_log"):  # why AOTInductor failed, in full, beside the results
        shutil.copyfile(Path(answers["entry"]) / meta["fallback_log"], args.out / f"{name}.fallback.log")

    # 2. fp32 eager, the reference of the PSNR below; one more call, timed, sizes the bench.
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[meta["dtype"]]
    descriptor = spandrel.ModelLoader().load_from_file(str(model)).eval()
    descriptor.to(args.device)
    rng = np.random.default_rng(1)
    rgb = rng.random((height, width, 3))
    kr, kb = matrix(width, height)
    frames = [rgb_to_yuv(rgb, kr, kb)]
    x32 = torch.from_numpy(yuv_to_rgb(frames[0], kr, kb)).permute(2, 0, 1)[None].to(args.device, torch.float32)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    with torch.inference_mode():
        reference = descriptor(x32)[0].permute(1, 2, 0).double().cpu().numpy()
        began = time.monotonic()
        descriptor(x32)
        sync()
        reference_ms = 1000 * (time.monotonic() - began)
    # The output keeps the input's colour tags (its matrix), whatever its size.
    want = rgb_to_yuv(reference, kr, kb)

    # 3. pynference bench (the cached entry: no compile), before Python's loops, so that its figures
    # stand where the cap cuts a slow torch.compile short; about 4 s of frames.
    frames_n = int(min(300, max(20, 4000 / max(reference_ms, 0.1))))
    bench_json = work / f"{name}.bench.json"
    began = time.monotonic()
    try:
        r = subprocess.run([args.bin, "bench", "-m", str(model), "--size", f"{width}x{height}", "--frames",
                            str(frames_n), "--repeat", "1", "--strategy", "split-streams", "--device", args.pyn_device,
                            "--cudnn-benchmark",  # as docs/models.md's figures were measured
                            "--json", str(bench_json)], capture_output=True, text=True, env=env,
                           timeout=max(10.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired as e:
        # What it was doing when the cap came (a compile says so on its progress line): the row keeps
        # the rest of its figures.
        said = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        last = (said.strip().splitlines() or ["nothing"])[-1]
        row["pyn_error"] = f"bench did not end within the cap ({time.monotonic() - began:.0f} s; its last line: {last})"
        return row  # the cap has passed: the steps below would time out too
    if r.returncode == 0 and bench_json.is_file():
        fps = json.loads(bench_json.read_text())["results"][0]["fps"]
        row["pyn_fps"] = round(fps, 1)
        row["pyn_ms"] = round(1000 / fps, 2) if fps > 0 else None
    else:
        row["pyn_error"] = (r.stderr.strip().splitlines() or ["bench failed"])[-1]

    # 4. PSNR of pynference's output against fp32 eager (both through the same YUV conversion)
    y4m_in, y4m_out = work / f"{name}.in.y4m", work / f"{name}.out.y4m"
    write_y4m(y4m_in, frames, width, height)
    r = subprocess.run([args.bin, "run", "-i", str(y4m_in), "-o", str(y4m_out), "-m", str(model), "--device",
                        args.pyn_device, "--quiet", "-y"], capture_output=True, text=True, env=env,
                       timeout=max(10.0, deadline - time.monotonic()))
    if r.returncode == 0:
        got = read_y4m(y4m_out)[0]
        row["psnr_db"] = round(psnr(got, want), 1) if got.shape == want.shape else None
    else:
        row["run_error"] = (r.stderr.strip().splitlines() or ["run failed"])[-1]

    # 5. Python eager and torch.compile of spandrel's descriptor, in the chosen dtype
    descriptor.to(dtype)
    x = x32.to(dtype)
    per_step = max(2.0, min(8.0, (deadline - time.monotonic()) / 6))
    with torch.inference_mode():
        try:
            row["eager_ms"] = round(time_calls(descriptor, x, args.device, per_step), 2)
            # What the dtype itself costs: spandrel's eager call in that dtype against fp32.
            eager_out = descriptor(x)[0].permute(1, 2, 0).double().cpu().numpy()
            row["eager_psnr_db"] = round(psnr(rgb_to_yuv(eager_out, kr, kb), want), 1)
        except Exception as e:  # noqa: BLE001
            row["eager_error"] = first_line(e)
        if "eager_error" in row and dtype != torch.float32:
            # spandrel's code fails in this dtype (SwinIR's fp32 mask in bf16): the best Python loop
            # is then fp32, eager and torch.compile both.
            descriptor.to(torch.float32)
            x = x32
            row["eager_ms"] = round(time_calls(descriptor, x, args.device, per_step), 2)
            row["eager_dtype"] = "fp32"
    if name in args.no_torch_compile:
        row["compile_skipped"] = "not tried (--no-torch-compile)"
    else:
        try:
            compiled = torch.compile(descriptor.model)
            call = descriptor._call_fn  # noqa: SLF001
            from spandrel.__helpers.size_req import pad_tensor  # noqa: PLC0415

            _, padded = pad_tensor(x, descriptor.size_requirements)
            start = time.monotonic()
            with torch.inference_mode():
                call(compiled, padded)
                row["torch_compile_s"] = round(time.monotonic() - start, 1)
                row["compile_ms"] = round(time_calls(lambda t: call(compiled, t), padded, args.device, per_step), 2)
        except Exception as e:  # noqa: BLE001 — torch.compile fails on some architectures: say how
            row["compile_error"] = first_line(e)
    del descriptor
    torch.cuda.empty_cache() if args.device.startswith("cuda") else None
    return row


def table(rows: list[dict]) -> str:
    head = ("| architecture | input | dtype | compiled as | compile s | pynference ms | fps | eager ms | "
            "torch.compile ms | PSNR dB vs fp32 eager | eager in that dtype, PSNR dB |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['arch']} | {r['size']} | | skipped: {r['skipped']} | | | | | | | |")
            continue
        how = r.get("format", "")
        how = {"pt2": "AOTInductor", "pt": "trace"}.get(how, how) + (" (AOTI failed)" if r.get("fallback") else "")
        eager = r.get("eager_ms", r.get("eager_error", "")[:60])
        if r.get("eager_dtype"):  # the dtype failed in spandrel's code: fp32 eager instead
            eager = f"{eager} ({r['eager_dtype']}; {r.get('dtype', '')}: {r.get('eager_error', '')[:50]})"
        compiled = r.get("compile_ms") if "compile_ms" in r else r.get(
            "compile_skipped", f"fails: {r.get('compile_error', '')[:60]}")
        lines.append(
            f"| {r['arch']} | {r['size']} | {r.get('dtype', '')} | {how or r.get('error', '')[:80]} | "
            f"{r.get('compile_s', '')}{f' ({a} at once)' if (a := r.get('compiled_alongside')) else ''} | "
            f"{r.get('pyn_ms', r.get('pyn_error', '')[:60])} | {r.get('pyn_fps', '')} | "
            f"{eager} | {compiled} | "
            f"{r.get('psnr_db', r.get('run_error', '')[:60])} | {r.get('eager_psnr_db', '')} |")
    return head + "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True, help="the pynference program")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-out")))
    parser.add_argument("--budget", type=float, default=330.0, help="seconds for the whole run (default 330)")
    parser.add_argument("--only", nargs="+")
    parser.add_argument("--tiny", action="store_true", help="small instances at 64x48 (tests this script)")
    parser.add_argument("--device", default="cuda", help="cuda or cpu (the CPU only with --tiny)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="compile this many architectures at once first (compile s is then each one's wall "
                             "time among the others)")
    parser.add_argument("--compile-only", action="store_true",
                        help="compile only, keeping each one's time in CACHE/compiled.json for a later run")
    parser.add_argument("--no-torch-compile", nargs="+", default=[], metavar="NAME",
                        help="architectures whose torch.compile row is not tried (one that failed in an earlier "
                             "call, where the best Python loop is eager: it saves its minutes of C++ compile)")
    parser.add_argument("--cache", type=Path, help="the compile cache (default: a temporary folder); a second call "
                                                   "with the same folder compiles nothing again")
    args = parser.parse_args()
    start = time.monotonic()
    deadline = start + args.budget
    args.pyn_device = "cpu" if args.device == "cpu" else "cuda"
    try:
        import spandrel  # noqa: F401, PLC0415
        import torch  # noqa: PLC0415
    except ImportError as e:
        say(f"cannot run: {e} (scripts/gpu-models-bench.sh installs spandrel from .whl/)")
        # The CPU test (--tiny) skips where spandrel is missing, as tests/models does, but not in CI,
        # which installs it.
        return 77 if args.tiny and os.environ.get("CI") != "true" else 1
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        say("cannot run: torch sees no CUDA GPU (use --device cpu --tiny for the CPU check)")
        return 1
    card = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    commit = os.environ.get("PYN_COMMIT") or subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"],
                                                            capture_output=True, text=True).stdout.strip() or "unknown"
    models = tiny_models() if args.tiny else real_models()
    names = [n for n in args.only if n in models] if args.only else list(models)
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    slowest = 0.0
    args.models = models
    with tempfile.TemporaryDirectory(prefix="pyn-models-") as tmp:
        work = Path(tmp)
        args.cache = (args.cache or work / "cache").resolve()
        args.pth = args.cache / "pth"  # beside the cache: a later call finds the same files
        record = args.cache / "compiled.json"
        compiled: dict[str, dict] = {}
        if record.is_file():
            # Compiled by an earlier call into this cache: its times stand, nothing is compiled again.
            kept = json.loads(record.read_text())
            # A compile the cap cut short is tried again (in the per-architecture loop below)...
            compiled = {n: c for n, c in kept.items()
                        if n in names and not c.get("timed_out") and ("error" in c or Path(c["entry"]).is_dir())}
            # ... only where the time left holds more than that cut-short compile took already.
            cut_short = {n: c["compile_s"] for n, c in kept.items() if n in names and c.get("timed_out")}
        else:
            cut_short = {}
        todo = [n for n in names if n not in compiled and (args.compile_only or n not in cut_short)]
        if (args.jobs > 1 and len(todo) > 1) or (args.compile_only and todo):
            # The compiles are CPU work (C++ and Triton), the timings GPU work: compile them all first,
            # several at once, then time each alone.
            say(f"compiling {len(todo)} architectures, {args.jobs} at once")
            from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

            for name in todo:
                save_model(name, models[name][0], args.pth)
            with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                futures = {name: pool.submit(compile_one, name, models[name][1], args, work, deadline)
                           for name in todo}
                for name, future in futures.items():
                    compiled[name] = dict(future.result(), alongside=args.jobs)
                    say(f"{name}: compiled {json.dumps(compiled[name])}")
            args.cache.mkdir(parents=True, exist_ok=True)
            kept = json.loads(record.read_text()) if record.is_file() else {}
            record.write_text(json.dumps(dict(kept, **compiled), indent=1) + "\n")
        if args.compile_only:
            return 0 if all("error" not in c for c in compiled.values()) else 1
        for name in names:
            factory, size = models[name]
            left = deadline - time.monotonic()
            # An architecture needs about as long as the slowest so far (the compile dominates, and it
            # hardly depends on the size), and never under 20 s.
            need = max(20.0, slowest) if name not in compiled else 20.0
            if name in cut_short:  # it compiles for longer than the cap gave it before
                need = max(need, cut_short[name] + 40.0)
            if left < need:
                rows.append({"arch": name, "size": f"{size[0]}x{size[1]}",
                             "skipped": f"would not fit in the cap ({left:.0f} s left, ~{need:.0f} s needed)"})
                say(f"{name}: skipped, would not fit ({left:.0f} s left)")
                continue
            began = time.monotonic()
            say(f"{name} at {size[0]}x{size[1]} ({left:.0f} s left)")
            try:
                row = bench_one(name, factory, size, args, work, deadline, compiled.get(name))
            except Exception as e:  # noqa: BLE001 — one architecture's failure is a row, not the end
                row = {"arch": name, "size": f"{size[0]}x{size[1]}", "error": first_line(e)}
            row["wall_s"] = round(time.monotonic() - began, 1)
            slowest = max(slowest, row["wall_s"])
            rows.append(row)
            say(json.dumps(row))
            # Each row as it comes: a call cut off later keeps the rows before it.
            write_results(args.out, card, commit, rows, time.monotonic() - start)
    write_results(args.out, card, commit, rows, time.monotonic() - start)
    print((args.out / "models.md").read_text())
    return 0 if all("error" not in r for r in rows) else 1


def write_results(out: Path, card: str, commit: str, rows: list[dict], seconds: float) -> None:
    import torch  # noqa: PLC0415

    text = f"card: {card}; commit {commit}; torch {torch.__version__}; total {seconds:.0f} s\n\n" + table(rows)
    (out / "models.md").write_text(text)
    (out / "models.json").write_text(json.dumps({"card": card, "commit": commit, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
