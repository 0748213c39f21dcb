#!/usr/bin/env python3
"""serial-pinned in Python: one thread, one stream, pinned staging buffers.

The frame is copied into a pinned buffer, uploaded without blocking, processed, downloaded into a
pinned buffer, and after one wait copied out to the user's pageable array — the seed's "a transfer
from the pinned memory to the user space memory is needed" (--no-staging leaves both copies out).

    python3 bench/python/serial_pinned.py --model compact-x4 --size 960x540 --frames 200 --fp16
"""

from __future__ import annotations

import sys

import torch

import common


def main(argv: list[str] | None = None) -> int:
    args = common.parse_args("serial-pinned", argv=argv)
    model = common.load_model(args)
    out_shape = common.output_shape(model, args)
    frames = common.Frames(args)
    sink = common.Sink(args)
    pinned_in = common.host_buffer((args.height, args.width, 3), args)
    pinned_out = common.host_buffer(out_shape, args)
    stream = common.new_stream(args)
    done = common.Event(args)
    if not args.staging:
        pinned_in.copy_(frames[0])  # as if the decoder wrote into the pinned buffer itself
    with torch.inference_mode(), common.use_stream(stream):
        for index in range(len(frames)):
            if args.staging:
                pinned_in.copy_(frames[index])
            x = pinned_in.to(args.torch_device, non_blocking=True)
            y = common.post(model(common.pre(x, args)))
            pinned_out.copy_(y, non_blocking=True)
            done.record(stream)
            done.synchronize()
            sink.write(pinned_out.clone() if args.staging else pinned_out, index)
    common.sync(args)
    sink.report(out_shape, staging=args.staging)
    return 0


if __name__ == "__main__":
    sys.exit(main())
