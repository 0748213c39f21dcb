"""pynference: image-to-image networks over frames, on one device, from Python.

``Processor`` runs a network over frames (height x width x 3, uint8 or uint16, RGB): numpy arrays,
or torch tensors (and other DLPack or ``__cuda_array_interface__`` arrays) that on the device are
read where they lie and answered with tensors on the device; one at a time (``proc(frame)``) or
streamed with several in flight (``proc.map(frames)``). ``run`` is the ``pynference run`` command
as a function. docs/python.md describes the API.
"""

from __future__ import annotations

import contextlib
import re
import sys
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


_KDL_CPU = 1
_KDL_CUDA = 2


class _Put:
    """One frame ready to be put: what ``_core.Processor.put`` takes, what it keeps alive until
    its output is taken, and how to make the caller's result of what ``take`` gives."""

    __slots__ = ("frame", "lend", "out", "joined", "sync", "device", "result")

    def __init__(self, frame, lend=False, out=None, joined=False, sync=None, device=None,
                 result=None):
        self.frame = frame  # or a function that makes it, called for each put
        self.lend = lend
        self.out = out
        self.joined = joined
        self.sync = sync  # called before each put: makes the join stream wait for the caller's
        self.device = device  # a context that makes the frame's GPU current (torch exports only so)
        self.result = result  # (what take gave) -> the caller's result

    def put(self, core: Any, wait: bool) -> int:
        with self.device if self.device is not None else contextlib.nullcontext():
            if self.sync is not None:
                self.sync()
            frame = self.frame() if callable(self.frame) else self.frame
            return core.put(frame, wait, self.lend, self.out, self.joined)

    def finish(self, taken: Any) -> Any:
        return self.result(taken) if self.result is not None else taken


class Processor:
    """A network on one device, over numpy frames or torch tensors.

    model: a model file as ``pynference run -m`` takes it (TorchScript .pt, AOTInductor .pt2, a
    state dict, .onnx) or ``"synthetic[:xSCALE[:MS]]"``. device: ``"cuda"``, ``"cuda:N"``,
    ``"cpu"`` (the host backend) or ``"auto"``. dtype: ``"fp32"``, ``"fp16"``, ``"bf16"`` or None
    (the model's default). strategy: the schedule whose host memory, lanes and frames in flight
    are used (``split-streams`` by default); lanes and slots override the last two.

    A torch tensor on the Processor's device (on ``"cpu"``, a CPU tensor) is read where it lies
    once the caller's current stream has reached the call, and its result is a new tensor there,
    written by the Processor (no upload, download or copy); other tensors go as numpy arrays do.
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
        self._out_shapes: dict[tuple, tuple[int, int]] = {}
        self._join = None  # the join stream as torch sees it, made when first used

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

    @property
    def stats(self) -> dict[str, int]:
        """``frames`` submitted, ``uploads`` and ``downloads``: frames copied host to device and
        back (a lent frame is not uploaded; a result written into a lent tensor is not
        downloaded)."""
        return self._core.stats

    def __call__(self, frame: Any, out: Any = None) -> Any:
        """The network's output for one frame: a new array (numpy in, numpy out; torch in, torch
        out). ``out``: for a frame read where it lies, the array to write the output into (of the
        output's shape and the frame's dtype, contiguous, where the frame is); returned."""
        core = self._core
        item = self._prepare(frame, out)
        return item.finish(core.take(item.put(core, True)))

    def map(self, frames: Iterable[Any]) -> Iterator[Any]:
        """The outputs of ``frames``, in their order, with up to ``slots`` frames in flight."""
        core = self._core
        pending: deque[tuple[int, _Put]] = deque()
        last: Any = None

        def oldest() -> Any:
            ticket, item = pending.popleft()
            return item.finish(core.take(ticket))

        try:
            for frame in frames:
                key = self._key(frame)
                if key != last:  # a new format: the Processor is remade once these are out
                    while pending:
                        yield oldest()
                    last = key
                item = self._prepare(frame, None)
                while (ticket := item.put(core, not pending)) < 0:
                    yield oldest()
                pending.append((ticket, item))
            while pending:
                yield oldest()
        finally:
            for ticket, _ in pending:  # abandoned (an error, or the caller stopped iterating)
                try:
                    core.take(ticket)
                except Error:
                    pass

    # --- frames of each kind ---------------------------------------------------------------------

    @staticmethod
    def _key(frame: Any) -> Any:
        """Equal for frames of one format. An array that tells no shape is a format of its own
        (map waits for the frames in flight first): a frame of a new format may have to wait for
        the Processor to be remade, and in map that waits for map's own frames."""
        shape = getattr(frame, "shape", None)
        if shape is None:
            return object()
        return (type(frame), tuple(shape), str(getattr(frame, "dtype", "")))

    def _prepare(self, frame: Any, out: Any) -> _Put:
        torch = sys.modules.get("torch")
        if isinstance(frame, np.ndarray):
            if out is not None:
                raise UsageError("out is taken with a frame read where it lies (a tensor on the "
                                 f"Processor's device {self.device}), not with a numpy array")
            return _Put(np.ascontiguousarray(frame))
        if torch is not None and isinstance(frame, torch.Tensor):
            return self._prepare_torch(torch, frame.detach(), out)
        if hasattr(frame, "__dlpack__") and hasattr(frame, "__dlpack_device__"):
            kind, _ = frame.__dlpack_device__()
            if kind == _KDL_CUDA:
                return self._prepare_dlpack(frame, out)
            return self._prepare(np.from_dlpack(frame), out)
        if hasattr(frame, "__cuda_array_interface__"):
            return self._prepare_cuda_array(frame, out)
        return self._prepare(np.asarray(frame), out)

    def _out_shape(self, frame: Any) -> tuple[int, int]:
        key = (tuple(frame.shape), str(frame.dtype))
        shape = self._out_shapes.get(key)
        if shape is None:
            shape = self._out_shapes[key] = tuple(self._core.prepare(frame))
        return shape

    def _join_stream(self, torch: Any, device: Any) -> Any:
        if self._join is None:
            self._join = torch.cuda.ExternalStream(self._core.join_stream, device=device)
        return self._join

    def _prepare_torch(self, torch: Any, frame: Any, out: Any) -> _Put:
        here = self.device
        if frame.device.type == "cpu" and here != "cpu":
            # On a GPU a host tensor is uploaded as a numpy array is.
            if out is not None:
                raise UsageError(f"out is taken with a frame on the Processor's device {here}, "
                                 "got a frame on cpu")
            item = self._prepare(frame.numpy(), None)
            item.result = torch.from_numpy
            return item
        if frame.device.type == "cpu":  # the host backend's device memory is host memory
            if out is None:
                height, width = self._out_shape(frame)
                out = torch.empty((height, width, 3), dtype=frame.dtype)
            return _Put(frame, lend=True, out=out, result=lambda _, out=out: out)
        if frame.device.type != "cuda" or here != f"cuda:{frame.device.index}":
            raise UsageError(f"a frame on {frame.device} is not on the Processor's device {here}")
        with torch.cuda.device(frame.device):
            if out is None:
                height, width = self._out_shape(frame)
                # Made on the caller's stream before the join waits for it: whatever that
                # memory held before is done with when the Processor writes it.
                out = torch.empty((height, width, 3), dtype=frame.dtype, device=frame.device)
            join = self._join_stream(torch, frame.device)
            current = torch.cuda.current_stream(frame.device)
        return _Put(frame, lend=True, out=out, joined=True, sync=lambda: join.wait_stream(current),
                    device=torch.cuda.device(frame.device), result=lambda _, out=out: out)

    def _prepare_dlpack(self, frame: Any, out: Any) -> _Put:
        """A CUDA array of another library: exported with the join stream as DLPack's consumer
        stream, so that its producer makes the join stream wait for its work."""
        if out is None:
            torch = sys.modules.get("torch")
            if torch is None:
                import torch  # the output is a torch tensor unless out is given
            return self._prepare_torch(torch, torch.from_dlpack(frame), None)
        join = self._core.join_stream
        if join is None:
            raise UsageError(f"a frame on the GPU is not on the Processor's device {self.device}")
        return _Put(lambda: frame.__dlpack__(stream=join), lend=True, out=out,
                    joined=True, result=lambda _, out=out: out)

    def _prepare_cuda_array(self, frame: Any, out: Any) -> _Put:
        """An array that only offers __cuda_array_interface__: seen through torch, which reads it
        where it lies, after the stream the interface names."""
        import torch

        interface = frame.__cuda_array_interface__
        tensor = torch.as_tensor(frame)  # on the device it lies on
        stream = interface.get("stream")
        if stream is not None and self._core.join_stream is not None:
            producer = (torch.cuda.default_stream(tensor.device) if stream == 1 else
                        torch.cuda.ExternalStream(stream, device=tensor.device))
            with torch.cuda.stream(producer):
                return self._prepare_torch(torch, tensor, out)
        return self._prepare_torch(torch, tensor, out)

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
