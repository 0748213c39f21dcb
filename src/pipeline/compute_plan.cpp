#include "pynference/pipeline/compute_plan.hpp"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "pynference/core/error.hpp"

namespace pyn {

std::size_t ComputePlan::jobs() const noexcept {
  return std::accumulate(steps.begin(), steps.end(), std::size_t{0},
                         [](std::size_t n, const ComputeStep& s) { return n + s.jobs.size(); });
}

ComputePlan whole_frame_plan(const FrameFormat& input) {
  const int width = width_of(input);
  const int height = height_of(input);
  ComputePlan plan;
  plan.input = TensorShape{1, 3, height, width};
  plan.steps.push_back(ComputeStep{{ComputeJob{Rect{0, 0, width, height}, 0, Rect{}, 0, 0}}});
  return plan;
}

namespace {

// One axis of a tiling: where each tile's region starts, and the part of the axis it keeps.
struct Span {
  int start = 0;
  int keep_begin = 0;
  int keep_end = 0;
};

int round_up(int value, int multiple) { return (value + multiple - 1) / multiple * multiple; }

std::vector<Span> cut_axis(const char* axis, int length, int tile, int overlap, int align) {
  if (tile >= length) {
    return {Span{0, 0, length}};
  }
  if (align > 1 && length % align != 0) {
    throw UsageError("TileOptions " + std::string(axis) + " " + std::to_string(tile) +
                     " cuts a 4:2:0 frame of odd " + axis + " " + std::to_string(length) +
                     " into several tiles; 4:2:0 tiles start on even pixels");
  }
  const int stride = (tile - overlap) / align * align;
  if (stride < 1) {
    throw UsageError("TileOptions overlap " + std::to_string(overlap) + " leaves no step between " +
                     std::to_string(tile) + "-pixel tiles starting on even pixels (4:2:0)");
  }
  std::vector<Span> spans;
  for (int start = 0;; start += stride) {
    if (start + tile >= length) {
      spans.push_back(Span{length - tile, 0, length});
      break;
    }
    spans.push_back(Span{start, 0, length});
  }
  // Neighbours meet in the middle of the strip they share, on an even pixel so that 4:2:0 output
  // blocks are never split between two tiles.
  for (std::size_t i = 0; i + 1 < spans.size(); ++i) {
    const int shared_begin = spans[i + 1].start;
    const int shared_end = spans[i].start + tile;
    const int meet = (shared_begin + shared_end) / 2 / 2 * 2;
    spans[i].keep_end = meet;
    spans[i + 1].keep_begin = meet;
  }
  return spans;
}

}  // namespace

ComputePlan tile_plan(const FrameFormat& input, const TileOptions& tiles, int scale) {
  const auto fail = [](const std::string& field, int value, const std::string& why) {
    throw UsageError("TileOptions " + field + " " + std::to_string(value) + " " + why);
  };
  if (tiles.width < 1) {
    fail("width", tiles.width, "is not a size (at least 1)");
  }
  if (tiles.height < 1) {
    fail("height", tiles.height, "is not a size (at least 1)");
  }
  if (tiles.overlap < 0) {
    fail("overlap", tiles.overlap, "is negative");
  }
  if (tiles.overlap >= std::min(tiles.width, tiles.height)) {
    fail("overlap", tiles.overlap,
         "is not less than the tile's " + std::to_string(tiles.width) + "x" +
             std::to_string(tiles.height));
  }
  if (tiles.batch < 1) {
    fail("batch", tiles.batch, "is not at least 1");
  }
  if (tiles.multiple < 1) {
    fail("multiple", tiles.multiple, "is not at least 1");
  }
  if (scale < 1) {
    throw UsageError("tile_plan scale " + std::to_string(scale) + " is not at least 1");
  }
  const int width = width_of(input);
  const int height = height_of(input);
  const auto* yuv = std::get_if<YuvDesc>(&input);
  const int align = yuv != nullptr ? yuv->subsampling() : 1;
  const int step = std::lcm(tiles.multiple, align);
  const int tile_w = std::min(round_up(tiles.width, step), width);
  const int tile_h = std::min(round_up(tiles.height, step), height);
  const std::vector<Span> columns = cut_axis("width", width, tile_w, tiles.overlap, align);
  const std::vector<Span> rows = cut_axis("height", height, tile_h, tiles.overlap, align);
  const std::size_t count = columns.size() * rows.size();
  const int batch = static_cast<int>(std::min(count, static_cast<std::size_t>(tiles.batch)));

  ComputePlan plan;
  plan.input = TensorShape{batch, 3, tile_h, tile_w};
  plan.output_width = width * scale;
  plan.output_height = height * scale;
  plan.steps.reserve((count + static_cast<std::size_t>(batch) - 1) /
                     static_cast<std::size_t>(batch));
  for (const Span& row : rows) {
    for (const Span& column : columns) {
      if (plan.steps.empty() || static_cast<int>(plan.steps.back().jobs.size()) == batch) {
        plan.steps.emplace_back();
        plan.steps.back().jobs.reserve(static_cast<std::size_t>(batch));
      }
      auto& jobs = plan.steps.back().jobs;
      const Rect crop{
          (column.keep_begin - column.start) * scale, (row.keep_begin - row.start) * scale,
          (column.keep_end - column.keep_begin) * scale, (row.keep_end - row.keep_begin) * scale};
      jobs.push_back(ComputeJob{Rect{column.start, row.start, tile_w, tile_h},
                                static_cast<int>(jobs.size()), crop, column.keep_begin * scale,
                                row.keep_begin * scale});
    }
  }
  return plan;
}

namespace {

// Tiles cut_axis makes along an axis of `length` from tiles of `tile` (0 where the overlap leaves
// no step between them).
int tiles_along(int length, int tile, int overlap, int align) {
  if (tile >= length) {
    return 1;
  }
  const int stride = (tile - overlap) / align * align;
  if (stride < 1) {
    return 0;
  }
  return 1 + (length - tile + stride - 1) / stride;
}

int balanced_side(int length, int tile, int overlap, int align, int step) {
  const int count = tiles_along(length, tile, overlap, align);
  if (count == 1) {
    return std::min(tile, length);
  }
  int side = tile;
  while (side - step > overlap && tiles_along(length, side - step, overlap, align) == count) {
    side -= step;
  }
  return side;
}

}  // namespace

TileOptions balanced_tiles(const FrameFormat& input, const TileOptions& tiles, int unit) {
  if (unit < 1) {
    throw UsageError("balanced_tiles unit " + std::to_string(unit) + " is not at least 1");
  }
  (void)tile_plan(input, tiles, 1);  // tile_plan's checks of the options, and of odd 4:2:0 sizes
  const auto* yuv = std::get_if<YuvDesc>(&input);
  const int align = yuv != nullptr ? yuv->subsampling() : 1;
  const int step = std::lcm(std::lcm(unit, tiles.multiple), align);
  TileOptions balanced = tiles;
  balanced.width = balanced_side(width_of(input), round_up(tiles.width, std::lcm(tiles.multiple, align)),
                                 tiles.overlap, align, step);
  balanced.height = balanced_side(height_of(input), round_up(tiles.height, std::lcm(tiles.multiple, align)),
                                  tiles.overlap, align, step);
  return balanced;
}

std::string describe(const ComputePlan& plan) {
  const std::size_t jobs = plan.jobs();
  if (jobs <= 1) {
    return "whole frames";
  }
  return std::to_string(jobs) + " tiles of " + std::to_string(plan.input.w) + "x" +
         std::to_string(plan.input.h) + ", " + std::to_string(plan.input.n) + " per inference";
}

void check_plan(const ComputePlan& plan, const FrameFormat& input) {
  const auto fail = [](const std::string& why) { throw UsageError("ComputePlan " + why); };
  const TensorShape& t = plan.input;
  if (t.n < 1 || t.c != 3 || t.h < 1 || t.w < 1) {
    fail("input " + std::to_string(t.n) + "x" + std::to_string(t.c) + "x" + std::to_string(t.h) +
         "x" + std::to_string(t.w) + " is not N x 3 x H x W");
  }
  if (plan.steps.empty()) {
    fail("has no steps");
  }
  if ((plan.output_width == 0) != (plan.output_height == 0) || plan.output_width < 0 ||
      plan.output_height < 0) {
    fail("output size " + std::to_string(plan.output_width) + "x" +
         std::to_string(plan.output_height) + " is neither 0x0 nor a size");
  }
  const int width = width_of(input);
  const int height = height_of(input);
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const auto& jobs = plan.steps[s].jobs;
    const std::string step = "step " + std::to_string(s);
    if (jobs.empty()) {
      fail(step + " has no jobs");
    }
    std::vector<bool> used(static_cast<std::size_t>(t.n), false);
    for (const ComputeJob& job : jobs) {
      if (job.slice < 0 || job.slice >= t.n) {
        fail(step + " slice " + std::to_string(job.slice) + " is outside 0.." +
             std::to_string(t.n - 1));
      }
      if (used[static_cast<std::size_t>(job.slice)]) {
        fail(step + " slice " + std::to_string(job.slice) + " has two jobs");
      }
      used[static_cast<std::size_t>(job.slice)] = true;
      const Rect& r = job.region;
      if (r.width != t.w || r.height != t.h) {
        fail(step + " region " + to_string(r) + " is not the tensor's " + std::to_string(t.w) +
             "x" + std::to_string(t.h));
      }
      if (r.x < 0 || r.y < 0 || r.x + r.width > width || r.y + r.height > height) {
        fail(step + " region " + to_string(r) + " is outside the " + std::to_string(width) + "x" +
             std::to_string(height) + " frame");
      }
    }
  }
  if (plan.steps.size() > 1 || plan.steps.front().jobs.size() > 1) {
    if (plan.output_width == 0) {
      fail("of several jobs needs an output size");
    }
  }
}

}  // namespace pyn
