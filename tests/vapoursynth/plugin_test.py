"""The VapourSynth plugin as VapourSynth loads and drives it.

Random frames go through core.pyn.Model (the synthetic engine, on the CPU; a TorchScript model too
where --torch-model names one) with every frame asked for at once and in shuffled order from
VapourSynth's threads, and through `pynference run` on the same frames; the two must give the same
bytes. Then the frame properties the plugin reads and sets,
and its errors: one line each, through VapourSynth's error mechanism.

Run by ctest (tests/vapoursynth/CMakeLists.txt) with the Python that scripts/install-deps.sh gives
the vapoursynth package; prints `N passed, M failed` at the end.
"""

import argparse
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import vapoursynth as vs

core = vs.core
MODEL = "synthetic:x2"
FRAMES = 7
rng = np.random.default_rng()


def write_png(path: Path, rgb: np.ndarray) -> None:
    """An RGB PNG (8 or 16 bit) without filters: what the CLI's image-sequence input reads."""
    height, width, _ = rgb.shape
    depth = 8 if rgb.dtype == np.uint8 else 16
    rows = rgb.astype(">u2" if depth == 16 else np.uint8).reshape(height, -1).view(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, depth, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
                     chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def random_planes(fmt: vs.VideoFormat, width: int, height: int) -> list:
    """One frame's planes at random, each as VapourSynth lays it out (values within the bit depth)."""
    dtype = np.uint8 if fmt.bytes_per_sample == 1 else np.uint16
    planes = []
    for p in range(fmt.num_planes):
        w = width >> (fmt.subsampling_w if p else 0)
        h = height >> (fmt.subsampling_h if p else 0)
        planes.append(rng.integers(0, 1 << fmt.bits_per_sample, size=(h, w), dtype=dtype))
    return planes


def clip_of(frames: list, fmt: int, props=None) -> vs.VideoNode:
    """A clip of these frames (lists of planes), each frame with the given properties."""
    height, width = frames[0][0].shape
    blank = core.std.BlankClip(format=fmt, width=width, height=height, length=len(frames))

    def fill(n, f):
        out = f.copy()
        for p, plane in enumerate(frames[n]):
            np.asarray(out[p])[...] = plane
        for key, value in (props(n) if callable(props) else props or {}).items():
            out.props[key] = value
        return out

    return core.std.ModifyFrame(blank, blank, fill)


def served(clip: vs.VideoNode) -> list:
    """Every frame of the clip, asked for at once in shuffled order; planes as numpy arrays, and
    the frame's properties."""
    order = list(range(clip.num_frames))
    random.shuffle(order)
    futures = {n: clip.get_frame_async(n) for n in order}
    out = [None] * clip.num_frames
    for n in order:
        frame = futures[n].result()
        out[n] = ([np.asarray(frame[p]).copy() for p in range(frame.format.num_planes)],
                  dict(frame.props))
    return out


def cli(binary: str, *args: str, model: str = MODEL) -> None:
    subprocess.run([binary, "run", *args, "-m", model, "--device", "cpu", "--quiet", "-y"],
                   check=True, capture_output=True)


def interleaved(planes: list) -> bytes:
    return np.stack(planes, axis=-1).astype(planes[0].dtype.newbyteorder("<")).tobytes()


def packed_planes(planes: list) -> bytes:
    return b"".join(p.astype(p.dtype.newbyteorder("<")).tobytes() for p in planes)


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}{': ' + detail if detail else ''}")

    def same_frames(self, name: str, got: list, expected: bytes, layout) -> None:
        joined = b"".join(layout(planes) for planes, _ in got)
        differing = sum(a != b for a, b in zip(joined, expected)) if len(joined) == len(expected) else -1
        self.check(name, joined == expected,
                   f"{len(joined)} bytes against {len(expected)}, {differing} differ")

    def error(self, name: str, make, *words: str) -> None:
        """`make()` must fail through VapourSynth with one line that holds each of `words`."""
        try:
            result = make()
            if isinstance(result, vs.VideoNode):
                result.get_frame(0)
        except vs.Error as e:
            text = str(e)
            self.check(name, "\n" not in text.strip() and all(w in text for w in words), repr(text))
            return
        self.check(name, False, "no error")


def rgb_against_cli(checks: Checks, binary: str, work: Path, fmt: int, pix_fmt: str) -> None:
    info = core.get_video_format(fmt)
    frames = [random_planes(info, 34, 22) for _ in range(FRAMES)]
    folder = work / f"{info.name}-in"
    folder.mkdir(parents=True, exist_ok=True)
    for n, planes in enumerate(frames):
        write_png(folder / f"{n + 1:04d}.png", np.stack(planes, axis=-1))
    out = work / f"{info.name}.rgb"
    cli(binary, "-i", str(folder / "%04d.png"), "-o", str(out), "-f", "rawvideo",
        "--encoder", "rawvideo", "--pix-fmt", pix_fmt)
    model = core.pyn.Model(clip_of(frames, fmt), model=MODEL, device="cpu")
    checks.check(f"{info.name}: twice the size, same format",
                 (model.width, model.height, model.format.id) == (68, 44, fmt))
    checks.same_frames(f"{info.name}: frames out of order, in parallel == pynference run", served(model),
                       out.read_bytes(), interleaved)


def upscaled(plane: np.ndarray) -> np.ndarray:
    """The synthetic network's nearest-neighbour x2."""
    return plane.repeat(2, axis=0).repeat(2, axis=1)


def same_floats(a: list, b: list) -> bool:
    return all(np.array_equal(np.stack(x), np.stack(y), equal_nan=True) for x, y in zip(a, b))


def float_rgb(checks: Checks) -> None:
    """RGBS and RGBH go to the network as they are and come back as its values (docs/vapoursynth.md):
    the synthetic network gives 1 - x, nearest-upscaled, which numpy computes here in the same
    precision: fp32 for RGBS through dtype fp32, fp16 for RGBH through fp16. Outside [0, 1] stays
    outside; NaN stays NaN."""
    singles = [[rng.uniform(-0.5, 1.5, size=(22, 34)).astype(np.float32) for _ in range(3)]
               for _ in range(FRAMES)]
    singles[0][1][3, 4] = np.nan
    model = core.pyn.Model(clip_of(singles, vs.RGBS), model=MODEL, device="cpu", dtype="fp32")
    got = served(model)
    checks.check("RGBS: RGBS out", model.format.id == vs.RGBS)
    want = [[upscaled(np.float32(1) - p) for p in planes] for planes in singles]
    checks.check("RGBS: frames out of order, in parallel == the network's fp32 values",
                 same_floats([planes for planes, _ in got], want))
    checks.check("RGBS: values outside [0, 1] and off the 16-bit codes survive",
                 any(((p < 0) | (p > 1)).any() for planes, _ in got for p in planes) and
                 any((p * 65535 != np.round(p * 65535)).any() for planes, _ in got for p in planes))

    halves = [[p.astype(np.float16) for p in planes] for planes in singles]
    got = served(core.pyn.Model(clip_of(halves, vs.RGBH), model=MODEL, device="cpu", dtype="fp16"))
    want = [[upscaled((np.float32(1) - p.astype(np.float32)).astype(np.float16)) for p in planes]
            for planes in halves]
    checks.check("RGBH: frames == the network's fp16 values", same_floats([p for p, _ in got], want))
    as_rgbs = served(core.pyn.Model(clip_of(halves, vs.RGBH), model=MODEL, device="cpu", dtype="fp16",
                                    format=vs.RGBS))
    checks.check("RGBH in, format=RGBS out: the same values widened",
                 same_floats([p for p, _ in as_rgbs], [[w.astype(np.float32) for w in p] for p in want]))

    # Integer in, float out: the network's values of x * (1/255 in fp32), not codes.
    codes = [random_planes(core.get_video_format(vs.RGB24), 34, 22) for _ in range(FRAMES)]
    got = served(core.pyn.Model(clip_of(codes, vs.RGB24), model=MODEL, device="cpu", dtype="fp32",
                                format=vs.RGBS))
    unit = np.float32(1) / np.float32(255)
    want = [[upscaled(np.float32(1) - p.astype(np.float32) * unit) for p in planes] for planes in codes]
    checks.check("RGB24 in, format=RGBS out == the network's fp32 values",
                 same_floats([p for p, _ in got], want))


def ten_bit_rgb(checks: Checks) -> None:
    """RGB30 goes in as 10-bit codes (of 1023) and out as them: against the synthetic network's
    1 - x in fp32, computed here in numpy's fp32, clamped and rounded to even as post does."""
    info = core.get_video_format(vs.RGB30)
    codes = [random_planes(info, 34, 22) for _ in range(FRAMES)]
    model = core.pyn.Model(clip_of(codes, vs.RGB30), model=MODEL, device="cpu", dtype="fp32")
    checks.check("RGB30: RGB30 out", model.format.id == vs.RGB30)
    unit = np.float32(1) / np.float32(1023)

    def network(plane: np.ndarray) -> np.ndarray:
        value = np.clip(np.float32(1) - plane.astype(np.float32) * unit, 0, 1)
        return upscaled(np.rint(value * np.float32(1023)).astype(np.uint16))

    got = served(model)
    checks.check("RGB30: frames out of order, in parallel == the network's 10-bit codes",
                 all(np.array_equal(np.stack(planes), np.stack([network(p) for p in codes[n]]))
                     for n, (planes, _) in enumerate(got)))


def yuv_against_cli(checks: Checks, binary: str, work: Path, fmt: int, pix_fmt: str,
                    out_fmt=None, out_pix_fmt=None, network: str = MODEL) -> None:
    info = core.get_video_format(fmt)
    frames = [random_planes(info, 40, 24) for _ in range(FRAMES)]
    raw_in = work / f"{info.name}.yuv"
    raw_in.write_bytes(b"".join(packed_planes(planes) for planes in frames))
    out = work / f"{info.name}-{out_pix_fmt or 'same'}.out"
    if out_pix_fmt is None:
        cli(binary, "-i", f"raw:40x24:{pix_fmt}:{raw_in}", "-o", f"raw:{out}", model=network)
    else:
        cli(binary, "-i", f"raw:40x24:{pix_fmt}:{raw_in}", "-o", str(out), "-f", "rawvideo",
            "--encoder", "rawvideo", "--pix-fmt", out_pix_fmt, model=network)
    # Untagged raw frames of this size are BT.601 limited to the CLI; tagged so here.
    clip = clip_of(frames, fmt, {"_Matrix": 6, "_Range": 0})
    kwargs = {} if out_fmt is None else {"format": out_fmt}
    # Fewer slots than VapourSynth's threads: some threads must wait for a slot to come back.
    model = core.pyn.Model(clip, model=network, device="cpu", num_streams=3, num_slots=2, **kwargs)
    name = info.name + ("" if out_fmt is None else " -> " + core.get_video_format(out_fmt).name)
    if network != MODEL:
        name += " through " + Path(network).name
    checks.check(f"{name}: twice the size", (model.width, model.height) == (80, 48))
    got = served(model)
    checks.same_frames(f"{name}: frames out of order, in parallel == pynference run", got,
                       out.read_bytes(), packed_planes if out_fmt is None else interleaved)
    props = got[0][1]
    if out_fmt is None:
        checks.check(f"{name}: _Matrix and _Range kept",
                     props.get("_Matrix") == 6 and props.get("_Range") == 0, str(props))
    else:
        checks.check(f"{name}: RGB out is tagged _Matrix 0, full range",
                     props.get("_Matrix") == 0 and props.get("_Range") == 1, str(props))


def properties(checks: Checks) -> None:
    info = core.get_video_format(vs.YUV444P8)
    frames = [random_planes(info, 16, 8) for _ in range(3)]
    tagged = clip_of(frames, vs.YUV444P8,
                     {"_Matrix": 1, "_Range": 1, "_SARNum": 4, "_SARDen": 3, "_FieldBased": 0})
    props = core.pyn.Model(tagged, model=MODEL, device="cpu").get_frame(1).props
    checks.check("SAR kept where both axes scale alike",
                 (props.get("_SARNum"), props.get("_SARDen")) == (4, 3), str(dict(props)))
    checks.check("matrix and full range kept",
                 props.get("_Matrix") == 1 and props.get("_Range") == 1, str(dict(props)))
    checks.check("field order kept", props.get("_FieldBased") == 0, str(dict(props)))

    checks.error("an interlaced frame scaled vertically is refused",
                 lambda: core.pyn.Model(clip_of(frames, vs.YUV444P8, {"_FieldBased": 2}), model=MODEL,
                                        device="cpu"), "frame 0", "_FieldBased 2")
    checks.error("a frame of another matrix than the first is refused",
                 lambda: core.pyn.Model(clip_of(frames, vs.YUV444P8,
                                                lambda n: {"_Matrix": 1 if n == 0 else 9}),
                                        model=MODEL, device="cpu").get_frame(2),
                 "frame 2", "bt2020", "bt709")


def errors(checks: Checks) -> None:
    rgb = core.std.BlankClip(format=vs.RGB24, width=8, height=8, length=2)
    checks.error("an unknown model", lambda: core.pyn.Model(rgb, model="synthetic:x0", device="cpu"),
                 "Model:", 'model="synthetic')
    checks.error("a missing model file", lambda: core.pyn.Model(rgb, model="/nonexistent.pt2", device="cpu"),
                 "Model:", "/nonexistent.pt2")
    checks.error("a format pynference does not take",
                 lambda: core.pyn.Model(core.std.BlankClip(format=vs.GRAYS), model=MODEL, device="cpu"),
                 "Model:", "GrayS", "RGBS")
    checks.error("a bad device", lambda: core.pyn.Model(rgb, model=MODEL, device="gpu"),
                 "Model:", 'device="gpu"')
    checks.error("a bad dtype", lambda: core.pyn.Model(rgb, model=MODEL, device="cpu", dtype="int8"),
                 "Model:", 'dtype="int8"')
    checks.error("no streams", lambda: core.pyn.Model(rgb, model=MODEL, device="cpu", num_streams=0),
                 "Model:", "num_streams=0")
    checks.error("an output format pynference does not make",
                 lambda: core.pyn.Model(rgb, model=MODEL, device="cpu", format=vs.YUV422P8),
                 "Model:", "YUV422P8")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plugin", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--torch-model", action="append", default=[],
                        help="a model (x2: TorchScript, or a state dict the plugin compiles) to run "
                             "through the torch engine as well")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    core.num_threads = 4
    core.std.LoadPlugin(args.plugin)

    checks = Checks()
    rgb_against_cli(checks, args.cli, args.work, vs.RGB24, "rgb24")
    rgb_against_cli(checks, args.cli, args.work, vs.RGB48, "rgb48le")
    float_rgb(checks)
    ten_bit_rgb(checks)
    yuv_against_cli(checks, args.cli, args.work, vs.YUV420P8, "yuv420p")
    yuv_against_cli(checks, args.cli, args.work, vs.YUV420P10, "yuv420p10le")
    yuv_against_cli(checks, args.cli, args.work, vs.YUV444P8, "yuv444p")
    yuv_against_cli(checks, args.cli, args.work, vs.YUV444P10, "yuv444p10le")
    yuv_against_cli(checks, args.cli, args.work, vs.YUV420P8, "yuv420p", vs.RGB24, "rgb24")
    for network in args.torch_model:
        yuv_against_cli(checks, args.cli, args.work, vs.YUV420P8, "yuv420p", network=network)
    properties(checks)
    errors(checks)
    print(f"vapoursynth: {checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
