"""What the Python baselines share: options, the model, frames, pre/post, timing, the JSON line.

The baselines are the study's workload written as a PyTorch user would write it in Python: frames
arrive as pageable uint8 HWC arrays (as a decoder hands them over) and leave the same way; the
network, pre- and post-processing run on the GPU. Each script prints one JSON line.

Models (--model):
  compact-x4, compact-x2, exact-x2   the demo networks of tools/make_demo_models.py, built here in
                                     eager mode (what a Python user holds), weights from the same seed
  PATH.pt / PATH.ts                  TorchScript
  PATH.pt2                           an AOTInductor package (compiled for this GPU, its dtype fixed)
  PATH.pth / PATH.safetensors        a state dict, architecture by spandrel (pip install spandrel)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import torch

ROOT = Path(__file__).resolve().parents[2]
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def parse_args(strategy: str, add: Callable[[argparse.ArgumentParser], None] | None = None,
               argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=f"Python baseline: {strategy}")
    parser.add_argument("--model", default="compact-x4", help="demo name or model file (default compact-x4)")
    parser.add_argument("--size", default="960x540", help="input frame WxH (default 960x540)")
    parser.add_argument("--frames", type=int, default=200, help="frames to run (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="first frames left out of fps (default 10)")
    dtype = parser.add_mutually_exclusive_group()
    for name in DTYPES:
        dtype.add_argument(f"--{name}", dest="dtype", action="store_const", const=name)
    parser.set_defaults(dtype="fp16")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                        help="NHWC weights and input for eager/TorchScript models (default on, as the engine)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the eager model")
    parser.add_argument("--staging", action=argparse.BooleanOptionalAction, default=True,
                        help="pinned strategies: copy each frame between the user's pageable arrays and "
                             "the pinned buffers (a decoder's output is pageable; default on)")
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (cpu: a slow correctness run)")
    parser.add_argument("--checksum", action="store_true", help="add a checksum of all output frames")
    if add is not None:
        add(parser)
    args = parser.parse_args(argv)
    width, _, height = args.size.partition("x")
    args.width, args.height = int(width), int(height)
    args.warmup = min(args.warmup, max(args.frames - 1, 0))
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("no CUDA device here: use --device cpu")
    args.torch_device = torch.device(args.device)
    if args.torch_device.type == "cuda" and args.torch_device.index is None:
        args.torch_device = torch.device("cuda", torch.cuda.current_device())
    args.torch_dtype = DTYPES[args.dtype]
    args.strategy = strategy
    return args


# --- the model -----------------------------------------------------------------------------------

def load_model(args: argparse.Namespace) -> Callable[[torch.Tensor], torch.Tensor]:
    device, dtype = args.torch_device, args.torch_dtype
    path = Path(args.model)
    if path.suffix == ".pt2":
        if device.type == "cpu" and dtype != torch.float32:
            raise SystemExit("a CPU run computes in fp32: use --fp32 with a CPU .pt2")
        package = torch._inductor.aoti_load_package(str(path))
        args.channels_last = False  # a package takes the strides it was exported with: contiguous NCHW
        return lambda x: package(x)
    if path.suffix in (".pt", ".ts"):
        net = torch.jit.load(str(path), map_location=device)
    elif path.suffix in (".pth", ".safetensors", ".ckpt"):
        import spandrel  # noqa: PLC0415 — only this path needs it

        net = spandrel.ModelLoader().load_from_file(str(path)).model
    else:
        sys.path.insert(0, str(ROOT / "tools"))
        import make_demo_models  # noqa: PLC0415

        if args.model not in make_demo_models.MODELS:
            raise SystemExit(f"unknown model {args.model!r}: a demo name ({', '.join(make_demo_models.MODELS)}) or a file")
        net = make_demo_models.MODELS[args.model]()
    net = net.eval().to(device, dtype)
    if args.channels_last:
        net = net.to(memory_format=torch.channels_last)
    if args.compile:
        # dynamic=None is torch.compile's default: shapes specialised, as long as they do not change.
        net = torch.compile(net, dynamic=getattr(args, "dynamic", None))
    return net


# --- frames --------------------------------------------------------------------------------------

class Frames:
    """A decoder's output: pageable uint8 HWC frames, a few distinct ones cycled (decoding is free)."""

    def __init__(self, args: argparse.Namespace, distinct: int = 4) -> None:
        generator = torch.Generator().manual_seed(1)
        self.pool = [torch.randint(0, 256, (args.height, args.width, 3), dtype=torch.uint8, generator=generator)
                     for _ in range(distinct)]
        self.count = args.frames

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.pool[index % len(self.pool)]


def pre(frame: torch.Tensor, args: argparse.Namespace) -> torch.Tensor:
    """uint8 HWC on the device -> 1x3xHxW in [0, 1] in the run's dtype."""
    x = frame.permute(2, 0, 1).unsqueeze(0).to(args.torch_dtype).div_(255.0)
    # .to() kept the permuted (NHWC) strides; a .pt2 package needs contiguous NCHW.
    return x.contiguous(memory_format=torch.channels_last if args.channels_last else torch.contiguous_format)


def post(y: torch.Tensor) -> torch.Tensor:
    """1x3xHxW -> uint8 HWC, clamped and rounded."""
    return y.clamp(0.0, 1.0).mul_(255.0).round_().to(torch.uint8).squeeze(0).permute(1, 2, 0).contiguous()


def output_shape(model: Callable[[torch.Tensor], torch.Tensor], args: argparse.Namespace) -> tuple[int, int, int]:
    """Run once on a frame of the run's size: the output frame's (H, W, 3), and a warm model."""
    with torch.inference_mode():
        frame = torch.zeros(args.height, args.width, 3, dtype=torch.uint8, device=args.torch_device)
        y = post(model(pre(frame, args)))
    sync(args)
    return tuple(y.shape)  # type: ignore[return-value]


# --- CUDA where there is one, plain calls on the CPU -----------------------------------------------

def cuda(args: argparse.Namespace) -> bool:
    return args.torch_device.type == "cuda"


def new_stream(args: argparse.Namespace) -> Any:
    return torch.cuda.Stream(device=args.torch_device) if cuda(args) else None


def use_stream(stream: Any) -> contextlib.AbstractContextManager:
    return torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()


class Event:
    """torch.cuda.Event, or nothing to wait for on the CPU."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.event = torch.cuda.Event() if cuda(args) else None

    def record(self, stream: Any) -> None:
        if self.event is not None:
            self.event.record(stream)

    def wait(self, stream: Any) -> None:
        if self.event is not None:
            stream.wait_event(self.event)

    def synchronize(self) -> None:
        if self.event is not None:
            self.event.synchronize()


def host_buffer(shape: tuple[int, ...], args: argparse.Namespace) -> torch.Tensor:
    """Pinned where there is a GPU (pinning needs one)."""
    return torch.empty(shape, dtype=torch.uint8, pin_memory=cuda(args))


def sync(args: argparse.Namespace) -> None:
    if cuda(args):
        torch.cuda.synchronize(args.torch_device)


# --- the sink, timing and the report -------------------------------------------------------------

class Sink:
    """Takes frames in order; starts the clock at frame `warmup`, keeps an optional checksum."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.next = 0
        self.start = time.perf_counter()
        self.checksum = 0
        self.lock = threading.Lock()

    def write(self, frame: torch.Tensor, index: int) -> None:
        with self.lock:
            if index != self.next:
                raise RuntimeError(f"frame {index} arrived where {self.next} was due")
            if self.args.checksum:
                values = frame.reshape(-1).to(torch.int64)
                self.checksum = (self.checksum * 1_000_003 + int(values.sum()) +
                                 int(values[::97].sum()) * 31) % (1 << 61)
            self.next += 1
            if self.next == self.args.warmup:
                self.start = time.perf_counter()

    def report(self, out_shape: tuple[int, int, int], **config: Any) -> None:
        elapsed = time.perf_counter() - self.start
        timed = self.next - self.args.warmup
        fps = timed / elapsed if elapsed > 0 and timed > 0 else 0.0
        args = self.args
        device = torch.cuda.get_device_name(args.torch_device) if cuda(args) else "cpu"
        line = {
            "bench": "python",
            "strategy": args.strategy,
            "model": args.model,
            "size": f"{args.width}x{args.height}",
            "out_size": f"{out_shape[1]}x{out_shape[0]}",
            "dtype": args.dtype,
            "channels_last": args.channels_last,
            "compile": args.compile,
            "frames": self.next,
            "warmup": args.warmup,
            "fps": round(fps, 2),
            "ms_per_frame": round(1000.0 / fps, 3) if fps > 0 else None,
            "device": device,
            "torch": torch.__version__,
            **config,
        }
        if args.checksum:
            line["checksum"] = self.checksum
        print(json.dumps(line), flush=True)


# --- threads ---------------------------------------------------------------------------------------

class Threads:
    """Threads that run in inference mode on the run's device; the first exception stops them all
    and is raised again by get(), put() or join() in any thread that waits."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self, fn: Callable[..., None], *fn_args: Any) -> None:
        def body() -> None:
            try:
                if cuda(self.args):
                    torch.cuda.set_device(self.args.torch_device)
                with torch.inference_mode():
                    fn(*fn_args)
            except BaseException as e:  # noqa: BLE001 — handed to the waiting thread
                self.errors.append(e)
                self.stop.set()

        thread = threading.Thread(target=body, daemon=True)
        thread.start()
        self.threads.append(thread)

    def check(self) -> None:
        if self.errors:
            raise RuntimeError(f"a worker thread failed: {self.errors[0]!r}") from self.errors[0]
        if self.stop.is_set():
            raise RuntimeError("stopped")

    def get(self, q: "queue.Queue[Any]") -> Any:
        while True:
            self.check()
            try:
                return q.get(timeout=0.05)
            except queue.Empty:
                pass

    def put(self, q: "queue.Queue[Any]", item: Any) -> None:
        while True:
            self.check()
            try:
                q.put(item, timeout=0.05)
                return
            except queue.Full:
                pass

    def join(self) -> None:
        for thread in self.threads:
            while thread.is_alive():
                thread.join(timeout=0.05)
                if self.errors:
                    self.stop.set()
        if self.errors:
            raise RuntimeError(f"a worker thread failed: {self.errors[0]!r}") from self.errors[0]
