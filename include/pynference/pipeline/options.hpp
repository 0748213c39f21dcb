#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>

#include "pynference/kernels/frame.hpp"
#include "pynference/pipeline/compute_plan.hpp"
#include "pynference/pipeline/stage.hpp"
#include "pynference/pipeline/strategy.hpp"

namespace pyn {

struct PipelineOptions {
  Strategy strategy = Strategy::split_streams;
  int workers = 3;          // worker-streams: threads, each with its own stream
  int compute_streams = 2;  // multi-compute: inference streams
  int slots = 0;            // frames in flight (host + device buffers); 0 picks per strategy
  // The layout, sample type and colour of output frames, if not the input's (e.g. RGB in, YUV out):
  // post-processing converts on the device. Its size is ignored: the network decides it.
  std::optional<FrameFormat> output_format;
  std::int64_t max_frames = -1;  // stop after this many frames (-1: until the source ends)
  // Measurement (bench, study, run --measure): each stage is timed alone before the first frame
  // (the basis of the bound), events carry timing, and every frame's spans are kept in the report.
  // Off (the product path): no measuring pass, events without timing, no per-frame records, so
  // memory stays flat however long the run; the report then holds frames, wall time and fps only.
  bool measure = false;
  std::int64_t warmup = 0;  // measured runs: first frames left out of fps and stage medians
  // Record the host threads' enqueue spans too (for timelines); implies measure.
  bool trace = false;
  // Capture pre + engine + post once per (slot, compute stream) as a CUDA graph before the run,
  // and launch that graph per frame instead of each kernel. CUDA devices only (UsageError on the
  // host backend); the engine may refuse (see Engine::capture).
  bool cuda_graph = false;
  // What the compute step does to each frame (tiles, batches); none is the whole frame at once.
  // The schedules do not depend on it.
  std::optional<ComputePlan> plan;
  // Frames per engine run (1..64). The schedules then move groups of `batch` slots (consecutive
  // frames) where they moved slots: `slots` counts groups, each of `batch` frames. Not with
  // cuda_graph.
  int batch = 1;
  // Set (e.g. by a SIGINT handler) to stop reading; frames in flight are finished.
  const std::atomic<bool>* stop = nullptr;
  // Test hook: called at the start of each stage of each frame; an exception it throws fails that
  // stage exactly as a real failure would.
  std::function<void(Stage, std::int64_t)> inject;
};

// The slot count a strategy uses when options.slots is 0.
[[nodiscard]] int default_slots(const PipelineOptions& options) noexcept;
// The lanes (compute streams, each with its own tensors) a strategy's Processor has.
[[nodiscard]] int lanes_of(const PipelineOptions& options) noexcept;

}  // namespace pyn
