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

// How tile_plan cuts a frame.
struct TileOptions {
  int width = 0;  // of a tile, in input pixels
  int height = 0;
  // Input pixels two neighbouring tiles share. Each keeps about its half: the boundary between
  // their kept parts lies in the middle of the shared strip (on an even pixel), so a network whose
  // output pixel depends on inputs up to r pixels away gives the whole frame's result when
  // overlap >= 2r + 2 (pixels near a tile's own edge are the ones dropped).
  int overlap = 16;
  int batch = 1;     // tiles per engine run: the tensor's N (fewer when the frame has fewer tiles)
  int multiple = 1;  // tile sizes rounded up to this (a network that needs multiples of 8)
};

// Tiles of one size covering frames of `input`, through an engine that scales by `scale`: along
// each axis tiles start every (tile - overlap) pixels (on even pixels for 4:2:0 input) and the last
// one is moved inward to end at the frame's edge, so no tile leaves the frame and tiles need not
// divide it; a frame no larger than a tile along an axis is one tile of the frame's size there.
// Each tile's result is cropped to its kept part and written where it lies in the output frame;
// jobs go row by row into steps of up to `batch` slices. Throws UsageError, one line naming the
// field and its value: sizes, batch or multiple under 1, a negative overlap or one not under the
// tile, a scale under 1, a 4:2:0 frame of odd width or height cut into more than one tile along it.
[[nodiscard]] ComputePlan tile_plan(const FrameFormat& input, const TileOptions& tiles, int scale);

// The smallest tiles, each side the one `tiles` asks (rounded up as tile_plan rounds it) less a
// whole number of steps (the least common multiple of `unit`, tiles.multiple and, for 4:2:0
// input, 2), that cut frames of `input` into as many tiles along each axis as `tiles` does: the
// same count of tiles with as little of the frame computed twice as steps of that size allow. A 1920x1080 frame in tiles of 800x800 with an overlap of 16 is 3 x 2
// tiles, 1.85 times its pixels; in the 656x560 tiles this gives, 3 x 2 again and 1.06 times. A
// side no smaller than the frame's becomes the frame's. Throws UsageError as tile_plan does.
[[nodiscard]] TileOptions balanced_tiles(const FrameFormat& input, const TileOptions& tiles,
                                         int unit = 1);

// "6 tiles of 512x512, 2 per inference", for summaries; "whole frames" for a plan of one job.
[[nodiscard]] std::string describe(const ComputePlan& plan);

// Throws UsageError, one line naming the field, where the plan cannot run on frames of `input`:
// no steps, a step without jobs, a slice outside 0..N-1 or used twice in a step, a region not of
// the tensor's H x W or outside the frame. (Crops and destinations are checked against the
// engine's output when the Processor prepares the conversions.)
void check_plan(const ComputePlan& plan, const FrameFormat& input);

}  // namespace pyn
