"""The Python module and the VapourSynth plugin against the CLI, on one device, in one process:
what issue 16 asks the GPU machine to show (scripts/gpu-python-bench.sh builds and calls this).

Rows: `pynference bench` (split-streams, RGB frames) and `pynference run` of synthetic YUV 4:2:0
frames to null, the references; Processor.map over numpy frames; Processor.map over torch tensors
on the device, with the Processor's counters (uploads, downloads) and a torch.profiler trace's
memory copies; the VapourSynth plugin through clip.frames() for an RGB24 and a YUV420P8 clip, and
its frames against the CLI's (YUV: `pynference run` of raw frames) or the Processor's (RGB: the
GPU machine has no FFmpeg, which the CLI's RGB input needs; tests/python shows the Processor's
RGB frames equal to the CLI's). Each figure is the median of --repeat runs after a warm-up.
On the host backend (--device cpu) the same rows run, slowly: the torch rows then use CPU tensors,
which the host backend lends as it lends CUDA tensors on a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import pynference


def median_fps(repeat, run):
    """run() -> (frames, seconds); the median fps of `repeat` calls and their spread."""
    fps = []
    for _ in range(repeat):
        frames, seconds = run()
        fps.append(frames / seconds)
    return statistics.median(fps), (min(fps), max(fps))


def cli_bench(args, size):
    out = Path(args.out) / "python-bench-cli.json"
    command = [args.bin, "bench", "-m", args.model, "--size", size, "--strategy", "split-streams",
               "--frames", str(args.frames), "--repeat", str(args.repeat), "--device", args.device,
               "--json", str(out)]
    if not args.model.startswith("synthetic"):
        command.append("--fp16")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pynference bench failed: {done.stderr.strip()}")
    result = json.loads(out.read_text())["results"][0]
    return result, json.loads(out.read_text())["device"]["name"]


def counted(proc, run):
    """run()'s result and the uploads and downloads it made."""
    before = proc.stats
    result = run()
    after = proc.stats
    frames = after["frames"] - before["frames"]
    return result, {k: after[k] - before[k] for k in ("frames", "uploads", "downloads")}, frames


def map_fps(args, proc, frames, sync=None):
    count = args.frames

    def feed():
        for i in range(count):
            yield frames[i % len(frames)]

    def once():
        start = time.perf_counter()
        for _ in proc.map(feed()):
            pass
        if sync is not None:
            sync()
        return count, time.perf_counter() - start

    for _ in proc.map(frames * 4):  # warm-up: every slot and lane used
        pass
    if sync is not None:
        sync()
    (fps, spread), copies, submitted = counted(proc, lambda: median_fps(args.repeat, once))
    return fps, spread, {k: v / submitted for k, v in copies.items() if k != "frames"}


def traced_copies(torch, proc, frames):
    """Memory copies a torch.profiler trace (CUPTI: every stream of the process) sees while the
    Processor maps these frames: {"HtoD": n, "DtoH": n, "DtoD": n, "kernels": n}."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in proc.map(frames):
            pass
        torch.cuda.synchronize()
    counts = {"HtoD": 0, "DtoH": 0, "DtoD": 0, "kernels": 0}
    for event in prof.events():
        if getattr(event, "device_type", None) is None or "CUDA" not in str(event.device_type):
            continue
        name = event.name
        for kind in ("HtoD", "DtoH", "DtoD"):
            if "Memcpy" in name and kind in name:
                counts[kind] += 1
                break
        else:
            if "Memcpy" not in name and "Memset" not in name:
                counts["kernels"] += 1
    return counts


def timeline(torch, run, frames):
    """Where the GPU's time goes while run() delivers `frames` frames, from a torch.profiler trace
    (CUPTI: every stream of the process): the pass's wall time, the GPU's span from its first event
    to its last, how long the GPU waited before the first and after the last, the time some kernel
    ran (the union over streams), the idle gaps inside the span, what the copies took, a frame
    each, and the kernels that took the most."""
    from torch.profiler import ProfilerActivity, profile, record_function

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        with record_function("pyn_pass"):
            run()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "trace.json"
        prof.export_chrome_trace(str(path))
        events = json.loads(path.read_text()).get("traceEvents", [])
    passes = [e for e in events if e.get("ph") == "X" and e.get("name") == "pyn_pass"]
    gpu = [e for e in events if e.get("ph") == "X" and e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")]
    if not gpu or not passes:
        return {"frames": frames, "events": 0}
    begin_pass = passes[0]["ts"]
    end_pass = begin_pass + passes[0]["dur"]
    first = min(e["ts"] for e in gpu)
    last = max(e["ts"] + e["dur"] for e in gpu)
    busy = 0.0
    idle = 0.0
    gaps = 0
    end = first
    for begin, finish in sorted((e["ts"], e["ts"] + e["dur"]) for e in gpu):
        if begin > end + 200:  # an idle gap over 0.2 ms: nothing at all on the GPU
            idle += begin - end
            gaps += 1
        end = max(end, finish)
    end = first
    for begin, finish in sorted((e["ts"], e["ts"] + e["dur"]) for e in gpu if e["cat"] == "kernel"):
        if finish > end:
            busy += finish - max(begin, end)
            end = finish
    by_name: dict[str, float] = {}
    copies = {"HtoD": [0, 0.0], "DtoH": [0, 0.0], "DtoD": [0, 0.0]}
    for e in gpu:
        if e["cat"] == "kernel":
            name = e["name"][:60]
            by_name[name] = by_name.get(name, 0.0) + e["dur"]
        else:
            for kind, tally in copies.items():
                if kind in e["name"]:
                    tally[0] += 1
                    tally[1] += e["dur"]
    top = sorted(by_name.items(), key=lambda kv: -kv[1])[:6]
    return {"frames": frames, "wall_ms_per_frame": (end_pass - begin_pass) / 1000 / frames,
            "span_ms_per_frame": (last - first) / 1000 / frames,
            "before_first_ms": (first - begin_pass) / 1000, "after_last_ms": (end_pass - last) / 1000,
            "idle_gaps": gaps, "idle_gap_ms_per_frame": idle / 1000 / frames,
            "kernel_busy_ms_per_frame": busy / 1000 / frames,
            "busy_fraction": busy / (last - first),
            "copies": {k: {"count": n, "ms_each": (t / n / 1000 if n else 0.0)} for k, (n, t) in copies.items()},
            "top_kernels_ms_per_frame": [(name, t / 1000 / frames) for name, t in top]}


def print_timeline(label, t) -> None:
    if not t or not t.get("events", 1):
        print(f"timeline {label}: no GPU events")
        return
    copies = ", ".join(f"{k} {v['count']} x {v['ms_each']:.3f} ms" for k, v in t["copies"].items() if v["count"])
    print(f"timeline {label}: wall {t['wall_ms_per_frame']:.3f} ms a frame, GPU span {t['span_ms_per_frame']:.3f} "
          f"(first GPU event {t['before_first_ms']:.1f} ms into the pass, last {t['after_last_ms']:.1f} ms before "
          f"its end; {t['idle_gaps']} gaps over 0.2 ms, {t['idle_gap_ms_per_frame']:.3f} ms a frame), kernels busy "
          f"{t['kernel_busy_ms_per_frame']:.3f} ({t['busy_fraction']:.3f} of the span); {copies}")
    for name, ms in t["top_kernels_ms_per_frame"]:
        print(f"    {ms:7.3f} ms/frame  {name}")


def vapoursynth_rows(args, width, height, rng, reference):
    """fps of the plugin through clip.frames() for RGB24 and YUV420P8 clips, and a few frames of
    each against the CLI (YUV) or the Processor (RGB)."""
    import vapoursynth as vs

    core = vs.core
    core.std.LoadPlugin(args.plugin)
    rows = {}

    def clip_of(frames, fmt, props=None):
        blank = core.std.BlankClip(format=fmt, width=width, height=height, length=len(frames))

        def fill(n, f):
            out = f.copy()
            for p, plane in enumerate(frames[n]):
                np.asarray(out[p])[...] = plane
            for key, value in (props or {}).items():
                out.props[key] = value
            return out

        return core.std.ModifyFrame(blank, blank, fill)

    def planes_of(frame):
        return [np.asarray(frame[p]).copy() for p in range(frame.format.num_planes)]

    ends = []  # ms from each timed pass's last frame to the end of its frames() iteration

    def fps_of(fmt, prefetch=None, make=None, **options):
        # Every timed pass asks for frames no pass asked for before: VapourSynth caches a node's
        # frames, and a pass over frames already asked for would be served partly from there.
        # make(source) instead of the plugin: VapourSynth alone, for scale.
        warm = 2 * core.num_threads
        source = core.std.BlankClip(format=fmt, width=width, height=height,
                                    length=warm + args.repeat * args.frames,
                                    color=[90, 140, 200] if fmt == vs.RGB24 else [120, 100, 160])
        if make is not None:
            model = make(source)
        else:
            model = core.pyn.Model(source, model=args.model, device=args.device, **options)
        for _ in model[:warm].frames():  # warm-up: each of VapourSynth's threads meets the engine
            pass
        passes = iter(range(args.repeat))

        def once():
            # Timed to the last frame: when the iteration ends, VapourSynth's frames() runs a full
            # gc.collect(), which in this process (torch's objects) takes on the order of 100 ms;
            # what that costs is kept apart, in ends.
            first = warm + next(passes) * args.frames
            start = time.perf_counter()
            last = start
            for _ in model[first:first + args.frames].frames(prefetch=prefetch):
                last = time.perf_counter()
            ends.append(1000 * (time.perf_counter() - last))
            return args.frames, last - start

        return median_fps(args.repeat, once)

    def vspipe_fps(fmt):
        """fps that vspipe reports for the plugin on a clip of 4 * --frames frames, the median of
        --repeat runs; None where vspipe cannot run here."""
        vspipe = Path(vs.__file__).parent / "vspipe"
        if not vspipe.exists():
            return None
        with tempfile.TemporaryDirectory() as work:
            # vspipe finds Python through a config file that `vapoursynth config` writes there.
            env = dict(os.environ, HOME=work, XDG_CONFIG_HOME=str(Path(work) / ".config"))
            done = subprocess.run([sys.executable, "-m", "vapoursynth", "config"], capture_output=True,
                                  text=True, env=env)
            if done.returncode != 0:
                raise RuntimeError(f"vapoursynth config: {(done.stderr or done.stdout).strip()[:200]}")
            # vspipe runs the script from the script's folder: a model file by its absolute path.
            model = str(Path(args.model).resolve()) if Path(args.model).exists() else args.model
            script = Path(work) / "model.vpy"
            script.write_text(
                "import vapoursynth as vs\n"
                f"vs.core.std.LoadPlugin({str(Path(args.plugin).resolve())!r})\n"
                f"clip = vs.core.std.BlankClip(format={int(fmt)}, width={width}, height={height}, "
                f"length={4 * args.frames})\n"
                f"vs.core.pyn.Model(clip, model={model!r}, device={args.device!r}).set_output()\n")
            fps = []
            for _ in range(args.repeat):
                done = subprocess.run([str(vspipe), str(script), "--"], capture_output=True, text=True,
                                      env=env)
                found = re.search(r"Output (\d+) frames in ([\d.]+) seconds", done.stderr + done.stdout)
                if done.returncode != 0 or not found:
                    raise RuntimeError(f"vspipe: {(done.stderr or done.stdout).strip()[-300:]}")
                fps.append(int(found.group(1)) / float(found.group(2)))
            return statistics.median(fps), (min(fps), max(fps))

    # RGB: the plugin's planar RGB frames (planes copied as they are, no interleave) against the
    # Processor's interleaved ones of the same samples, numpy path.
    rgb = [[rng.integers(0, 256, (height, width), dtype=np.uint8) for _ in range(3)]
           for _ in range(args.check_frames)]
    got = [planes_of(f) for f in core.pyn.Model(clip_of(rgb, vs.RGB24), model=args.model,
                                                 device=args.device).frames()]
    same = 0
    worst = 0
    for planes, frame in zip(got, rgb):
        want = reference(np.stack(frame, axis=-1))
        have = np.stack(planes, axis=-1)
        same += int(np.array_equal(have, want))
        worst = max(worst, int(np.abs(have.astype(np.int32) - want).max()))
    fps, spread = fps_of(vs.RGB24)
    rows["vs_rgb"] = {"fps": fps, "spread": spread, "same": same, "of": len(rgb), "max_diff": worst,
                      "against": "Processor", "end_ms": statistics.median(ends)}
    ends.clear()

    # YUV 4:2:0: raw frames through the CLI against the plugin.
    yuv = [[rng.integers(0, 256, (h, w), dtype=np.uint8)
            for h, w in ((height, width), (height // 2, width // 2), (height // 2, width // 2))]
           for _ in range(args.check_frames)]
    with tempfile.TemporaryDirectory() as work:
        raw_in = Path(work) / "in.yuv"
        raw_out = Path(work) / "out.yuv"
        raw_in.write_bytes(b"".join(p.tobytes() for planes in yuv for p in planes))
        command = [args.bin, "run", "-i", f"raw:{width}x{height}:yuv420p:{raw_in}", "-o",
                   f"raw:{raw_out}", "-m", args.model, "--device", args.device, "--quiet", "-y"]
        if not args.model.startswith("synthetic"):
            command.append("--fp16")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"pynference run of raw YUV failed: {done.stderr.strip()}")
        cli_bytes = raw_out.read_bytes()
    # What the CLI takes untagged raw frames for (BT.709 from 1280 wide or 577 high, else BT.601;
    # limited range), said explicitly: _Matrix 1 or 6, _Range 0 (limited, as API 4.2 numbers it).
    matrix = 1 if width >= 1280 or height > 576 else 6
    model = core.pyn.Model(clip_of(yuv, vs.YUV420P8, {"_Matrix": matrix, "_Range": 0}),
                           model=args.model, device=args.device)
    got = b"".join(p.tobytes() for f in model.frames() for p in planes_of(f))
    per_frame = len(got) // len(yuv) if yuv else 0
    same = sum(got[i * per_frame:(i + 1) * per_frame] == cli_bytes[i * per_frame:(i + 1) * per_frame]
               for i in range(len(yuv)))
    worst = 0
    if len(got) == len(cli_bytes):
        worst = int(np.abs(np.frombuffer(got, np.uint8).astype(np.int32) -
                           np.frombuffer(cli_bytes, np.uint8)).max())
    fps, spread = fps_of(vs.YUV420P8)
    rows["vs_yuv"] = {"fps": fps, "spread": spread, "same": int(same), "of": len(yuv),
                      "max_diff": worst, "against": "CLI", "sizes_match": len(got) == len(cli_bytes),
                      "end_ms": statistics.median(ends)}
    for key, fmt in (("vs_rgb_vspipe", vs.RGB24), ("vs_yuv_vspipe", vs.YUV420P8)):
        try:
            found = vspipe_fps(fmt)
        except RuntimeError as error:
            found = None
            rows.setdefault("vspipe_failures", []).append(str(error))
        if found:
            rows[key] = {"fps": found[0], "spread": found[1], "frames": 4 * args.frames}
    # The slots' default against the earlier one (2 * num_streams), for both formats.
    for key, fmt in (("vs_rgb_4_slots", vs.RGB24), ("vs_yuv_4_slots", vs.YUV420P8)):
        fps, spread = fps_of(fmt, num_slots=4)
        rows[key] = {"fps": fps, "spread": spread}
    if args.diagnose:
        rows["vs_diagnosis"] = vapoursynth_diagnosis(args, core, vs, fps_of, width, height)
    return rows


def vapoursynth_diagnosis(args, core, vs, fps_of, width, height):
    """Where the plugin's frames lose to the bench: the GPU's timeline under clip.frames() for
    both clips, and the RGB rate with other threads, streams and slots."""
    found = {}
    torch = None
    if args.device != "cpu":
        import torch
    for label, fmt in (("rgb", vs.RGB24), ("yuv", vs.YUV420P8)) if torch is not None else ():
        warm = 2 * core.num_threads
        source = core.std.BlankClip(format=fmt, width=width, height=height, length=warm + 120)
        model = core.pyn.Model(source, model=args.model, device=args.device)
        for _ in model[:warm].frames():
            pass

        def frames(model=model, warm=warm):
            for _ in model[warm:warm + 120].frames():
                pass

        found[f"timeline_{label}"] = timeline(torch, frames, 120)
        print_timeline(f"VapourSynth {label}", found[f"timeline_{label}"])
    # VapourSynth alone making frames of the network's output size from the same source, with a
    # CPU pass over each (a point resize: about what the plugin's copy out of the slot costs).
    def point(source):
        return core.resize.Point(source, width * 4, height * 4)

    fps, _ = fps_of(vs.RGB24, make=point)
    found["rgb resize.Point x4, no network"] = fps
    print(f"VapourSynth RGB24 resize.Point to {width * 4}x{height * 4}, no network: {fps:.1f} fps", flush=True)
    threads = core.num_threads
    for options in ({"prefetch": 2 * threads}, {"prefetch": 4 * threads, "num_slots": 2 * threads},
                    {"num_streams": 1}, {"num_streams": 3}, {"num_slots": 8}, {"num_slots": 32},
                    {"threads": 8}, {"threads": 32}):
        options = dict(options)
        core.num_threads = options.pop("threads", threads)
        fps, _ = fps_of(vs.RGB24, **options)
        key = ", ".join(f"{k}={v}" for k, v in options.items()) or f"threads={core.num_threads}"
        found[f"rgb {key}"] = fps
        print(f"VapourSynth RGB24, {key}: {fps:.1f} fps", flush=True)
        core.num_threads = threads
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="the pynference program")
    parser.add_argument("--model", required=True, help="a model as -m takes it (a .pt2 for --size)")
    parser.add_argument("--size", default="960x540")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--frames", type=int, default=300, help="frames per timed run")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per row (median)")
    parser.add_argument("--check-frames", type=int, default=4, help="frames compared per clip")
    parser.add_argument("--plugin", help="libpynference_vs.so (no VapourSynth rows without it)")
    parser.add_argument("--out", required=True, help="folder for python-bench.json and the CLI's")
    parser.add_argument("--commit", default=os.environ.get("PYN_COMMIT", "unknown"))
    parser.add_argument("--diagnose", action="store_true",
                        help="also the GPU's timeline (numpy map, the plugin) and the plugin's RGB rate "
                             "with other streams, slots and threads")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    rng = np.random.default_rng()
    results = {"commit": args.commit, "model": args.model, "size": args.size, "device": args.device,
               "frames": args.frames, "repeat": args.repeat}
    failures = []

    def attempt(name, work):
        try:
            return work()
        except Exception as error:  # a row that fails is reported, the others still run
            failures.append(f"{name}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
            return None

    bench = attempt("bench", lambda: cli_bench(args, args.size))
    if bench:
        bench, card = bench
        results["card"] = card
        results["bench"] = {k: bench[k] for k in ("fps", "bound_fps", "efficiency", "h2d_ms",
                                                  "compute_ms", "d2h_ms", "fps_runs") if k in bench}
    run = attempt("run", lambda: pynference.run(f"synthetic:{width}x{height}:{args.frames}", "null",
                                                args.model, device=args.device, measure=True))
    if run:
        results["run_yuv420"] = {"fps": run.fps, "bound_fps": run.get("bound_fps"),
                                 "efficiency": run.get("efficiency")}

    proc = pynference.Processor(args.model, device=args.device)
    frames = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(8)]
    numpy_row = attempt("map numpy", lambda: map_fps(args, proc, frames))
    if numpy_row:
        fps, spread, copies = numpy_row
        results["map_numpy"] = {"fps": fps, "spread": spread, **copies}

    torch = None
    try:
        import torch
    except ImportError:
        failures.append("map torch: no torch")
    if torch is not None:
        on_gpu = args.device != "cpu"
        place = proc.device if on_gpu else "cpu"
        tensors = [torch.from_numpy(f).to(place) for f in frames]
        sync = torch.cuda.synchronize if on_gpu else None
        torch_row = attempt("map torch", lambda: map_fps(args, proc, tensors, sync))
        if torch_row:
            fps, spread, copies = torch_row
            results["map_torch"] = {"fps": fps, "spread": spread, "tensors_on": place, **copies}
            if on_gpu:
                results["trace_torch"] = attempt("trace torch", lambda: traced_copies(torch, proc, tensors * 3))
                results["trace_numpy"] = attempt("trace numpy", lambda: traced_copies(torch, proc, frames * 3))
            if on_gpu and args.diagnose:
                def mapped():
                    for _ in proc.map(frames * 15):
                        pass
                results["timeline_numpy"] = attempt("timeline numpy", lambda: timeline(torch, mapped, 120))
                print_timeline("Processor.map numpy", results["timeline_numpy"])

    if args.plugin:
        reference = pynference.Processor(args.model, device=args.device)
        rows = attempt("vapoursynth", lambda: vapoursynth_rows(args, width, height, rng, reference))
        if rows:
            results.update(rows)
    else:
        failures.append("vapoursynth: no plugin built")
    results["failures"] = failures
    (Path(args.out) / "python-bench.json").write_text(json.dumps(results, indent=1) + "\n")
    print_table(results)
    return 1 if failures else 0


def print_table(r) -> None:
    bench = r.get("bench", {})
    run = r.get("run_yuv420", {})
    print(f"\n{r.get('card', r['device'])}, commit {r['commit']}: {Path(r['model']).name} at {r['size']}, "
          f"{r['frames']} frames a run, median of {r['repeat']}")
    print(f"{'path':34} {'fps':>8} {'ratio':>7} {'of':12} {'target':>6} {'up/f':>5} {'down/f':>6}  notes")

    def row(name, fps, ratio=None, of="", target=None, up=None, down=None, notes=""):
        ratio_text = f"{ratio:7.3f}" if ratio is not None else " " * 7
        target_text = "" if target is None or ratio is None else ("ok" if ratio >= target else "BELOW") + f" {target}"
        counts = f"{up:5.2f} {down:6.2f}" if up is not None else " " * 12
        fps_text = f"{fps:8.1f}" if fps is not None else "       -"
        print(f"{name:34} {fps_text} {ratio_text} {of:12} {target_text:>6} {counts}  {notes}")

    bench_fps = bench.get("fps")
    if bench:
        row("pynference bench, split-streams", bench_fps, bench.get("efficiency"), "of its bound",
            up=1, down=1, notes=f"bound {bench.get('bound_fps', 0):.1f} fps, compute {bench.get('compute_ms', 0):.3f} ms")
    if run:
        row("pynference run, synthetic yuv420p", run["fps"], run.get("efficiency"), "of its bound")
    numpy_row = r.get("map_numpy")
    if numpy_row:
        row("Processor.map, numpy", numpy_row["fps"], numpy_row["fps"] / bench_fps if bench_fps else None,
            "of bench", 0.95, numpy_row["uploads"], numpy_row["downloads"])
    torch_row = r.get("map_torch")
    if torch_row:
        bound = bench.get("bound_fps")
        compute = 1000.0 / bench["compute_ms"] if bench.get("compute_ms") else None
        trace = r.get("trace_torch")
        plain = r.get("trace_numpy")
        notes = f"compute alone {compute:.1f} fps" if compute else ""
        if trace:
            notes += (f"; trace: HtoD {trace['HtoD']} DtoH {trace['DtoH']} DtoD {trace['DtoD']}, "
                      f"{trace['kernels']} kernels")
        if plain:
            notes += f" (numpy's: HtoD {plain['HtoD']} DtoH {plain['DtoH']})"
        row(f"Processor.map, torch on {torch_row['tensors_on']}", torch_row["fps"],
            torch_row["fps"] / bound if bound else None, "of bound", 0.95, torch_row["uploads"],
            torch_row["downloads"], notes)
    for key, name, reference, against in (("vs_rgb", "VapourSynth RGB24, frames()", bench_fps, "of bench"),
                                          ("vs_yuv", "VapourSynth YUV420P8, frames()", bench_fps, "of bench")):
        vs_row = r.get(key)
        if vs_row:
            notes = (f"{vs_row['same']}/{vs_row['of']} frames == {vs_row['against']}'s"
                     + (f", max diff {vs_row['max_diff']}" if vs_row["same"] != vs_row["of"] else ""))
            if key == "vs_yuv" and run:
                notes += f"; {vs_row['fps'] / run['fps']:.3f} of run yuv420p"
            if "end_ms" in vs_row:
                notes += f"; to the last frame (frames()' end, its gc.collect: {vs_row['end_ms']:.0f} ms more)"
            row(name, vs_row["fps"], vs_row["fps"] / reference if reference else None, against, 0.9,
                notes=notes)
    for key, name in (("vs_rgb_vspipe", "VapourSynth RGB24, vspipe"), ("vs_yuv_vspipe", "VapourSynth YUV420P8, vspipe")):
        vs_row = r.get(key)
        if vs_row:
            row(name, vs_row["fps"], vs_row["fps"] / bench_fps if bench_fps else None, "of bench", 0.9,
                notes=f"{vs_row['frames']} frames, the rate vspipe reports")
    for failure in r.get("vspipe_failures", []):
        print(f"vspipe: {failure}")
    for key, name in (("vs_rgb_4_slots", "VapourSynth RGB24, num_slots=4"),
                      ("vs_yuv_4_slots", "VapourSynth YUV420P8, num_slots=4")):
        vs_row = r.get(key)
        if vs_row:
            row(name, vs_row["fps"], vs_row["fps"] / bench_fps if bench_fps else None, "of bench",
                notes="the earlier default (2 * num_streams)")
    for failure in r.get("failures", []):
        print(f"not measured: {failure}")


if __name__ == "__main__":
    sys.exit(main())
