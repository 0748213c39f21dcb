"""pynference: image-to-image networks over frames, on one device, from Python.

``Processor`` runs a network over numpy frames (height x width x 3, uint8 or uint16, RGB), one at a
time (``proc(frame)``) or streamed with several in flight (``proc.map(frames)``). ``run`` is the
``pynference run`` command as a function. docs/python.md describes the API.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any, Callable, Iterable, Iterator, Optional

import numpy as np

from . import _core
from ._core import DeviceError, DeviceUnavailable, Error, OutOfMemory, UsageError

__all__ = [
    "Processor",
    "run",
    "RunResult",
    "Error",
    "UsageError",
    "DeviceUnavailable",
    "DeviceError",
    "OutOfMemory",
]

Progress = Callable[[int, Optional[int]], Any]


class Processor:
    """A network on one device, over numpy frames.

    model: a model file as ``pynference run -m`` takes it (TorchScript .pt, AOTInductor .pt2, a
    state dict, .onnx) or ``"synthetic[:xSCALE[:MS]]"``. device: ``"cuda"``, ``"cuda:N"``,
    ``"cpu"`` (the host backend) or ``"auto"``. dtype: ``"fp32"``, ``"fp16"``, ``"bf16"`` or None
    (the model's default). strategy: the schedule whose host memory, lanes and frames in flight
    are used (``split-streams`` by default); lanes and slots override the last two.
    """

    def __init__(
        self,
        model: str,
        device: str = "cuda",
        dtype: Optional[str] = None,
        strategy: str = "split-streams",
        lanes: Optional[int] = None,
        slots: Optional[int] = None,
    ) -> None:
        self._core = _core.Processor(str(model), device, dtype, strategy, lanes, slots)

    @property
    def device(self) -> str:
        """The device it runs on: ``"cpu"`` or ``"cuda:N"``."""
        return self._core.device

    @property
    def engine(self) -> Optional[str]:
        """The engine's name; None before the first frame for a model compiled for its size."""
        return self._core.engine

    @property
    def lanes(self) -> int:
        """Compute streams."""
        return self._core.lanes

    @property
    def slots(self) -> int:
        """Frames in flight at most."""
        return self._core.slots

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """The network's output for one frame, as a new array."""
        core = self._core
        return core.take(core.put(np.ascontiguousarray(frame), True))

    def map(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """The outputs of ``frames``, in their order, with up to ``slots`` frames in flight."""
        core = self._core
        pending: deque[int] = deque()
        last: Optional[tuple[Any, Any]] = None
        try:
            for frame in frames:
                frame = np.ascontiguousarray(frame)
                key = (frame.shape, frame.dtype)
                if key != last:  # a new format: the Processor is remade once these are out
                    while pending:
                        yield core.take(pending.popleft())
                    last = key
                while (ticket := core.put(frame, not pending)) < 0:
                    yield core.take(pending.popleft())
                pending.append(ticket)
            while pending:
                yield core.take(pending.popleft())
        finally:
            for ticket in pending:  # abandoned (an error, or the caller stopped iterating)
                try:
                    core.take(ticket)
                except Error:
                    pass

    def close(self) -> None:
        """Waits for the frames in flight and frees the device buffers (the engine stays)."""
        self._core.close()

    def __enter__(self) -> "Processor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"pynference.Processor(engine={self.engine!r}, device={self.device!r}, "
            f"lanes={self.lanes}, slots={self.slots})"
        )


class RunResult(dict):
    """What ``run`` did: frames, wall_s, fps, first_frame_ms, interrupted (and, with measure=True,
    bound_fps and efficiency). A dict whose keys are also attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


_FLAG = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")
_SHORT = re.compile(r"(?<![\w-])-(ss|to|t|y|map|f|i|o|m)(?![\w-])")
_SHORT_WORDS = {"y": "y=True", "f": "format", "i": "input", "o": "output", "m": "model"}


def _keyword_words(message: str) -> str:
    """The CLI's flags in a message as run's arguments: --pix-fmt -> pix_fmt, -y -> y=True."""
    message = _FLAG.sub(lambda m: m.group(1).replace("-", "_"), message)
    return _SHORT.sub(lambda m: _SHORT_WORDS.get(m.group(1), m.group(1)), message)


def _argv(input: str, output: str, model: str, options: dict) -> list[str]:
    argv = ["--input", str(input), "--output", str(output), "--model", str(model)]
    for name, value in options.items():
        if name in ("input", "output", "model", "help"):
            raise TypeError(f"run() got an unexpected keyword argument '{name}'")
        flag = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            argv.append(flag)
        elif isinstance(value, (list, tuple)):
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    return argv


def run(
    input: str,
    output: str,
    model: str,
    *,
    progress: Optional[Progress] = None,
    quiet: bool = True,
    **options: Any,
) -> RunResult:
    """``pynference run -i input -o output -m model`` with the CLI's options as keywords.

    Each option of ``pynference run --help`` is a keyword, dashes as underscores: ``strategy``,
    ``device``, ``ss``, ``t``, ``to``, ``pix_fmt``, ``crf``, ``no_audio=True``, ``map=["a:0"]``,
    ``y=True`` (overwrite) ... A flag is given with True; None or False leaves an option out.
    progress(frames_written, total_or_None) is called on this thread a few times a second and
    at the end. quiet=False prints the CLI's lines on stderr. Ctrl-C, or an exception in progress,
    stops the run after the frames in flight (the output holds the frames written) and is raised.
    Errors are raised with the CLI's one line, its flags named as keywords.
    """
    if quiet:
        options["quiet"] = True
    argv = _argv(input, output, model, options)
    try:
        result = _core.run(argv, progress)
    except Error as e:
        raise type(e)(_keyword_words(str(e))) from None
    return RunResult(result)
