#!/usr/bin/env python3
"""Turn `pynference bench --json` files into the Markdown tables of docs/benchmarks.md.

    python3 scripts/bench-tables.py bench-transfer-bound.json bench-compute-bound.json ...
"""
import json
import sys


def table(path):
    with open(path) as f:
        data = json.load(f)
    w = data["workload"]
    lines = [
        f"**{w['width']}x{w['height']} {w['pixel']}, x{w['scale']}, {w['engine']}** "
        f"({w['frames']} frames a run) — {data['device']['name']}, commit `{data['commit']}`",
        "",
        "| strategy | fps | runs (fps) | bound | efficiency | H2D ms | compute ms | D2H ms | both ms "
        "| gap ms | latency p50 ms | H2D GB/s | D2H GB/s | VRAM MiB |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in data["results"]:
        runs = ", ".join(f"{x:.0f}" for x in r.get("fps_runs", []))
        lines.append(
            f"| {r['strategy']} | {r['fps']:.1f} | {runs} | {r['bound_fps']:.1f} | {r['efficiency']:.3f} "
            f"| {r['h2d_ms']:.3f} | {r['compute_ms']:.3f} | {r['d2h_ms']:.3f} | {r['duplex_ms']:.3f} "
            f"| {r['compute_gap_ms']:.3f} | {r['latency_p50_ms']:.2f} | {r['h2d_gbps']:.1f} "
            f"| {r['d2h_gbps']:.1f} | {r['vram_bytes'] / 2**20:.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print("\n\n".join(table(p) for p in sys.argv[1:]))
