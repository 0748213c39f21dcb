#!/usr/bin/env python3
"""Every Python baseline with the same options, one JSON line each (the study's five strategies).

    python3 bench/python/run_all.py --model compact-x4 --size 960x540 --frames 200 --fp16 [--checksum]

Options other than --workers and --compute-streams go to every script unchanged.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", default="3", help="worker-streams threads (default 3)")
    parser.add_argument("--compute-streams", default="3", help="multi-compute inference streams (default 3)")
    args, rest = parser.parse_known_args()
    runs = [
        ["serial_pageable.py"],
        ["serial_pinned.py"],
        ["worker_streams.py", "--workers", args.workers],
        ["split_streams.py"],
        ["split_streams.py", "--compute-streams", args.compute_streams],
    ]
    status = 0
    for script, *extra in runs:
        result = subprocess.run([sys.executable, str(HERE / script), *extra, *rest], check=False)
        status = status or result.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
