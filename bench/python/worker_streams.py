#!/usr/bin/env python3
"""worker-streams in Python: N threads, each with its own stream and pinned buffers, each running
whole frames (frame i on worker i % N); the main thread writes the frames out in order.

    python3 bench/python/worker_streams.py --model compact-x4 --size 960x540 --frames 200 --fp16 --workers 3
"""

from __future__ import annotations

import queue
import sys

import common


def main(argv: list[str] | None = None) -> int:
    args = common.parse_args(
        "worker-streams", lambda p: p.add_argument("--workers", type=int, default=3, help="threads (default 3)"), argv)
    model = common.load_model(args)
    out_shape = common.output_shape(model, args)
    frames = common.Frames(args)
    sink = common.Sink(args)
    threads = common.Threads(args)
    workers = max(1, args.workers)
    done = [queue.Queue(maxsize=1) for _ in range(workers)]
    free = [queue.Queue(maxsize=1) for _ in range(workers)]  # without staging: pinned_out handed back

    def worker(w: int) -> None:
        stream = common.new_stream(args)
        finished = common.Event(args)
        pinned_in = common.host_buffer((args.height, args.width, 3), args)
        pinned_out = common.host_buffer(out_shape, args)
        if not args.staging:
            pinned_in.copy_(frames[0])  # as if the decoder wrote into the pinned buffer itself
            free[w].put(True)
        for index in range(w, len(frames), workers):
            if args.staging:
                pinned_in.copy_(frames[index])
            with common.use_stream(stream):
                x = pinned_in.to(args.torch_device, non_blocking=True)
                y = common.post(model(common.pre(x, args)))
                if not args.staging:
                    threads.get(free[w])
                pinned_out.copy_(y, non_blocking=True)
                finished.record(stream)
            finished.synchronize()
            threads.put(done[w], (index, pinned_out.clone() if args.staging else pinned_out))

    for w in range(workers):
        threads.start(worker, w)
    for index in range(len(frames)):
        w = index % workers
        got, frame = threads.get(done[w])
        assert got == index
        sink.write(frame, index)
        if not args.staging:
            threads.put(free[w], True)
    threads.join()
    common.sync(args)
    sink.report(out_shape, workers=workers, staging=args.staging)
    return 0


if __name__ == "__main__":
    sys.exit(main())
