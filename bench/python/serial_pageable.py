#!/usr/bin/env python3
"""serial-pageable in Python: one thread, one stream, pageable memory — the eager loop.

    python3 bench/python/serial_pageable.py --model compact-x4 --size 960x540 --frames 200 --fp16
"""

from __future__ import annotations

import sys

import torch

import common


def main(argv: list[str] | None = None) -> int:
    args = common.parse_args("serial-pageable", argv=argv)
    model = common.load_model(args)
    out_shape = common.output_shape(model, args)
    frames = common.Frames(args)
    sink = common.Sink(args)
    with torch.inference_mode():
        for index in range(len(frames)):
            x = frames[index].to(args.torch_device)  # pageable: the copy waits for the GPU
            y = common.post(model(common.pre(x, args)))
            sink.write(y.cpu(), index)  # and so does this one
    common.sync(args)
    sink.report(out_shape)
    return 0


if __name__ == "__main__":
    sys.exit(main())
