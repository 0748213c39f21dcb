"""Videos cut at their key frames into segments, each run as a Ray task, joined again.

``run(input, output, model, segments=N)`` equals ``pynference.run(input, output, model)`` frame
for frame where the encoder is lossless (docs/distributed.md says what differs with lossy ones):
each segment is decoded from its key frame, its frames in [start, end) run through the network and
encoded (video only) by a task of its own, one per GPU (``num_gpus=1``; none with
``device="cpu"``); a task whose worker dies is run again (``max_retries``); the segments' video is
joined without re-encoding and the input's audio and subtitles are copied once. The output is
written under a temporary name beside it and renamed at the end: a run that fails or is killed
leaves no file at the output path. A folder of inputs gives a folder of outputs.

``python -m pynference.distributed IN OUT -m MODEL --segments N [--address A] [run options]``
is the same from a shell.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from . import _core
from . import run as _run_one
from ._core import DeviceUnavailable, Error, UsageError

__all__ = ["plan", "run", "main", "Segment"]

# Test hooks (tests/python/test_distributed.py): a folder where each task notes its pid
# ("pid-<input>-<segment>"), and where "crash-<input>-<segment>" makes that segment's first try end
# its worker process.
_FAULTS = "PYN_DISTRIBUTED_FAULTS"

Progress = Callable[[int, Optional[int], int, int], Any]


@dataclass(frozen=True)
class Segment:
    """[start_s, end_s) on the input's timeline, as -ss and -to take them; the last has no end."""

    start_s: float
    end_s: Optional[float]


def plan(input: str, segments: Optional[int] = None, every: Optional[float] = None) -> list[Segment]:
    """The segments ``input`` is cut into: ``segments`` of them at the key frames nearest even
    parts, or one at the first key frame after every ``every`` seconds; fewer where there are
    fewer key frames."""
    if segments is None and every is None:
        raise UsageError("give segments (a count) or every (seconds)")
    if every is not None and not every > 0:
        raise UsageError(f"every must be a time above 0 s, not {every}")
    if segments is not None and segments < 1:
        raise UsageError(f"segments must be 1 or more, not {segments}")
    return [Segment(s, e) for s, e in _core.plan(str(input), segments or 1, every or 0.0)]


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError("pynference.distributed needs Ray: pip install ray "
                         "(scripts/install-deps.sh installs the pinned one)") from None
    return ray


def _segment_task(input: str, model: str, start: float, end: Optional[float], options: dict,
                  progress: Any, key: tuple[int, int], ext: str) -> bytes:
    """One segment of one input: run through the network into a video-only file, returned as its
    bytes (the driver, on another node maybe, joins them)."""
    faults = os.environ.get(_FAULTS)
    name = f"{key[0]}-{key[1]}"
    if faults:
        with open(os.path.join(faults, f"pid-{name}"), "w") as f:
            f.write(str(os.getpid()))
        crash = os.path.join(faults, f"crash-{name}")
        if os.path.exists(crash):
            os.rename(crash, crash + ".done")
            os._exit(1)  # the worker dies: Ray runs the task again
    work = tempfile.mkdtemp(prefix="pyn-segment-")
    try:
        part = os.path.join(work, "segment" + ext)
        window = {"ss": repr(start)}
        if end is not None:
            window["to"] = repr(end)
        last = [0.0]

        def tell(frames: int, _total: Optional[int]) -> None:
            now = time.monotonic()
            if progress is not None and (now - last[0] > 0.25):
                last[0] = now
                progress.update.remote(key, frames)

        done = _run_one(input, part, model, progress=tell, no_audio=True, y=True, **window,
                        **options)
        if progress is not None:  # counted before the task is seen done
            _ray().get(progress.update.remote(key, int(done["frames"])))
        with open(part, "rb") as f:
            data = f.read()
        return data
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _Progress:
    """Frames written per segment, as the tasks tell them: one line for all of them."""

    def __init__(self) -> None:
        self.frames: dict[tuple[int, int], int] = {}

    def update(self, key: tuple[int, int], frames: int) -> None:
        self.frames[key] = max(frames, 0)

    def total(self) -> int:
        return sum(self.frames.values())


@dataclass
class _Job:
    index: int
    input: str
    output: str
    segments: list[Segment]
    frames: int
    refs: list = None  # type: ignore[assignment]


def _outputs_of(input: str, output: str, overwrite: bool) -> list[tuple[str, str]]:
    """(input, output) pairs: one file, or each file of a folder into a folder."""
    if os.path.isdir(input):
        if os.path.exists(output) and not os.path.isdir(output):
            raise UsageError(f"{input} is a folder: the output {output} must be a folder too")
        names = sorted(n for n in os.listdir(input)
                       if not n.startswith(".") and os.path.isfile(os.path.join(input, n)))
        if not names:
            raise UsageError(f"{input} holds no files")
        os.makedirs(output, exist_ok=True)
        pairs = [(os.path.join(input, n), os.path.join(output, n)) for n in names]
    else:
        if not os.path.exists(input):
            raise UsageError(f"cannot open {input}: No such file or directory")
        if os.path.isdir(output):
            output = os.path.join(output, os.path.basename(input))
        pairs = [(input, output)]
    for _, out in pairs:
        if os.path.exists(out) and not overwrite:
            raise UsageError(f"{out} exists: add -y to overwrite it")
    return pairs


def _one_line(error: BaseException) -> str:
    """A Ray error's cause as one line."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        error = cause
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__


def run(
    input: str,
    output: str,
    model: str,
    *,
    segments: Optional[int] = None,
    every: Optional[float] = None,
    address: Optional[str] = None,
    device: str = "cuda",
    gpus_per_task: float = 1.0,
    max_retries: int = 3,
    y: bool = False,
    progress: Optional[Progress] = None,
    quiet: bool = True,
    **options: Any,
) -> dict[str, Any]:
    """``input`` (a file, or a folder of them) through ``model`` into ``output`` (a file, or a
    folder), each cut into segments run as Ray tasks. address: a Ray cluster's (``"auto"``,
    ``"ray://host:10001"``, ``"host:6379"``); None starts a local cluster unless Ray is already
    initialised. device: ``"cuda"`` (a GPU per task; gpus_per_task=0.5 runs two tasks on a GPU
    at a time, for encoders that one task cannot keep busy) or ``"cpu"`` (the host backend). Other
    keywords are ``pynference.run``'s (``encoder``, ``crf``, ``strategy``, ``dtype``, ...).
    progress(frames_done, frames_total_or_None, segments_done, segments_total) is called a few
    times a second; quiet=False prints one line for it on stderr. Returns frames, segments,
    wall_s and fps."""
    for name in ("ss", "t", "to", "no_audio", "map", "audio_codec", "audio_bitrate"):
        if options.get(name) not in (None, False):
            raise UsageError(f"{name} is not taken by pynference.distributed (segments cover the "
                             "whole input; the audio is copied as it is)")
    if segments is None and every is None:
        segments = 1
    if not 0 < gpus_per_task <= 1 and not (gpus_per_task > 1 and gpus_per_task == int(gpus_per_task)):
        raise UsageError(f"gpus_per_task must be in (0, 1] or a whole number, not {gpus_per_task}")
    if max_retries < 0:
        raise UsageError(f"max_retries must be 0 or more, not {max_retries}")
    pairs = _outputs_of(str(input), str(output), y)
    gpu = device != "cpu"
    task_device = "cpu" if not gpu else ("cuda" if device in ("auto", "cuda") or
                                         device.startswith("cuda") else device)
    jobs = []
    for index, (source, target) in enumerate(pairs):
        cuts = plan(source, segments, every)
        frames = int(_core.keyframes(source)["packets"])
        jobs.append(_Job(index, source, target, cuts, frames))

    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR")
    if gpu and ray.cluster_resources().get("GPU", 0) < gpus_per_task:
        # Tasks that ask for a GPU the cluster does not have would wait for ever.
        raise DeviceUnavailable("the Ray cluster has no GPU (device=\"cpu\" runs the segments on "
                                "the host backend)")
    task = ray.remote(_segment_task).options(
        num_gpus=gpus_per_task if gpu else 0, num_cpus=1, max_retries=max_retries, retry_exceptions=False)
    tracker = ray.remote(_Progress).options(num_cpus=0).remote()
    model = str(model)
    started = time.monotonic()
    run_options = dict(options, device=task_device)
    for job in jobs:
        ext = os.path.splitext(job.output)[1] or ".mkv"
        job.refs = [task.remote(job.input, model, s.start_s, s.end_s, run_options, tracker,
                                (job.index, k), ext) for k, s in enumerate(job.segments)]
    total_frames = sum(j.frames for j in jobs)
    total_segments = sum(len(j.segments) for j in jobs)
    every_ref = [r for j in jobs for r in j.refs]

    def tell(done_segments: int) -> None:
        frames = ray.get(tracker.total.remote())
        if progress is not None:
            progress(frames, total_frames or None, done_segments, total_segments)
        if not quiet:
            sys.stderr.write(f"\rpynference.distributed: {frames}/{total_frames} frames, "
                             f"{done_segments}/{total_segments} segments")
            sys.stderr.flush()

    try:
        pending = list(every_ref)
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=0.5)
            ray.get(ready)  # a segment that failed for good fails the run now
            tell(total_segments - len(pending))
        written = 0
        for job in jobs:
            written += _join(job, ray.get(job.refs))
    except ray.exceptions.RayError as e:
        for ref in every_ref:
            ray.cancel(ref, force=True)
        cause = getattr(e, "cause", None)
        if isinstance(cause, Error):  # the run's own error: the same on every try
            raise type(cause)(_one_line(cause)) from None
        raise Error(f"a segment failed after {max_retries} retries: {_one_line(e)}") from None
    finally:
        if not quiet:
            sys.stderr.write("\n")
        ray.kill(tracker)
    wall = time.monotonic() - started
    return {"frames": written, "segments": total_segments, "wall_s": wall,
            "fps": written / wall if wall > 0 else 0.0}


def _join(job: _Job, parts: Sequence[bytes]) -> int:
    """The segments' video joined into job.output, by way of a hidden folder beside it; the
    output appears at once, complete, when it is renamed into place."""
    folder = os.path.dirname(os.path.abspath(job.output))
    name = os.path.basename(job.output)
    work = tempfile.mkdtemp(prefix=f".{name}.pyn-", dir=folder)
    try:
        ext = os.path.splitext(job.output)[1] or ".mkv"
        files = []
        for k, data in enumerate(parts):
            path = os.path.join(work, f"segment{k:05d}{ext}")
            with open(path, "wb") as f:
                f.write(data)
            files.append(path)
        joined = os.path.join(work, name)
        frames = _core.join(job.input, files, [s.start_s for s in job.segments], joined, True)
        os.replace(joined, job.output)
        return int(frames)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- the command line ---------------------------------------------------------------------------

_USAGE = """python -m pynference.distributed IN OUT -m MODEL [--segments N | --every T] [options]
       [run options]

IN cut at its key frames into segments, each run through MODEL as a Ray task (one per GPU; with
--device cpu, one per CPU), joined into OUT without re-encoding, with IN's audio and subtitles
copied once. IN and OUT may be folders (each file of IN into OUT). Any other option is a
`pynference run` option (--encoder, --crf, --pix-fmt, --strategy, --dtype ...), given to each
segment's run; -ss/-t/-to and the audio options are not taken."""


def _options_of(rest: list[str]) -> dict[str, Any]:
    """`--name value` and `--flag` (run's options) as keywords."""
    options: dict[str, Any] = {}
    i = 0
    while i < len(rest):
        arg = rest[i]
        if not arg.startswith("--") or len(arg) < 3:
            raise UsageError(f"unexpected argument '{arg}' (run options are --name VALUE)")
        name, eq, value = arg[2:].partition("=")
        key = name.replace("-", "_")
        if eq:
            options[key] = value
        elif i + 1 < len(rest) and not rest[i + 1].startswith("--"):
            options[key] = rest[i + 1]
            i += 1
        else:
            options[key] = True
        i += 1
    return options


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pynference.distributed", usage=_USAGE,
                                     add_help=True)
    parser.add_argument("input", help="a video, or a folder of them")
    parser.add_argument("output", help="the output video, or a folder")
    parser.add_argument("-m", "--model", required=True, help="as pynference run -m takes it")
    parser.add_argument("--segments", type=int, help="segments per input (default 1)")
    parser.add_argument("--every", type=float, help="a segment every T seconds instead")
    parser.add_argument("--address", help="a Ray cluster's address (default: a local cluster)")
    parser.add_argument("--device", default="cuda", help="cuda (a GPU per task) or cpu")
    parser.add_argument("--gpus-per-task", type=float, default=1.0,
                        help="GPUs a task asks for (0.5: two tasks on a GPU at a time; default 1)")
    parser.add_argument("--max-retries", type=int, default=3,
                        help="runs of a task again after its worker died (default 3)")
    parser.add_argument("-y", action="store_true", help="overwrite outputs that exist")
    parser.add_argument("--quiet", action="store_true", help="no progress line")

    def fail(message: str) -> None:
        raise UsageError(message)

    parser.error = fail  # type: ignore[method-assign]
    try:
        args, rest = parser.parse_known_args(argv)
        options = _options_of(rest)
        result = run(args.input, args.output, args.model, segments=args.segments,
                     every=args.every, address=args.address, device=args.device,
                     gpus_per_task=args.gpus_per_task, max_retries=args.max_retries, y=args.y, quiet=args.quiet, **options)
    except UsageError as e:
        print(f"pynference.distributed: {e}", file=sys.stderr)
        return 2
    except DeviceUnavailable as e:
        print(f"pynference.distributed: {e}", file=sys.stderr)
        return 3
    except Error as e:
        print(f"pynference.distributed: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    if not args.quiet:
        print(f"pynference.distributed: {result['frames']} frames in {result['segments']} "
              f"segments, {result['wall_s']:.1f} s, {result['fps']:.1f} fps", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
