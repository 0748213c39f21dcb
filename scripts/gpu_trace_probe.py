#!/usr/bin/env python3
"""Where a trace loses to eager (docs/models.md: DAT's trace ran 282.7 ms a frame against eager's
246.1). For each architecture named (default DAT and HAT, at 960x540 in the dtype the compiler
chooses), median ms of one call on a GPU:

  - spandrel's eager call (what scripts/gpu_models_bench.py times as "eager");
  - the compiler's module (tools/model_compiler.py: spandrel's preparation, no padding) in eager,
    NCHW and channels-last;
  - its trace (what pynference runs where AOTInductor fails), NCHW and channels-last (weights and
    input, as the torch engine lays them out by default), each with the TensorExpr fuser on (the
    default) and off, and with the fuser on, saved and loaded again (as pynference loads it), frozen
    first (torch.jit.freeze without its numerics-changing folds), after ten more warm-ups, with the
    graph executor's optimisation off, replayed as a CUDA graph (--graphs: as pynference's
    --cuda-graph runs it), and on a new thread and stream.

    python3 scripts/gpu_trace_probe.py [--only DAT HAT] [--budget S]

Needs spandrel (scripts/fetch-wheels.sh; scripts/gpu-models-bench.sh shows how it is installed).
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tools"))


def main() -> int:
    import torch  # noqa: PLC0415
    from gpu_models_bench import real_models, save_model, time_calls  # noqa: PLC0415
    from model_compiler import DTYPES, choose_dtype, load_source, padded_size  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=["DAT", "HAT"])
    parser.add_argument("--budget", type=float, default=3.0, help="seconds of timed calls per row")
    parser.add_argument("--size", help="WxH instead of each architecture's usual size (a CPU smoke test)")
    parser.add_argument("--quick", action="store_true", help="the traces in NCHW with the fuser on only")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (a smoke test)")
    parser.add_argument("--keep", help="a folder to copy the saved traces into (for pynference bench)")
    parser.add_argument("--graphs", action="store_true",
                        help="also replay the loaded trace as a CUDA graph (DAT cannot be captured, and a failed "
                             "capture leaves torch unable to go on)")
    args = parser.parse_args()
    cuda = args.device == "cuda"
    device = torch.device("cuda:0" if cuda else "cpu")
    tag = "sm%d%d" % torch.cuda.get_device_capability(0) if cuda else "cpu"
    print(f"{torch.cuda.get_device_name(0) if cuda else 'CPU'}, torch {torch.__version__}")
    models = real_models()
    folder = Path(tempfile.mkdtemp(prefix="pyn-trace-probe."))
    cl = torch.channels_last
    for name in args.only:
        factory, (width, height) = models[name]
        if args.size:
            width, height = (int(v) for v in args.size.split("x"))
        path = save_model(name, factory, folder)
        module, arch, (minimum, multiple, square), half_ok, bf16_ok = load_source(path, None)
        dtype_name = choose_dtype("auto", tag, half_ok, bf16_ok, arch)
        dtype = DTYPES[dtype_name]
        pw, ph = padded_size(width, height, minimum, multiple, square)
        module = module.to(device, dtype).eval()
        x = torch.rand(1, 3, ph, pw, device=device, dtype=dtype)
        rows: list[tuple[str, float]] = []

        def timed(label: str, fn, tensor) -> None:
            with torch.inference_mode():
                fn(tensor)  # a third warm-up: the profiling executor optimises on the second call
                rows.append((label, time_calls(fn, tensor, args.device, args.budget)))
            print(f"  {label:44} {rows[-1][1]:9.2f} ms", flush=True)

        def graphed(label: str, fn, tensor) -> None:
            # As pynference's --cuda-graph runs a trace: captured once on a side stream, replayed.
            with torch.inference_mode():
                static = tensor.clone()
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    fn(static)
                    fn(static)
                torch.cuda.current_stream().wait_stream(side)
                graph = torch.cuda.CUDAGraph()
                try:
                    with torch.cuda.graph(graph):
                        fn(static)
                except Exception as e:  # noqa: BLE001
                    print(f"  {label}: capture failed: {str(e).splitlines()[0][:200]}", flush=True)
                    return
                rows.append((label, time_calls(lambda _: graph.replay(), static, args.device, args.budget)))
                del graph
            print(f"  {label:44} {rows[-1][1]:9.2f} ms", flush=True)

        print(f"{name} ({arch}) {dtype_name} at {pw}x{ph} (frames {width}x{height})", flush=True)
        import spandrel  # noqa: PLC0415

        descriptor = spandrel.ModelLoader().load_from_file(str(path)).eval().to(device).to(dtype)
        timed("spandrel eager (pads itself)", descriptor, x[..., :height, :width].contiguous())
        del descriptor
        timed("compiler's module, eager, NCHW", module, x)
        timed("compiler's module, eager, channels-last", module.to(memory_format=cl), x.to(memory_format=cl))
        module = module.to(memory_format=torch.contiguous_format)
        for fuser_on in (True,) if args.quick else (True, False):
            torch._C._jit_set_texpr_fuser_enabled(fuser_on)  # noqa: SLF001
            for layout in ("NCHW",) if args.quick else ("NCHW", "channels-last"):
                with warnings.catch_warnings(), torch.no_grad():
                    warnings.simplefilter("ignore")
                    # A copy: a trace shares the module's parameters, which the layout changes.
                    traced = torch.jit.trace(copy.deepcopy(module), x, check_trace=False)
                tensor = x
                if layout == "channels-last":
                    for t in list(traced.parameters()) + list(traced.buffers()):
                        if t.is_floating_point() and t.dim() == 4:
                            t.data = t.detach().contiguous(memory_format=cl)
                    tensor = x.contiguous(memory_format=cl)
                timed(f"trace, {layout}, TensorExpr fuser {'on' if fuser_on else 'off'}", traced, tensor)
                if fuser_on:
                    # Saved and loaded, as pynference loads the compiler's model.pt.
                    saved = folder / f"{name}.{layout}.pt"
                    torch.jit.save(traced, str(saved))
                    loaded = torch.jit.load(str(saved), map_location=device)
                    timed(f"trace saved and loaded, {layout}", loaded, tensor)
                    frozen_path = folder / f"{name}.{layout}.frozen.pt"
                    try:
                        # Without the numerics-changing folds (conv-bn, conv-add, conv-mul).
                        torch.jit.save(torch.jit.freeze(traced.eval(), optimize_numerics=False), str(frozen_path))
                        frozen = torch.jit.load(str(frozen_path), map_location=device)
                        timed(f"trace frozen (freeze, no numerics folds), saved and loaded, {layout}", frozen, tensor)
                        del frozen
                    except Exception as e:  # noqa: BLE001
                        print(f"  freezing failed: {str(e).splitlines()[0][:200]}", flush=True)
                    if cuda and args.graphs:
                        graphed(f"trace saved and loaded, replayed as a CUDA graph, {layout}", loaded, tensor)
                    # The loaded trace after more calls (the profiling executor optimises as it
                    # goes), and with the executor's optimisation off.
                    again = torch.jit.load(str(saved), map_location=device)
                    with torch.inference_mode():
                        for _ in range(10):
                            again(tensor)
                    timed(f"trace saved and loaded, 10 more warm-ups, {layout}", again, tensor)
                    del again
                    torch._C._set_graph_executor_optimize(False)  # noqa: SLF001
                    plain = torch.jit.load(str(saved), map_location=device)
                    timed(f"trace saved and loaded, executor optimisation off, {layout}", plain, tensor)
                    del plain
                    torch._C._set_graph_executor_optimize(True)  # noqa: SLF001
                    if args.keep:
                        Path(args.keep).mkdir(parents=True, exist_ok=True)
                        for kept in (saved, frozen_path):
                            if kept.exists():
                                shutil.copy(kept, Path(args.keep) / kept.name)
                    if cuda:
                        # As a lane runs it: another thread, a stream of its own.
                        def lane(loaded=loaded, tensor=tensor, layout=layout) -> None:
                            with torch.cuda.stream(torch.cuda.Stream()):
                                timed(f"  the same, on a new thread and stream, {layout}", loaded, tensor)

                        worker = threading.Thread(target=lane)
                        worker.start()
                        worker.join()
                    del loaded
                del traced
                if cuda:
                    torch.cuda.empty_cache()
        torch._C._jit_set_texpr_fuser_enabled(True)  # noqa: SLF001
        best = min(rows, key=lambda r: r[1])
        print(f"  fastest: {best[0]} ({best[1]:.2f} ms)", flush=True)
        del module
        if cuda:
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    start = time.monotonic()
    code = main()
    print(f"probe took {time.monotonic() - start:.0f} s")
    sys.exit(code)
