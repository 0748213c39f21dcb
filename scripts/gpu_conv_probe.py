#!/usr/bin/env python3
"""On a GPU: Real-ESRGAN Compact's 64->64 3x3 layer through cuDNN's fused graph and through PyTorch.

The probe for issue 15's native engine (docs/engine.md): can cuDNN's fused operation graph
(conv_fprop 3x3 + bias + PReLU, NHWC, fp32 accumulate) run that layer much faster than PyTorch?

    python3 scripts/gpu_conv_probe.py [--size 960x540] [--dtype fp16|bf16] [--layers 18]
                                      [--plans 3] [--forms maxmin,mix,select] [--out DIR]

One 64->64 3x3 layer at N=1, timed as median ms of single launches between CUDA events, after
warm-up:
  - PyTorch eager F.conv2d + F.prelu, NCHW and channels_last (and channels_last with
    cudnn.benchmark), and channels_last conv alone;
  - torch.compile of the same (default mode), NCHW and channels_last;
  - cuDNN frontend graphs: conv_fprop + bias + PReLU in one operation graph, for each way of
    writing PReLU from the graph's pointwise ops (--forms), and conv_fprop alone. Each is planned
    with heuristics A and FALLBACK, then check_support and build_plans (the heuristic's choice);
    then the first --plans plans of the ranked list are built and timed one by one (best of N).
    For scale, conv + bias + ReLU too (not compact's activation);
  - a large GEMM (torch.matmul 8192^3) in the same dtype, for the tensor cores' peak.
TFLOP/s counts 2*H*W*Cin*Cout*9 per convolution. Every output is checked against fp32 PyTorch
(TF32 off) of the same layer: max abs diff and PSNR, with the reference's range as the peak.

--layers 18 adds the whole chain of compact-x4 at that size (3->64 + PReLU, 16 x 64->64 + PReLU,
64->48; pixel shuffle and the upsampled skip are left out): one cuDNN graph per distinct shape,
executed layer after layer, against PyTorch eager channels_last of the same chain, both also
replayed from a CUDA graph. A path that fails is one line naming it; the other paths still run.

Prints one table; with --out, writes DIR/conv-probe.json. The cudnn module comes from the
nvidia-cudnn-frontend wheel (scripts/fetch-wheels.sh cudnn), unzipped into a folder on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORMS = ("maxmin", "mix", "select")
FEATURES = 64  # compact's width
LAST_OUT = 48  # 3 colours x 4 x 4 for the pixel shuffle
DEVICE = "cuda"  # names, so that a test can run the torch side on the CPU, small
GEMM_N = 8192


def say(text: str) -> None:
    print(f"gpu-conv-probe: {text}", flush=True)


def first_line(error: BaseException) -> str:
    for line in str(error).strip().splitlines():
        if line.strip():
            return f"{type(error).__name__}: {line.strip()[:200]}"
    return type(error).__name__


def conv_flops(h: int, w: int, cin: int, cout: int) -> float:
    return 2.0 * h * w * cin * cout * 9


def nhwc_stride(n: int, c: int, h: int, w: int) -> list[int]:
    del n  # the batch stride is the whole image, whatever n is
    return [h * w * c, 1, w * c, c]


# --- cuDNN: one convolution layer as one operation graph ---------------------------------------
class CudnnConv:
    """conv_fprop 3x3 (pad 1) [+ bias [+ PReLU]] over NHWC tensors as one cuDNN graph.

    epilogue: "none" (the convolution alone), "bias", "bias-relu" (for scale: planning for sm_90
    with cuDNN 9.19 offers precompiled engines for conv + bias + ReLU, only runtime-fused ones once
    the epilogue is a PReLU), or
    "prelu-FORM" where FORM writes PReLU(y) = max(y,0) + a*min(y,0) with the graph's pointwise ops:
      maxmin  max(y, 0) + a * min(y, 0), the zero as a per-channel tensor
      mix     a*y + (1-a)*relu(y), which needs no zero and no comparison
      select  binary_select(y, a*y, y > 0)
    Torch-free: it takes shapes, so that planning can be tried without a GPU (device_property)."""

    def __init__(self, cudnn, io_type, cin: int, cout: int, h: int, w: int, epilogue: str,
                 handle=None, device_property=None):
        self.cudnn, self.epilogue = cudnn, epilogue
        self.cin, self.cout, self.h, self.w = cin, cout, h, w
        dt = cudnn.data_type
        kwargs = {"handle": handle} if handle is not None else {"device_property": device_property}
        g = cudnn.pygraph(io_data_type=io_type, intermediate_data_type=dt.FLOAT,
                          compute_data_type=dt.FLOAT, name=f"conv{cin}x{cout}-{epilogue}", **kwargs)
        self.graph = g
        vec = ([1, cout, 1, 1], [cout, 1, cout, cout])  # per-channel, broadcast over N, H and W
        self.roles = {
            "x": g.tensor(name="x", dim=[1, cin, h, w], stride=nhwc_stride(1, cin, h, w), data_type=io_type),
            "w": g.tensor(name="w", dim=[cout, cin, 3, 3], stride=nhwc_stride(cout, cin, 3, 3), data_type=io_type),
        }
        y = g.conv_fprop(image=self.roles["x"], weight=self.roles["w"], padding=[1, 1], stride=[1, 1],
                         dilation=[1, 1], name="conv")
        if epilogue != "none":
            self.roles["bias"] = g.tensor(name="bias", dim=vec[0], stride=vec[1], data_type=io_type)
            y = g.bias(input=y, bias=self.roles["bias"], name="bias")
        if epilogue.startswith("prelu-"):
            y = self._prelu(g, y, epilogue.removeprefix("prelu-"), vec, io_type)
        elif epilogue == "bias-relu":  # not compact's activation: what a precompiled fused epilogue costs
            y = g.relu(input=y, name="relu")
        elif epilogue not in ("none", "bias"):
            raise ValueError(f"unknown epilogue {epilogue}")
        # The output's layout is ours (NHWC, as the next layer reads it), not left to inference.
        y.set_output(True).set_data_type(io_type).set_dim([1, cout, h, w]).set_stride(nhwc_stride(1, cout, h, w))
        self.roles["y"] = y
        self.plan_names: list[str] = []

    def _prelu(self, g, y, form: str, vec, io_type):
        def channel(name):
            self.roles[name] = g.tensor(name=name, dim=vec[0], stride=vec[1], data_type=io_type)
            return self.roles[name]

        slope = channel("slope")
        if form == "maxmin":
            zero = channel("zero")
            return g.add(a=g.max(input0=y, input1=zero, name="pos"),
                         b=g.mul(a=g.min(input0=y, input1=zero, name="neg"), b=slope, name="scaled"), name="prelu")
        if form == "mix":
            rest = channel("one_minus_slope")
            return g.add(a=g.mul(a=y, b=slope, name="scaled"),
                         b=g.mul(a=g.relu(input=y, name="pos"), b=rest, name="kept"), name="prelu")
        if form == "select":
            positive = g.cmp_gt(input=y, comparison=channel("zero"), name="positive")
            positive.set_data_type(self.cudnn.data_type.BOOLEAN)
            return g.binary_select(input0=y, input1=g.mul(a=y, b=slope, name="scaled"), mask=positive, name="prelu")
        raise ValueError(f"unknown PReLU form {form}")

    def plan(self) -> int:
        """validate, build_operation_graph, heuristics A then FALLBACK: the number of plans."""
        g, heur = self.graph, self.cudnn.heur_mode
        g.validate()
        g.build_operation_graph()
        g.create_execution_plans([heur.A, heur.FALLBACK])
        self.plan_names = [g.get_plan_name_at_index(i) for i in range(g.get_execution_plan_count())]
        return len(self.plan_names)

    def build(self) -> None:
        """check_support and build_plans: the first plan of the ranked list that builds."""
        self.graph.check_support()
        self.graph.build_plans()

    def pack(self, **tensors) -> dict:
        """The variant pack: each role of this graph bound to a tensor (x=, w=, bias=, ..., y=)."""
        missing = set(self.roles) - set(tensors)
        if missing:
            raise ValueError(f"no tensor for {sorted(missing)}")
        return {self.roles[role]: tensors[role] for role in self.roles}


# --- timing ------------------------------------------------------------------------------------
def median_ms(torch, fn, warmup: int, iters: int) -> float:
    """Median of single launches, each between its own pair of CUDA events: gaps the host leaves
    between launches are not counted, so a slow Python call does not read as a slow kernel."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    pairs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iters)]
    for begin, end in pairs:
        begin.record()
        fn()
        end.record()
    torch.cuda.synchronize()
    times = sorted(begin.elapsed_time(end) for begin, end in pairs)
    return times[len(times) // 2]


def compare(torch, out, ref) -> dict:
    """Max abs diff and PSNR (peak: the reference's range) of out against the fp32 reference."""
    diff = out.float() - ref
    mse = float(diff.square().mean())
    peak = float(ref.max() - ref.min())
    psnr = math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)
    return {"max_abs_diff": float(diff.abs().max()), "psnr_db": round(psnr, 2), "finite": bool(torch.isfinite(out).all())}


class Probe:
    def __init__(self, args, torch):
        self.args, self.torch = args, torch
        self.w, self.h = args.size
        self.dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
        self.rows: list[dict] = []
        self.errors: list[str] = []
        self.chain: dict = {}
        self.cudnn = None
        self.handle = None
        # (epilogue, graph, plan index or None for the heuristic's, ms) of the fastest fused 64->64 graph
        self.best_form: tuple | None = None
        self.result: dict = {}

    # Each path runs inside attempt(): its failure is one line, and the probe goes on.
    def attempt(self, name: str, fn):
        try:
            return fn()
        except Exception as error:  # noqa: BLE001 - one failed path must not stop the others
            line = f"{name}: failed: {first_line(error)}"
            say(line)
            self.errors.append(line)
            return None

    def row(self, path: str, ms: float, flops: float, note: str = "", check: dict | None = None, **extra) -> None:
        self.rows.append({"path": path, "ms": round(ms, 4), "tflops": round(flops / (ms * 1e-3) / 1e12, 1),
                          "note": note, **(check or {}), **extra})
        say(f"{path}: {ms:.4f} ms{'  ' + note if note else ''}")

    def timed(self, fn) -> float:
        return median_ms(self.torch, fn, self.args.warmup, self.args.iters)

    # --- the layer ------------------------------------------------------------------------------
    def make_layer(self):
        torch, c = self.torch, FEATURES
        gen = torch.Generator(device=DEVICE).manual_seed(15)
        x = torch.randn(1, c, self.h, self.w, device=DEVICE, generator=gen)
        wt = torch.randn(c, c, 3, 3, device=DEVICE, generator=gen) * math.sqrt(2.0 / (9 * c))
        b = torch.randn(c, device=DEVICE, generator=gen) * 0.05
        a = torch.rand(c, device=DEVICE, generator=gen) * 0.25 + 0.05
        self.ref = self.reference(x, wt, b, a)
        lo = {"x": x.to(self.dtype), "w": wt.to(self.dtype), "b": b.to(self.dtype), "a": a.to(self.dtype)}
        cl = {k: v.to(memory_format=torch.channels_last) if v.dim() == 4 else v for k, v in lo.items()}
        self.nchw, self.cl = lo, cl

    def reference(self, x, wt, b, a):
        torch, F = self.torch, self.torch.nn.functional
        tf32 = torch.backends.cudnn.allow_tf32
        torch.backends.cudnn.allow_tf32 = False  # the reference is fp32, not TF32
        try:
            return F.prelu(F.conv2d(x.float(), wt.float(), b.float(), padding=1), a.float())
        finally:
            torch.backends.cudnn.allow_tf32 = tf32

    def torch_paths(self) -> None:
        torch, F = self.torch, self.torch.nn.functional
        flops = conv_flops(self.h, self.w, FEATURES, FEATURES)

        def layer(t):
            return lambda: F.prelu(F.conv2d(t["x"], t["w"], t["b"], padding=1), t["a"])

        def eager(name, t, benchmark=False):
            previous = torch.backends.cudnn.benchmark
            torch.backends.cudnn.benchmark = benchmark
            try:
                fn = layer(t)
                check = compare(torch, fn(), self.ref)
                self.row(name, self.timed(fn), flops, check=check)
            finally:
                torch.backends.cudnn.benchmark = previous

        self.attempt("torch eager NCHW", lambda: eager("torch eager NCHW", self.nchw))
        self.attempt("torch eager channels_last", lambda: eager("torch eager channels_last", self.cl))
        self.attempt("torch eager channels_last benchmark",  # cuDNN's algorithm timed by torch, not its heuristic
                     lambda: eager("torch eager channels_last benchmark", self.cl, benchmark=True))
        cl = self.cl
        self.attempt("torch eager channels_last conv only", lambda: self.row(
            "torch eager channels_last conv only",
            self.timed(lambda: F.conv2d(cl["x"], cl["w"], cl["b"], padding=1)), flops, "no PReLU"))

        def compiled(name, t):
            fn = torch.compile(lambda x: F.prelu(F.conv2d(x, t["w"], t["b"], padding=1), t["a"]))
            start = time.monotonic()
            out = fn(t["x"])
            torch.cuda.synchronize()
            seconds = time.monotonic() - start
            check = compare(torch, out, self.ref)
            self.row(name, self.timed(lambda: fn(t["x"])), flops, f"compile {seconds:.1f} s", check=check,
                     compile_s=round(seconds, 1))

        self.attempt("torch.compile NCHW", lambda: compiled("torch.compile NCHW", self.nchw))
        self.attempt("torch.compile channels_last", lambda: compiled("torch.compile channels_last", self.cl))

    def gemm(self) -> None:
        torch, n = self.torch, GEMM_N
        a = torch.randn(n, n, device=DEVICE, dtype=self.dtype)
        b = torch.randn(n, n, device=DEVICE, dtype=self.dtype)
        ms = median_ms(torch, lambda: torch.matmul(a, b), 5, 30)
        self.result["gemm"] = {"n": n, "ms": round(ms, 4), "tflops": round(2.0 * n**3 / (ms * 1e-3) / 1e12, 1)}
        say(f"GEMM {n}^3: {ms:.3f} ms, {self.result['gemm']['tflops']} TFLOP/s")

    # --- cuDNN ----------------------------------------------------------------------------------
    def load_cudnn(self) -> None:
        import cudnn  # noqa: PLC0415 - from the wheel on PYTHONPATH; torch is imported first, so its cuDNN is the one loaded

        self.cudnn = cudnn
        self.handle = cudnn.create_handle()
        cudnn.set_stream(handle=self.handle, stream=self.torch.cuda.current_stream().cuda_stream)
        self.io_type = {"fp16": cudnn.data_type.HALF, "bf16": cudnn.data_type.BFLOAT16}[self.args.dtype]
        self.result["cudnn_frontend"] = getattr(cudnn, "__version__", "?")
        self.result["cudnn_backend"] = cudnn.backend_version()
        say(f"cudnn-frontend {self.result['cudnn_frontend']}, cuDNN backend {self.result['cudnn_backend']}")

    def channel_tensors(self, a):
        """The per-channel operands of the graph's PReLU forms, shaped (1, C, 1, 1)."""
        a4 = a.reshape(1, -1, 1, 1)
        return {"slope": a4, "zero": self.torch.zeros_like(a4), "one_minus_slope": 1 - a4}

    def cudnn_layer(self, epilogue: str) -> None:
        torch, c = self.torch, FEATURES
        name = f"cudnn {epilogue}" if epilogue != "none" else "cudnn conv only"
        flops = conv_flops(self.h, self.w, c, c)
        start = time.monotonic()
        conv = CudnnConv(self.cudnn, self.io_type, c, c, self.h, self.w, epilogue, handle=self.handle)
        count = conv.plan()
        conv.build()
        build_s = time.monotonic() - start
        y = torch.empty(1, c, self.h, self.w, device=DEVICE, dtype=self.dtype).to(memory_format=torch.channels_last)
        t = self.cl
        operands = {"x": t["x"], "w": t["w"], "y": y}
        if epilogue != "none":
            operands["bias"] = t["b"].reshape(1, -1, 1, 1)
        operands.update({k: v for k, v in self.channel_tensors(t["a"]).items() if k in conv.roles})
        pack = conv.pack(**operands)
        ws = torch.empty(max(conv.graph.get_workspace_size(), 1), device=DEVICE, dtype=torch.uint8)
        handle = self.handle

        def run():
            conv.graph.execute(pack, ws, handle=handle)

        run()
        check = compare(torch, y, self.ref) if epilogue.startswith("prelu-") else None
        heuristic_ms = self.timed(run)
        scale = ", ReLU not PReLU" if epilogue == "bias-relu" else ""
        self.row(name, heuristic_ms, flops, f"heuristic choice of {count} plans, built in {build_s:.1f} s{scale}",
                 check=check, plans=count, build_s=round(build_s, 2))
        # The ranked list's first --plans plans, each built and timed: what autotuning would find.
        tried, rebuilt = [], False
        for index in range(min(self.args.plans, count)):
            entry = {"index": index, "name": conv.plan_names[index]}
            try:
                begin = time.monotonic()
                conv.graph.build_plan_at_index(index)
                rebuilt = True  # it selects that plan: execute() no longer runs the heuristic's
                entry["build_s"] = round(time.monotonic() - begin, 2)
                need = conv.graph.get_workspace_size_plan_at_index(index)
                wsi = ws if need <= ws.numel() else torch.empty(need, device=DEVICE, dtype=torch.uint8)
                y.zero_()

                def run_at(i=index, w=wsi):
                    conv.graph.execute_plan_at_index(pack, w, index=i, handle=handle)

                run_at()
                if epilogue.startswith("prelu-"):
                    entry.update(compare(torch, y, self.ref))
                entry["ms"] = round(self.timed(run_at), 4)
            except Exception as error:  # noqa: BLE001 - a plan that does not build is a result too
                entry["error"] = first_line(error)
            tried.append(entry)
        timed = [e for e in tried if "ms" in e]
        fastest = (None, heuristic_ms) if not rebuilt else None  # plan index (None: the selected one), ms
        if timed:
            best = min(timed, key=lambda e: e["ms"])
            check = {k: best[k] for k in ("max_abs_diff", "psnr_db", "finite") if k in best}
            self.row(f"{name} best of {len(tried)}", best["ms"], flops, best["name"], check=check, tried=tried)
            fastest = (best["index"], best["ms"])
        elif tried:
            self.rows[-1]["tried"] = tried
        if epilogue.startswith("prelu-") and fastest and (self.best_form is None or fastest[1] < self.best_form[3]):
            self.best_form = (epilogue, conv, *fastest)

    # --- the chain ------------------------------------------------------------------------------
    def make_chain(self, layers: int):
        """Random compact-like weights (He-scaled, so activations stay O(1) through the depth)."""
        torch = self.torch
        gen = torch.Generator(device=DEVICE).manual_seed(34)
        widths = [3] + [FEATURES] * (layers - 1) + [LAST_OUT]
        params = []
        for i in range(layers):
            cin, cout = widths[i], widths[i + 1]
            params.append({
                "w": torch.randn(cout, cin, 3, 3, device=DEVICE, generator=gen) * math.sqrt(2.0 / (9 * cin)),
                "b": torch.randn(cout, device=DEVICE, generator=gen) * 0.05,
                "a": torch.rand(cout, device=DEVICE, generator=gen) * 0.25 + 0.05 if i < layers - 1 else None,
            })
        image = torch.rand(1, 3, self.h, self.w, device=DEVICE, generator=gen)
        return image, params

    def torch_chain(self, image, params, dtype, channels_last: bool):
        F = self.torch.nn.functional
        fmt = self.torch.channels_last if channels_last else self.torch.contiguous_format
        ps = [{k: (v.to(dtype).to(memory_format=fmt) if v is not None and v.dim() == 4 else
                   (v.to(dtype) if v is not None else None)) for k, v in p.items()} for p in params]
        x = image.to(dtype).to(memory_format=fmt)

        def run():
            h = x
            for p in ps:
                h = F.conv2d(h, p["w"], p["b"], padding=1)
                if p["a"] is not None:
                    h = F.prelu(h, p["a"])
            return h

        return run

    def cudnn_chain(self, image, params):
        """The chain as cuDNN graphs: the 64->64 graph of the layer probe (its fastest form and plan),
        one for the first layer and one for the last. Returns run(), which returns the output."""
        torch, h, w = self.torch, self.h, self.w
        form, middle, middle_index, _ = self.best_form
        form = form.removeprefix("prelu-")
        # The first layer reads 3 channels; where no plan takes 3, the input and weights are padded
        # with zero channels (what an engine would do in its pre-processing).
        first = None
        for cin in (3, 4, 8):
            try:
                conv = CudnnConv(self.cudnn, self.io_type, cin, FEATURES, h, w, f"prelu-{form}", handle=self.handle)
                conv.plan()
                conv.build()
                first = conv
                break
            except Exception as error:  # noqa: BLE001 - try the next padding
                say(f"cudnn chain: first layer with {cin} input channels: {first_line(error)}")
        if first is None:
            raise RuntimeError("no first-layer graph built")
        last = CudnnConv(self.cudnn, self.io_type, FEATURES, LAST_OUT, h, w, "bias", handle=self.handle)
        last.plan()
        last.build()
        self.chain["first_layer_channels"] = first.cin
        self.chain["cudnn_form"] = form
        self.chain["cudnn_plans"] = {
            "first": "heuristic choice", "last": "heuristic choice",
            "middle": "heuristic choice" if middle_index is None else middle.plan_names[middle_index]}

        def nhwc(c):
            return torch.empty(1, c, h, w, device=DEVICE, dtype=self.dtype).to(memory_format=torch.channels_last)

        x0 = torch.zeros(1, first.cin, h, w, device=DEVICE, dtype=self.dtype).to(memory_format=torch.channels_last)
        x0[:, :3] = image.to(self.dtype)
        ping, pong, out = nhwc(FEATURES), nhwc(FEATURES), nhwc(LAST_OUT)
        steps = []  # (graph, pack, plan index or None for the selected plan)
        src = x0
        for i, p in enumerate(params):
            wt = p["w"]
            if i == 0 and first.cin != 3:
                wt = torch.cat([wt, torch.zeros(wt.shape[0], first.cin - 3, 3, 3, device=DEVICE)], 1)
            conv = first if i == 0 else last if i == len(params) - 1 else middle
            dst = out if conv is last else (ping if src is not ping else pong)
            operands = {"x": src, "w": wt.to(self.dtype).to(memory_format=torch.channels_last), "y": dst,
                        "bias": p["b"].to(self.dtype).reshape(1, -1, 1, 1)}
            if p["a"] is not None:
                operands.update({k: v for k, v in self.channel_tensors(p["a"].to(self.dtype)).items() if k in conv.roles})
            steps.append((conv, conv.pack(**operands), middle_index if conv is middle else None))
            src = dst
        middle_ws = (middle.graph.get_workspace_size() if middle_index is None
                     else middle.graph.get_workspace_size_plan_at_index(middle_index))
        need = max(first.graph.get_workspace_size(), last.graph.get_workspace_size(), middle_ws, 1)
        ws = torch.empty(need, device=DEVICE, dtype=torch.uint8)
        handle = self.handle

        def run():
            for conv, pack, index in steps:
                if index is None:
                    conv.graph.execute(pack, ws, handle=handle)
                else:
                    conv.graph.execute_plan_at_index(pack, ws, index=index, handle=handle)
            return out

        return run

    def graph_replay(self, run, uses_cudnn: bool):
        """run() captured into one CUDA graph; returns its replay. cuDNN's handle follows the
        capture stream while capturing, and goes back to the default stream after."""
        torch = self.torch
        run()  # allocations and lazy set-up before the capture
        torch.cuda.synchronize()
        cg = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(cg):
                if uses_cudnn:
                    self.cudnn.set_stream(handle=self.handle, stream=torch.cuda.current_stream().cuda_stream)
                run()
        finally:
            if uses_cudnn:
                self.cudnn.set_stream(handle=self.handle, stream=torch.cuda.current_stream().cuda_stream)
        return cg.replay

    def chain_paths(self, layers: int) -> None:
        torch = self.torch
        h, w = self.h, self.w
        widths = [3] + [FEATURES] * (layers - 1) + [LAST_OUT]
        flops = sum(conv_flops(h, w, widths[i], widths[i + 1]) for i in range(layers))
        self.chain.update({"layers": layers, "gflop": round(flops / 1e9, 1), "rows": []})
        image, params = self.make_chain(layers)
        tf32 = torch.backends.cudnn.allow_tf32
        torch.backends.cudnn.allow_tf32 = False
        try:
            ref = self.torch_chain(image, params, torch.float32, channels_last=False)()
        finally:
            torch.backends.cudnn.allow_tf32 = tf32

        def measure(name, run):
            out = run()
            torch.cuda.synchronize()
            check = compare(torch, out, ref)
            ms = self.timed(run)  # the events hold the whole chain, host gaps between layers included
            entry = {"path": name, "ms": round(ms, 4), "tflops": round(flops / (ms * 1e-3) / 1e12, 1), **check}
            self.chain["rows"].append(entry)
            say(f"chain {name}: {ms:.3f} ms per frame, {entry['tflops']} TFLOP/s, PSNR {check['psnr_db']} dB")
            return run

        def replay(name, run, uses_cudnn):
            ms = self.timed(self.graph_replay(run, uses_cudnn))
            self.chain["rows"].append({"path": f"{name} CUDA graph", "ms": round(ms, 4),
                                       "tflops": round(flops / (ms * 1e-3) / 1e12, 1)})
            say(f"chain {name} CUDA graph: {ms:.3f} ms per frame")

        runs = [("torch eager channels_last", False, self.attempt("chain torch eager channels_last", lambda: measure(
            "torch eager channels_last", self.torch_chain(image, params, self.dtype, channels_last=True))))]
        if self.best_form is None:
            line = "chain cudnn: failed: no fused 64->64 graph ran in the layer probe"
            say(line)
            self.errors.append(line)
        else:
            runs.append(("cudnn graphs", True, self.attempt(
                "chain cudnn", lambda: measure("cudnn graphs", self.cudnn_chain(image, params)))))
        # The captures come last: a capture that fails can leave the stream in a state that would
        # spoil the plain rows.
        for name, uses_cudnn, run in runs:
            if run is not None:
                self.attempt(f"chain {name} CUDA graph", lambda n=name, r=run, u=uses_cudnn: replay(n, r, u))

    # --- the run --------------------------------------------------------------------------------
    def run(self) -> dict:
        torch, args = self.torch, self.args
        start = time.monotonic()
        self.result.update({
            "card": torch.cuda.get_device_name(), "commit": commit(), "torch": torch.__version__,
            "cuda": torch.version.cuda, "cudnn_torch": torch.backends.cudnn.version(),
            "size": f"{self.w}x{self.h}", "dtype": args.dtype, "iters": args.iters, "warmup": args.warmup,
        })
        say(f"{self.result['card']}, torch {torch.__version__}, {args.dtype}, {self.w}x{self.h}")
        sections = {}

        def section(name, fn):
            begin = time.monotonic()
            fn()
            sections[name] = round(time.monotonic() - begin, 1)
            self.write()

        section("gemm", lambda: self.attempt("GEMM", self.gemm))
        section("layer", lambda: self.attempt("layer set-up", self.make_layer))
        if not hasattr(self, "ref"):
            return self.finish(start, sections)
        section("torch", self.torch_paths)
        self.attempt("cudnn import", self.load_cudnn)
        if self.handle is not None:
            def cudnn_paths():
                for form in args.forms:
                    self.attempt(f"cudnn prelu-{form}", lambda f=form: self.cudnn_layer(f"prelu-{f}"))
                self.attempt("cudnn bias-relu", lambda: self.cudnn_layer("bias-relu"))
                self.attempt("cudnn conv only", lambda: self.cudnn_layer("none"))

            section("cudnn", cudnn_paths)
        if args.layers:
            section("chain", lambda: self.chain_paths(args.layers))
        return self.finish(start, sections)

    def finish(self, start: float, sections: dict) -> dict:
        self.result["seconds"] = round(time.monotonic() - start, 1)
        self.result["sections_s"] = sections
        self.write()
        print(self.table(), flush=True)
        return self.result

    def write(self) -> None:
        self.result.update({"rows": self.rows, "chain": self.chain, "errors": self.errors})
        if self.args.out:
            self.args.out.mkdir(parents=True, exist_ok=True)
            (self.args.out / "conv-probe.json").write_text(json.dumps(self.result, indent=1, default=str) + "\n")

    def table(self) -> str:
        r = self.result
        lines = [f"\n{r['card']}, commit {r['commit']}, torch {r['torch']}, cuDNN {r.get('cudnn_torch')} "
                 f"(frontend {r.get('cudnn_frontend', '-')}, backend {r.get('cudnn_backend', '-')}); "
                 f"{r['dtype']}, one {FEATURES}->{FEATURES} 3x3 layer at {r['size']}, N=1"]
        if "gemm" in r:
            lines.append(f"GEMM {r['gemm']['n']}^3: {r['gemm']['ms']} ms, {r['gemm']['tflops']} TFLOP/s")
        base = next((x["ms"] for x in self.rows if x["path"] == "torch eager channels_last"), None)
        lines.append("PSNR and max |d|: against fp32 PyTorch of the same layer (TF32 off)")
        lines.append(f"{'path':<40} {'ms':>8} {'TFLOP/s':>8} {'vs eager CL':>11} {'PSNR dB':>8} {'max |d|':>9}  note")
        for x in self.rows:
            speed = f"{base / x['ms']:.2f}x" if base else "-"
            psnr = f"{x['psnr_db']:>8}" if "psnr_db" in x else f"{'-':>8}"
            diff = f"{x['max_abs_diff']:>9.3g}" if "max_abs_diff" in x else f"{'-':>9}"
            lines.append(f"{x['path']:<40} {x['ms']:>8.4f} {x['tflops']:>8.1f} {speed:>11} {psnr} {diff}  {x['note']}")
        if self.chain.get("rows"):
            lines.append(f"chain of {self.chain['layers']} convolutions ({self.chain['gflop']} GFLOP a frame):")
            peak = r.get("gemm", {}).get("tflops")
            for x in self.chain["rows"]:
                share = f" ({x['tflops'] / peak:.2f} of the GEMM's)" if peak else ""
                check = f", {x['psnr_db']} dB against fp32" if "psnr_db" in x else ""
                lines.append(f"  {x['path']:<36} {x['ms']:>8.3f} ms  {x['tflops']:>6.1f} TFLOP/s{share}{check}")
        lines += [f"FAILED {e}" for e in self.errors]
        lines.append(f"total {r.get('seconds', 0)} s")
        return "\n".join(lines)


def commit() -> str:
    """PYN_COMMIT, else a COMMIT file that came with a copy of the tree, else git, else unknown."""
    if os.environ.get("PYN_COMMIT"):
        return os.environ["PYN_COMMIT"]
    try:
        return (REPO / "COMMIT").read_text().split()[0]
    except (OSError, IndexError):
        pass
    git = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
    return git.stdout.strip() or "unknown"


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size is WIDTHxHEIGHT, not {text!r}") from None
    if w < 1 or h < 1:
        raise argparse.ArgumentTypeError(f"size {text!r} is empty")
    return w, h


def parse_forms(text: str) -> list[str]:
    forms = [f.strip() for f in text.split(",") if f.strip()]
    bad = [f for f in forms if f not in FORMS]
    if bad or not forms:
        raise argparse.ArgumentTypeError(f"forms are a comma-separated subset of {','.join(FORMS)}")
    return forms


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--size", type=parse_size, default=(960, 540), help="WIDTHxHEIGHT (default 960x540)")
    parser.add_argument("--dtype", choices=("fp16", "bf16"), default="fp16")
    parser.add_argument("--layers", type=int, default=0,
                        help="also time a chain of this many convolutions (18: compact-x4, tools/make_demo_models.py's 16 body convolutions; 0: none)")
    parser.add_argument("--plans", type=int, default=3, help="cuDNN plans of the ranked list built and timed (default 3)")
    parser.add_argument("--forms", type=parse_forms, default=list(FORMS),
                        help=f"PReLU forms for the cuDNN graph (default {','.join(FORMS)})")
    parser.add_argument("--iters", type=int, default=50, help="timed launches per path (default 50)")
    parser.add_argument("--warmup", type=int, default=10, help="launches before timing (default 10)")
    parser.add_argument("--out", type=Path, help="folder for conv-probe.json")
    args = parser.parse_args(argv)
    if args.layers and args.layers < 2:
        parser.error("--layers is 0 or at least 2 (a first and a last layer)")
    if args.iters < 1 or args.warmup < 0 or args.plans < 0:
        parser.error("--iters must be at least 1, --warmup and --plans at least 0")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        import torch  # noqa: PLC0415 - after the arguments, so --help needs no torch
    except ImportError as error:
        say(f"cannot run: no torch ({first_line(error)})")
        return 1
    if not torch.cuda.is_available():
        say("cannot run: there is no GPU (torch sees no CUDA device)")
        return 1
    Probe(args, torch).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
