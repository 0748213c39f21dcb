#pragma once
// What the compute step of one frame does, decided once per run: a list of steps, each one engine
// run over a tensor of N slices, each slice filled from a region of the input frame (a job) and
// its result, or a crop of it, written into the output frame. The whole frame through one N = 1
// tensor is the plan every run has today; tiles (regions with overlap, crops without) and batches
// (several jobs in one step) are plans too, so they need no change to the schedules.

#include <string>
#include <vector>

#include "pynference/core/frame_format.hpp"
#include "pynference/core/types.hpp"
#include "pynference/core/view.hpp"

namespace pyn {

struct ComputeJob {
  Rect region;    // of the input frame, read into the slice (its size is the tensor's H x W)
  int slice = 0;  // of the step's tensors
  Rect crop;      // of the slice's result that is kept (empty: all of it)
  int x = 0;      // where the crop's top-left lands in the output frame
  int y = 0;
};

struct ComputeStep {
  std::vector<ComputeJob> jobs;  // at most one per slice
};

struct ComputePlan {
  TensorShape input;  // of every engine run: N x 3 x H x W
  // The output frame's size; 0 x 0 is the engine's output slice (the whole-frame plan).
  int output_width = 0;
  int output_height = 0;
  std::vector<ComputeStep> steps;

  [[nodiscard]] std::size_t jobs() const noexcept;
};

// The whole frame through one N = 1 tensor, its result kept whole.
[[nodiscard]] ComputePlan whole_frame_plan(const FrameFormat& input);

// Throws UsageError, one line naming the field, where the plan cannot run on frames of `input`:
// no steps, a step without jobs, a slice outside 0..N-1 or used twice in a step, a region not of
// the tensor's H x W or outside the frame. (Crops and destinations are checked against the
// engine's output when the Processor prepares the conversions.)
void check_plan(const ComputePlan& plan, const FrameFormat& input);

}  // namespace pyn
