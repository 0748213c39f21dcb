#!/usr/bin/env python3
"""`pynference run -m FILE --device cpu` on files shaped like the downloads users have, one per
architecture (tests/models/make_models.py), on RGB frames of an even and an odd size: the output
has the right size and equals spandrel's own call of the model (`descriptor(x)`, PyTorch eager,
fp32) after the same 8-bit rounding as pynference's post kernel, bit for bit or at PSNR >= 60 dB.
Also: refusals are one line with exit 2 and leave nothing in the cache, a second run finds the
compiled model in the cache, and `pynference cache clear` empties it.

    python3 tests/models/models_test.py --binary build/release/src/cli/pynference --work DIR

Most architectures are compiled in this process (tools/compile_model.py's own function, into the
cache the runs use) to spare a Python start each; Compact is compiled by pynference
itself. Ends with the line "N passed, N failed"; exit 77 (a skip) where spandrel is missing,
except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SIZES = ((32, 24), (33, 25))  # width x height: even, odd
FRAMES = 2
THROUGH_CLI = ("Compact",)  # compiled by pynference itself
MIN_PSNR = 60.0


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def check(self, ok: bool, what: str) -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed.append(what)
            print(f"FAIL: {what}", flush=True)
        return ok


def run(binary: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *args], capture_output=True, text=True, env=env, timeout=300)


def write_frames(folder: Path, width: int, height: int, seed: int):
    import numpy as np  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    frames = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(FRAMES)]
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{i + 1:03d}.png")
    return frames


def read_frames(folder: Path):
    import numpy as np  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))]


def reference(descriptor, frame):
    """spandrel's call in fp32 eager, on the tensor pynference's pre kernel makes (x * fp32(1/255)),
    rounded as its post kernel rounds (clamp, * 255, half to even)."""
    import torch  # noqa: PLC0415

    x = torch.from_numpy(frame.copy()).permute(2, 0, 1)[None].to(torch.float32)
    x = x * torch.tensor(1.0 / 255.0, dtype=torch.float32)
    y = descriptor(x)[0].clamp(0, 1) * torch.tensor(255.0, dtype=torch.float32)
    return torch.round(y).to(torch.uint8).permute(1, 2, 0).numpy()


def psnr(a, b) -> float:
    import numpy as np  # noqa: PLC0415

    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def cache_entries(cache: Path) -> list[str]:
    if not cache.is_dir():
        return []
    return sorted(p.name for p in cache.iterdir() if p.name != "index")


START = time.monotonic()


def stamp(what: str) -> None:
    print(f"[{time.monotonic() - START:6.1f} s] {what}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    try:
        import numpy  # noqa: F401, PLC0415
        import PIL  # noqa: F401, PLC0415
        import spandrel  # noqa: PLC0415
        import torch  # noqa: PLC0415
    except ImportError as e:
        if os.environ.get("CI") == "true":
            print(f"FAIL: {e}: scripts/install-deps.sh installs it\n0 passed, 1 failed")
            return 1
        print(f"skipped: {e} (scripts/install-deps.sh installs it)")
        return 77

    import compile_model  # noqa: PLC0415
    import make_models  # noqa: PLC0415

    torch.set_num_threads(2)
    shutil.rmtree(args.work, ignore_errors=True)
    models_dir = args.work / "models"
    cache = args.work / "cache"
    env = dict(os.environ, PYN_CACHE_DIR=str(cache))
    checks = Checks()

    files: dict[str, Path] = {}
    with open(os.devnull, "w") as quiet:
        old = sys.stdout
        sys.stdout = quiet
        try:
            make_models.main([str(models_dir)])
        finally:
            sys.stdout = old
    for path in sorted(models_dir.iterdir()):
        files[path.stem] = path
    archs = [name for name in make_models.small_models() if name not in ("gray", "rgba")]

    stamp("models made")
    # Refusals first, into an empty cache: one line, exit 2, nothing left behind.
    frames_dir = {size: args.work / f"in-{size[0]}x{size[1]}" for size in SIZES}
    inputs = {size: write_frames(frames_dir[size], *size, seed=i) for i, size in enumerate(SIZES)}
    odd_in = str(frames_dir[SIZES[1]] / "%03d.png")
    for name, words in (("gray", "grayscale"), ("rgba", "4-channel")):
        r = run(args.binary, ["run", "-i", odd_in, "-o", str(args.work / "refused" / "%03d.png"), "-m",
                              str(files[name]), "--device", "cpu", "--quiet"], env)
        lines = r.stderr.strip().splitlines()
        checks.check(r.returncode == 2, f"{name}: exit {r.returncode}, not 2 ({r.stderr.strip()})")
        checks.check(len(lines) == 1 and words in r.stderr, f"{name}: stderr is not one line naming '{words}': {lines}")
    r = run(args.binary, ["run", "-i", odd_in, "-o", str(args.work / "refused" / "%03d.png"), "-m", str(files["SPAN"]),
                          "--device", "cpu", "--quiet", "--noise-level", "20"], env)
    checks.check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "noise level" in r.stderr,
                 f"--noise-level on SPAN: exit {r.returncode}, stderr {r.stderr.strip().splitlines()}")
    # A file spandrel cannot read, an .onnx that is no ONNX, and an ONNX graph that takes no image:
    # one line, exit 2. The bytes are fixed: random ones decode as an ONNX model now and then.
    garbage = args.work / "garbage"
    garbage.mkdir()
    noise = random.Random(7).randbytes(200)
    (garbage / "broken.pth").write_bytes(b"\x80\x02" + noise)
    (garbage / "broken.onnx").write_bytes(b"\xff" * 8 + noise)
    import onnx  # noqa: PLC0415

    (garbage / "no-input.onnx").write_bytes(
        onnx.helper.make_model(onnx.helper.make_graph([], "empty", [], [])).SerializeToString())
    for path in sorted(garbage.iterdir()):
        r = run(args.binary, ["run", "-i", odd_in, "-o", str(args.work / "refused" / "%03d.png"), "-m", str(path),
                              "--device", "cpu", "--quiet"], env)
        lines = r.stderr.strip().splitlines()
        checks.check(r.returncode == 2 and len(lines) == 1 and path.name in r.stderr,
                     f"{path.name}: exit {r.returncode}, stderr {lines}")
    checks.check(cache_entries(cache) == [], f"refusals left {cache_entries(cache)} in the cache")

    # dtype per architecture, from spandrel's own flags: the fastest safe one on a GPU (fp16, else
    # bf16, else fp32), fp32 on the CPU; fp16 asked for an fp16-unsafe model warns.
    import io  # noqa: PLC0415
    from contextlib import redirect_stderr  # noqa: PLC0415

    import model_compiler  # noqa: PLC0415

    for name, want in (("Compact", "fp16"), ("SwinIR", "bf16"), ("HAT", "bf16"), ("SAFMN", "bf16"), ("DRUNet", "bf16")):
        d = spandrel.ModelLoader().load_from_file(str(files[name]))
        got = model_compiler.choose_dtype("auto", "sm90", d.supports_half, d.supports_bfloat16, name)
        checks.check(got == want, f"{name}: auto dtype on a GPU is {got}, not {want}")
        checks.check(model_compiler.choose_dtype("auto", "cpu", d.supports_half, d.supports_bfloat16, name) == "fp32",
                     f"{name}: auto dtype on the CPU is not fp32")
        said = io.StringIO()
        with redirect_stderr(said):
            model_compiler.choose_dtype("fp16", "sm90", d.supports_half, d.supports_bfloat16, name)
        warned = "not safe in fp16" in said.getvalue()
        checks.check(warned == (want != "fp16"), f"{name}: fp16 asked: warning {warned!r}: {said.getvalue()!r}")
    # A dtype the network's code cannot run at the frames' size gives way to the next safer one
    # (a network that adds an fp32 constant of its own). SwinIR's mask for a size other than its
    # img_size is fp32 in spandrel's code, which fails in bf16 even in eager; prepared, it is kept in
    # the network's dtype and bf16 runs.
    class Fp32Constant(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 3, 1)

        def forward(self, x):
            return self.conv(x) @ torch.ones(x.shape[-1], x.shape[-1])

    for name, module, want in (("Fp32Constant", Fp32Constant(), "fp32"),
                               ("SwinIR", model_compiler.load_source(files["SwinIR"], None)[0], "bf16"),
                               ("Compact", model_compiler.load_source(files["Compact"], None)[0], "bf16")):
        with redirect_stderr(io.StringIO()):
            got = model_compiler.first_dtype_that_runs(module, "bf16", torch.device("cpu"), SIZES[1], name)
        checks.check(got == want, f"{name}: bf16 at 33x25 gives way to {got}, not {want}")

    # The shifted-window transformers' attention masks: spandrel's code builds them on the CPU in
    # every call (a host part of the graph on a GPU); prepared, a second call builds none. Seen on
    # the meta device, where any CPU tensor is the network's own.
    from torch.utils._python_dispatch import TorchDispatchMode  # noqa: PLC0415

    class CpuTensors(TorchDispatchMode):
        made = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            result = func(*args, **(kwargs or {}))
            outs = result if isinstance(result, (tuple, list)) else [result]
            self.made += sum(isinstance(t, torch.Tensor) and t.device.type == "cpu" for t in outs)
            return result

    for name in ("SwinIR", "HAT", "DAT", "DRCT", "RGT"):
        descriptor = spandrel.ModelLoader().load_from_file(str(files[name]))
        for how, module in (("spandrel's", model_compiler.Prepared(descriptor, None)),
                            ("prepared", model_compiler.load_source(files[name], None)[0])):
            module = module.eval().to("meta")
            x = torch.empty(1, 3, SIZES[0][1], SIZES[0][0], device="meta")
            with torch.no_grad():
                module(x)
                mode = CpuTensors()
                with mode:
                    module(x)
            if how == "prepared":
                checks.check(mode.made == 0, f"{name} prepared: a second call made {mode.made} CPU tensors")
            else:
                checks.check(mode.made > 0, f"{name}: spandrel's own call made no CPU tensor (the check sees nothing)")
    # Equal masks are kept once: SwinIR's blocks of one window and shift build the same mask (eight
    # blocks here, two masks), and its output stays spandrel's.
    net = make_models._arch("SwinIR", "SwinIR")(embed_dim=12, depths=[4, 4], num_heads=[2, 2], window_size=4,
                                                upscale=2, img_size=16, upsampler="pixelshuffledirect").eval()
    make_models.randomise(net, 3)
    path = make_models.save(net, "pth", args.work / "swinir-8-blocks")
    module = model_compiler.load_source(path, None)[0]
    x = torch.rand(1, 3, SIZES[0][1], SIZES[0][0])
    with torch.no_grad():
        got = module(x)
        want = spandrel.ModelLoader().load_from_file(str(path)).eval().model(x)
    masks = [b for n, b in module.named_buffers(remove_duplicate=False) if "_pyn_mask_" in n]
    checks.check(len(masks) == 8 and len({m.data_ptr() for m in masks}) == 2,
                 f"SwinIR of 8 blocks: {len(masks)} masks, {len({m.data_ptr() for m in masks})} distinct, not 8 and 2")
    checks.check(torch.equal(got, want), "SwinIR of 8 blocks with shared masks: not spandrel's output")

    stamp("refusals checked")
    # Compile the rest in this process, into the same cache the runs read.
    for name in archs:
        if name in THROUGH_CLI:
            continue
        for size in SIZES:
            try:
                compile_model.answer(files[name], size, "cpu", "cpu", "auto", None, cache)
            except Exception as e:  # noqa: BLE001
                checks.check(False, f"{name} {size[0]}x{size[1]}: compile failed: {compile_model.first_line(e)}")

    stamp("compiled in this process")

    def one(job):
        name, size = job
        out = args.work / "out" / f"{name}-{size[0]}x{size[1]}"
        out.mkdir(parents=True, exist_ok=True)
        r = run(args.binary, ["run", "-i", str(frames_dir[size] / "%03d.png"), "-o", str(out / "%03d.png"),
                              "-m", str(files[name]), "--device", "cpu"], env)
        return job, r, out

    jobs = [(name, size) for name in archs for size in SIZES]
    # The CLI-compiled ones first and alone: two runs compiling one file at once would race
    # (harmlessly, but the cache test below wants to see one compile each).
    cli_jobs = [j for j in jobs if j[0] in THROUGH_CLI]
    results = [one(j) for j in cli_jobs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results += list(pool.map(one, [j for j in jobs if j[0] not in THROUGH_CLI]))

    stamp("runs done")
    for (name, size), r, out in results:
        label = f"{name} {size[0]}x{size[1]}"
        if not checks.check(r.returncode == 0, f"{label}: exit {r.returncode}: {r.stderr.strip()[-400:]}"):
            continue
        if name in THROUGH_CLI:
            checks.check("compiling" in r.stderr, f"{label}: the first run did not say it compiles")
        try:
            descriptor = spandrel.ModelLoader().load_from_file(str(files[name])).float().eval()
            got = read_frames(out)
            checks.check(len(got) == FRAMES, f"{label}: {len(got)} frames out, not {FRAMES}")
            for i, (frame, image) in enumerate(zip(inputs[size], got)):
                want = reference(descriptor, frame)
                if not checks.check(image.shape == want.shape, f"{label} frame {i}: {image.shape}, not {want.shape}"):
                    continue
                value = psnr(image, want)
                checks.check(value >= MIN_PSNR, f"{label} frame {i}: PSNR {value:.1f} dB against spandrel's eager fp32")
                print(f"{label} frame {i}: {'bit-exact' if math.isinf(value) else f'{value:.1f} dB'}", flush=True)
        except Exception:  # noqa: BLE001
            checks.check(False, f"{label}: {traceback.format_exc()}")

    stamp("outputs compared")
    # The cache: a second run compiles nothing; the summary names the dtype; clear empties it.
    (args.work / "again").mkdir()
    r = run(args.binary, ["run", "-i", odd_in, "-o", str(args.work / "again" / "%03d.png"), "-m", str(files["Compact"]),
                          "--device", "cpu"], env)
    checks.check(r.returncode == 0 and "compiling" not in r.stderr, f"second run of Compact compiled again: {r.stderr}")
    checks.check("f32" in r.stderr and "RealESRGAN Compact" in r.stderr, f"summary names no dtype/architecture: {r.stderr}")
    before = cache_entries(cache)
    requests = sorted((cache / "index").iterdir())
    checks.check(len(requests) == 2 * len(archs), f"{len(requests)} requests in the cache's index, not {2 * len(archs)}")
    checks.check(not any(n.startswith(".") for n in before), f"temporary entries left: {before}")
    r = run(args.binary, ["cache", "list"], env)
    checks.check(r.returncode == 0 and f"{len(before)} entries" in r.stdout, f"cache list: {r.stdout[-300:]}")
    r = run(args.binary, ["cache", "clear"], env)
    checks.check(r.returncode == 0 and cache_entries(cache) == [], f"cache clear left {cache_entries(cache)}")
    r = run(args.binary, ["cache", "list"], env)
    checks.check(r.returncode == 0 and "0 entries" in r.stdout, f"cache list after clear: {r.stdout}")

    # ONNX through the same path (onnx2torch), against the exported network's own eager call.
    factory, _ = make_models.small_models()["Compact"]
    net = factory().eval()
    make_models.randomise(net, 7)
    onnx_file = args.work / "onnx" / "compact.onnx"
    onnx_file.parent.mkdir()
    # Opset 13: onnx2torch 1.5.15 has no converter for opset 19's Constant (a one-line refusal).
    torch.onnx.export(net, (torch.rand(1, 3, 24, 32),), str(onnx_file), dynamo=False, opset_version=13,
                      input_names=["x"], dynamic_axes={"x": {2: "h", 3: "w"}})
    out = args.work / "onnx" / "out"
    out.mkdir()
    r = run(args.binary, ["run", "-i", odd_in, "-o", str(out / "%03d.png"), "-m", str(onnx_file), "--device", "cpu"], env)
    if checks.check(r.returncode == 0, f"ONNX: exit {r.returncode}: {r.stderr.strip()[-300:]}"):

        class Call:
            def __call__(self, x):
                with torch.inference_mode():
                    return net(x)

        for i, (frame, image) in enumerate(zip(inputs[SIZES[1]], read_frames(out))):
            want = reference(Call(), frame)
            value = psnr(image, want) if image.shape == want.shape else -1.0
            checks.check(value >= MIN_PSNR, f"ONNX frame {i}: PSNR {value:.1f} dB against the network's eager call")
            print(f"ONNX {SIZES[1][0]}x{SIZES[1][1]} frame {i}: {'bit-exact' if math.isinf(value) else f'{value:.1f} dB'}")

    # --noise-level on FDnCNN (DnCNN with a noise-level channel; spandrel's call fixes it at 15):
    # against the network's own call with that channel, and its own entry in the cache.
    descriptor = spandrel.ModelLoader().load_from_file(str(files["FDnCNN"])).float().eval()

    class WithLevel:
        def __call__(self, x):
            with torch.inference_mode():
                return descriptor.model(torch.cat([x, torch.full_like(x[:, :1], 40 / 255.0)], dim=1))

    out = args.work / "noise-level" / "out"
    out.mkdir(parents=True)
    r = run(args.binary, ["run", "-i", odd_in, "-o", str(out / "%03d.png"), "-m", str(files["FDnCNN"]), "--device", "cpu",
                          "--noise-level", "40"], env)
    if checks.check(r.returncode == 0 and "compiling" in r.stderr, f"FDnCNN --noise-level 40: exit {r.returncode}, "
                                                                   f"{r.stderr.strip()[-300:]}"):
        for i, (frame, image) in enumerate(zip(inputs[SIZES[1]], read_frames(out))):
            want, default = reference(WithLevel(), frame), reference(descriptor, frame)
            value = psnr(image, want) if image.shape == want.shape else -1.0
            checks.check(value >= MIN_PSNR, f"FDnCNN level 40 frame {i}: PSNR {value:.1f} dB against its own call")
            checks.check(not (image == default).all(), f"FDnCNN level 40 frame {i}: equal to level 15's output")
            print(f"FDnCNN level 40 frame {i}: {'bit-exact' if math.isinf(value) else f'{value:.1f} dB'}")

    for what in checks.failed:
        print(f"failed: {what.splitlines()[0]}")
    print(f"{checks.passed} passed, {len(checks.failed)} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
