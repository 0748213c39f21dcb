#!/usr/bin/env python3
"""split-streams (and multi-compute) in Python: a thread and a stream for each stage — upload,
inference (K threads and streams with --compute-streams K: multi-compute), download — handing a
fixed pool of slots (pinned and device buffers) along with CUDA events; the main thread writes the
frames out in order and returns each slot to the pool.

    python3 bench/python/split_streams.py --model compact-x4 --size 960x540 --frames 200 --fp16
    python3 bench/python/split_streams.py --model compact-x4 --size 960x540 --frames 200 --fp16 --compute-streams 3
"""

from __future__ import annotations

import argparse
import queue
import sys
from dataclasses import dataclass
from typing import Any

import torch

import common


@dataclass
class Slot:
    pinned_in: torch.Tensor
    pinned_out: torch.Tensor
    device_in: torch.Tensor
    device_out: torch.Tensor
    uploaded: common.Event
    computed: common.Event
    downloaded: common.Event


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--compute-streams", type=int, default=1,
                        help="inference threads and streams (default 1; more is multi-compute)")
    parser.add_argument("--slots", type=int, default=0, help="frames in flight (default compute streams + 4)")


def main(argv: list[str] | None = None) -> int:
    probe = argparse.ArgumentParser(add_help=False)
    options(probe)
    known, _ = probe.parse_known_args(argv)
    strategy = "split-streams" if known.compute_streams <= 1 else "multi-compute"
    args = common.parse_args(strategy, options, argv)
    model = common.load_model(args)
    out_shape = common.output_shape(model, args)
    frames = common.Frames(args)
    sink = common.Sink(args)
    threads = common.Threads(args)
    k = max(1, args.compute_streams)
    slot_count = args.slots if args.slots > 0 else k + 4

    in_shape = (args.height, args.width, 3)
    slots = [Slot(common.host_buffer(in_shape, args), common.host_buffer(out_shape, args),
                  torch.empty(in_shape, dtype=torch.uint8, device=args.torch_device),
                  torch.empty(out_shape, dtype=torch.uint8, device=args.torch_device),
                  common.Event(args), common.Event(args), common.Event(args)) for _ in range(slot_count)]
    free: queue.Queue[Slot] = queue.Queue()
    for slot in slots:
        if not args.staging:
            slot.pinned_in.copy_(frames[0])  # as if the decoder wrote into the pinned buffers itself
        free.put(slot)
    to_compute: list[queue.Queue[Any]] = [queue.Queue(maxsize=slot_count) for _ in range(k)]
    to_download: queue.Queue[Any] = queue.Queue(maxsize=slot_count)
    to_sink: queue.Queue[Any] = queue.Queue(maxsize=slot_count)

    def upload() -> None:
        stream = common.new_stream(args)
        for index in range(len(frames)):
            slot = threads.get(free)
            if args.staging:
                slot.pinned_in.copy_(frames[index])
            with common.use_stream(stream):
                slot.device_in.copy_(slot.pinned_in, non_blocking=True)
                slot.uploaded.record(stream)
            threads.put(to_compute[index % k], (index, slot))
        for q in to_compute:
            threads.put(q, None)

    def compute(c: int) -> None:
        stream = common.new_stream(args)
        while (item := threads.get(to_compute[c])) is not None:
            index, slot = item
            with common.use_stream(stream):
                slot.uploaded.wait(stream)
                slot.device_out.copy_(common.post(model(common.pre(slot.device_in, args))))
                slot.computed.record(stream)
            threads.put(to_download, (index, slot))
        threads.put(to_download, None)

    def download() -> None:
        stream = common.new_stream(args)
        pending: dict[int, Slot] = {}
        next_index = 0
        ended = 0
        while ended < k:
            item = threads.get(to_download)
            if item is None:
                ended += 1
                continue
            pending[item[0]] = item[1]
            while next_index in pending:  # in frame order, whichever inference stream finished first
                slot = pending.pop(next_index)
                with common.use_stream(stream):
                    slot.computed.wait(stream)
                    slot.pinned_out.copy_(slot.device_out, non_blocking=True)
                    slot.downloaded.record(stream)
                threads.put(to_sink, (next_index, slot))
                next_index += 1
        threads.put(to_sink, None)

    threads.start(upload)
    for c in range(k):
        threads.start(compute, c)
    threads.start(download)
    while (item := threads.get(to_sink)) is not None:
        index, slot = item
        slot.downloaded.synchronize()
        sink.write(slot.pinned_out.clone() if args.staging else slot.pinned_out, index)
        free.put(slot)
    threads.join()
    common.sync(args)
    sink.report(out_shape, compute_streams=k, slots=slot_count, staging=args.staging)
    return 0


if __name__ == "__main__":
    sys.exit(main())
