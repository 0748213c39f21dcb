#include "study_report.hpp"

#include <cstdio>

#include "version.hpp"

namespace pyn::cli {

namespace {

std::string format(const char* pattern, auto... values) {
  char text[512];
  std::snprintf(text, sizeof text, pattern, values...);
  return text;
}

const RunReport* find(const std::vector<RunReport>& reports, Strategy strategy) {
  for (const RunReport& r : reports) {
    if (r.strategy == strategy) {
      return &r;
    }
  }
  return nullptr;
}

double mib(std::size_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

// One sentence per strategy, from the numbers of this run.
std::string tradeoff(const RunReport& r, const RunReport* pageable, const RunReport* split) {
  const double busy = r.stages.compute_ms * r.fps / 10.0;  // % of the time the GPU computes
  switch (r.strategy) {
    case Strategy::serial_pageable:
      return format("The simplest loop. Copies from pageable memory run at %.1f GB/s up and %.1f GB/s "
                    "down, and nothing overlaps: the GPU computes %.0f%% of the time.",
                    r.h2d_gbps, r.d2h_gbps, busy);
    case Strategy::serial_pinned:
      return format("Still one loop, but frames are read into pinned slots directly (no extra copy), "
                    "so copies run at %.1f / %.1f GB/s: %.2fx serial-pageable. The compute stream waits "
                    "%.3f ms between inferences for the copies and the host work of each frame.",
                    r.h2d_gbps, r.d2h_gbps, pageable != nullptr && pageable->fps > 0 ? r.fps / pageable->fps : 0.0,
                    r.compute_gap_ms);
    case Strategy::worker_streams:
      return format("%d threads, each with its own stream and tensors: one frame's copies overlap "
                    "another's inference (gap %.3f ms, efficiency %.2f), at the price of %.0f MiB of "
                    "VRAM and frames that wait for a worker (latency p50 %.2f ms).",
                    r.compute_lanes, r.compute_gap_ms, r.efficiency, mib(r.vram_bytes), r.latency_p50_ms);
    case Strategy::split_streams:
      return format("One compute stream fed by an H2D and a D2H stream, a thread per stage, linked by "
                    "events: the compute stream idles %.3f ms between inferences, %.2f of the bound, "
                    "with one set of tensors (%.0f MiB of VRAM).",
                    r.compute_gap_ms, r.efficiency, mib(r.vram_bytes));
    case Strategy::multi_compute:
      return format("%d compute streams let one inference start while another ends (gap %.3f ms, "
                    "efficiency %.2f); it costs %.0f MiB of VRAM%s.",
                    r.compute_lanes, r.compute_gap_ms, r.efficiency, mib(r.vram_bytes),
                    split != nullptr
                        ? format(", %.0f MiB more than split-streams, for %.1f%% more fps",
                                 mib(r.vram_bytes) - mib(split->vram_bytes),
                                 split->fps > 0 ? 100.0 * (r.fps / split->fps - 1.0) : 0.0)
                              .c_str()
                        : "");
  }
  return {};
}

}  // namespace

std::string study_markdown(const DeviceInfo& device, const WorkloadInfo& workload,
                           const std::vector<RunReport>& reports) {
  std::string md = "# pynference study\n\n";
  md += format("Device: %s. Commit %s.\n\n", device_line(device).c_str(), kCommit);
  if (device.backend == Backend::host) {
    md += "**This run used the host backend (no CUDA device): CPU timings say nothing about GPUs.** "
          "Run it on a machine with an NVIDIA GPU for the real study.\n\n";
  }
  md += format("Workload: %dx%d %s frames, %s, %s, %lld frames per strategy.\n\n", workload.width,
               workload.height, workload.pixel.c_str(), workload.dtype.c_str(), workload.engine.c_str(),
               workload.frames);
  md += "Stage times are medians per frame, each stage measured alone; *both* is an H2D and a D2H "
        "streaming at once. bound = 1/max(stage times), efficiency = fps/bound, gap = mean idle "
        "time of the compute stream(s) between two inferences.\n\n";
  md += "| strategy | fps | bound | efficiency | H2D ms | compute ms | D2H ms | both ms | gap ms | "
        "latency p50 ms | H2D GB/s | D2H GB/s | VRAM MiB |\n";
  md += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const RunReport& r : reports) {
    md += format("| %s | %.1f | %.1f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f | %.1f | %.1f | %.0f |\n",
                 std::string(to_string(r.strategy)).c_str(), r.fps, r.bound_fps, r.efficiency, r.stages.h2d_ms,
                 r.stages.compute_ms, r.stages.d2h_ms, r.stages.duplex_ms, r.compute_gap_ms,
                 r.latency_p50_ms, r.h2d_gbps, r.d2h_gbps, mib(r.vram_bytes));
  }
  md += "\nCopy rates are those seen during the run.\n\n## The strategies, as measured\n\n";
  const RunReport* pageable = find(reports, Strategy::serial_pageable);
  const RunReport* split = find(reports, Strategy::split_streams);
  for (const RunReport& r : reports) {
    const std::string name(to_string(r.strategy));
    md += "### " + name + "\n\n" + tradeoff(r, pageable, split) + "\n\n";
    md += "![" + name + " timeline](" + name + ".svg)\n\n";
  }
  md += "Each picture shows a few frames from the middle of the run: one row per GPU stream and per "
        "host thread; green H2D, blue compute, red D2H, as in the study. The matching "
        "`<strategy>.trace.json` opens in Perfetto or chrome://tracing.\n";
  return md;
}

}  // namespace pyn::cli
