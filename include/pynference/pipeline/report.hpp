#pragma once
// What a run measured. Definitions (the same everywhere in the tool and the docs):
//   fps         frames out / wall time, after warm-up
//   stage times median GPU time per frame of H2D, compute (pre + engine + post) and D2H, each
//               measured alone with events before the run; and of both copies at once ("duplex"),
//               since the link carries both directions together slower than each alone
//   bound       1 / max(stage times): the rate a perfect overlap of these stages would reach
//   efficiency  fps / bound
//   compute gap mean idle time of the compute stream(s) between two inferences
//   vram        peak device memory of the pipeline's buffers plus the engine's workspace (with
//               CUDA graphs, the engine's memory for them included)

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pynference/pipeline/strategy.hpp"

namespace pyn {

// One frame's spans, in ms from the start of the run on one clock (GPU events are aligned to the
// host clock at the start). `lane` is the compute stream that ran it. The issue_* spans are the
// host threads enqueueing each stage; they are recorded only when tracing (PipelineOptions::trace).
struct FrameRecord {
  std::int64_t frame = 0;
  int lane = 0;
  double source_begin = 0, source_end = 0;
  double h2d_begin = 0, h2d_end = 0;
  double compute_begin = 0, compute_end = 0;
  double d2h_begin = 0, d2h_end = 0;
  double sink_begin = 0, sink_end = 0;
  double issue_h2d_begin = 0, issue_h2d_end = 0;
  double issue_compute_begin = 0, issue_compute_end = 0;
  double issue_d2h_begin = 0, issue_d2h_end = 0;
};

// Which streams and host threads a strategy used, so spans can be put on the right lane.
struct Layout {
  // serial-* and worker-streams run copies on the compute lane's own stream (and thread);
  // split-streams and multi-compute have one H2D and one D2H stream, each with its own thread.
  bool copies_on_lane_streams = false;
  // serial-*: one host thread does everything, source and sink included.
  bool single_thread = false;
};

struct StageTimes {
  double h2d_ms = 0;
  double compute_ms = 0;
  double d2h_ms = 0;
  double duplex_ms = 0;  // an H2D and a D2H of one frame each, issued together
  [[nodiscard]] double slowest_ms() const noexcept;
};

struct RunReport {
  Strategy strategy = Strategy::split_streams;
  Layout layout;
  int streams = 0;        // GPU streams (or host-backend worker threads standing in for them)
  int compute_lanes = 0;  // of which run the engine
  int slots = 0;
  int batch = 1;                     // frames per engine run
  bool cuda_graph = false;           // compute launched as captured CUDA graphs (PipelineOptions)
  std::int64_t frames = 0;           // frames written to the sink
  std::int64_t measured_frames = 0;  // after warm-up
  double wall_s = 0;
  double fps = 0;
  StageTimes stages;  // each stage alone: the basis of the bound
  StageTimes in_run;  // medians of the same spans during the run (duplex unused)
  double bound_fps = 0;
  double efficiency = 0;
  double compute_gap_ms = 0;
  double latency_p50_ms = 0;
  double latency_p99_ms = 0;
  double h2d_gbps = 0;  // bytes of one input frame / median H2D time during the run
  double d2h_gbps = 0;
  std::size_t vram_bytes = 0;
  // From the start of the run (the engine loaded, nothing allocated yet) to the first frame handed
  // to the sink: buffers, the engine's warm-up on its threads, the measuring pass where asked.
  double first_frame_ms = 0;
  // Of that: the device buffers allocated and the sink opened (setup), then until the first lane's
  // engine was warmed up (warm-up; every lane's in a measured run, where the other lanes do not
  // warm up beside the frames). The first group's host buffers are made meanwhile. What is left is
  // the first frame's own way through (and the measuring pass, where asked).
  double setup_ms = 0;
  double warmup_ms = 0;
  // Slots whose first frames went through pageable stand-ins for their pinned host buffers: the
  // first group of an unmeasured run (batch slots), pinned at its next use, while the other slots
  // wait for the first frame before they are pinned. 0 in a measured run, with cuda_graph, and
  // where the schedule copies from pageable memory.
  std::int64_t stand_in_slots = 0;
  // Frames copied host to device and back: fewer than frames where the source lends device frames
  // or the sink takes them.
  std::int64_t uploads = 0;
  std::int64_t downloads = 0;
  bool interrupted = false;
  std::vector<FrameRecord> records;
};

// Fill the derived fields of `report` from report.stages and its records (exposed for tests).
void summarize(RunReport& report, std::int64_t warmup, std::size_t in_bytes, std::size_t out_bytes);

}  // namespace pyn
