#include "pynference/pipeline/vram_budget.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "pynference/core/error.hpp"

namespace pyn {

namespace {

double pixels_of(const std::optional<ComputePlan>& plan, const FrameFormat& input) {
  const TensorShape t = plan ? plan->input : tensor_shape_of(input);
  return static_cast<double>(t.n) * t.h * t.w;
}

// What a probe's allocator does not show it (fragmentation, a run's transient allocations) is
// left room for: choices aim at this share of the budget.
constexpr double kHeadroom = 0.95;
constexpr int kUnit = 16;  // tile sides are multiples of this (and of the network's multiple)
constexpr int kLargeProbe = 256;  // the side of the larger tiles of the per-pixel probe
constexpr int kRounds = 4;        // choices measured before giving up

}  // namespace

std::string format_bytes(double bytes) {
  constexpr double kKiB = 1024.0;
  constexpr double kMiB = kKiB * 1024.0;
  constexpr double kGiB = kMiB * 1024.0;
  std::array<char, 32> text{};
  if (bytes >= kGiB) {
    std::snprintf(text.data(), text.size(), "%.2f GiB", bytes / kGiB);
  } else if (bytes >= kMiB) {
    std::snprintf(text.data(), text.size(), "%.1f MiB", bytes / kMiB);
  } else {
    std::snprintf(text.data(), text.size(), "%.1f KiB", bytes / kKiB);
  }
  return text.data();
}

ProcessorProbe::ProcessorProbe(const Device& device, Engine& engine, const FrameFormat& input,
                               ProcessorOptions options)
    : device_(device), engine_(engine), input_(input), options_(std::move(options)) {}

std::size_t ProcessorProbe::measure(const std::optional<ComputePlan>& plan, int slots) {
  ProcessorOptions options = options_;
  options.plan = plan;
  options.slots = slots;
  // What earlier Processors left in the engine's cache is not this one's footprint, and would stay
  // beside the run's own (a caching allocator keeps blocks per stream, and the run's streams are
  // new): it goes back to the device before and after each measure.
  engine_.release_cached_memory();
  std::size_t used = 0;
  {
    Processor processor(device_, engine_, input_, options);
    processor.prepare_all();
    device_.synchronize();
    used = device_.backend() == Backend::cuda ? device_.used_on_device() : processor.vram_bytes();
  }
  engine_.release_cached_memory();
  return used;
}

VramChoice choose_for_vram(const FrameFormat& input, const VramRequest& request,
                           FootprintProbe& probe) {
  if (request.max_vram == 0) {
    throw UsageError("VramRequest max_vram is 0");
  }
  if (request.min_slots < 1 || request.slots < request.min_slots) {
    throw UsageError("VramRequest slots " + std::to_string(request.slots) + " and min_slots " +
                     std::to_string(request.min_slots) + " are not 1 <= min_slots <= slots");
  }
  const int width = width_of(input);
  const int height = height_of(input);
  const int unit = std::lcm(kUnit, std::max(1, request.tiles.multiple));
  // The smallest tile: a multiple of the unit that still advances by at least the overlap.
  const int smallest = (2 * request.tiles.overlap / unit + 1) * unit;
  const int largest = std::max(smallest, request.tiles.width > 0
                                             ? std::max(request.tiles.width, request.tiles.height)
                                             : std::max(width, height));
  const auto tiles_of = [&](int side) {
    TileOptions tiles = request.tiles;
    tiles.width = side;
    tiles.height = side;
    // As few pixels computed twice as the tile count allows: square tiles of the largest side
    // that fits would mostly overlap where the frame is not a multiple of them.
    return tile_plan(input, balanced_tiles(input, tiles, unit), request.scale);
  };

  // Three Processors for the model's coefficients, smaller before larger (an engine's allocator
  // may keep what a larger run took).
  const int lo = request.min_slots;
  const ComputePlan small = tiles_of(smallest);
  // Large enough that the engine's allocations are not mostly the rounding of a caching
  // allocator's blocks (2 MiB and up), which hides the per-pixel part at the smallest tiles.
  const ComputePlan large = tiles_of(std::min(std::max(2 * smallest, kLargeProbe), largest));
  const auto m_small = static_cast<double>(probe.measure(small, lo));
  const auto m_slot = static_cast<double>(probe.measure(small, lo + 1));
  const auto m_large = static_cast<double>(probe.measure(large, lo));
  Footprint footprint;
  footprint.per_slot = std::max(0.0, m_slot - m_small);
  const double px_small = pixels_of(small, input);
  const double px_large = pixels_of(large, input);
  footprint.per_pixel =
      px_large > px_small ? std::max(0.0, (m_large - m_small) / (px_large - px_small)) : 0.0;
  footprint.fixed = m_small - footprint.per_pixel * px_small - footprint.per_slot * lo;

  // Candidates, best first: whole frames, then square tiles from the largest side down.
  std::vector<std::optional<ComputePlan>> candidates;
  if (request.allow_whole) {
    candidates.emplace_back(std::nullopt);
  }
  for (int side = largest / unit * unit; side >= smallest; side -= unit) {
    ComputePlan plan = tiles_of(side);
    if (!candidates.empty() && candidates.back() && candidates.back()->input == plan.input) {
      continue;  // clamped to the frame: the same tiles as a larger side gave
    }
    candidates.emplace_back(std::move(plan));
  }

  const auto named = [](const std::optional<ComputePlan>& plan, int slots) {
    const std::string kept = std::to_string(slots) + (slots == 1 ? " slot" : " slots");
    if (!plan) {
      return "whole frames with " + kept;
    }
    return "tiles of " + std::to_string(plan->input.w) + "x" + std::to_string(plan->input.h) +
           ", " + std::to_string(plan->input.n) + " per inference, with " + kept;
  };
  const double target = kHeadroom * static_cast<double>(request.max_vram);
  std::string missed;
  for (int round = 0; round < kRounds; ++round) {
    const std::optional<ComputePlan>* chosen = nullptr;
    int slots = 0;
    for (int s = request.slots; s >= lo && chosen == nullptr; --s) {
      for (const auto& candidate : candidates) {
        if (footprint.bytes(pixels_of(candidate, input), s) <= target) {
          chosen = &candidate;
          slots = s;
          break;
        }
      }
    }
    if (chosen == nullptr) {
      break;
    }
    const std::size_t measured = probe.measure(*chosen, slots);
    if (measured <= request.max_vram) {
      return VramChoice{*chosen, slots, measured, footprint};
    }
    // The model fell short at this size: the per-pixel part is at least what this measure says
    // (the probes' tiles were too small to show it), and the next choice takes that.
    missed =
        "; " + named(*chosen, slots) + " measured " + format_bytes(static_cast<double>(measured));
    const double pixels = pixels_of(*chosen, input);
    footprint.per_pixel =
        std::max(footprint.per_pixel,
                 (static_cast<double>(measured) - footprint.fixed - footprint.per_slot * slots) /
                     pixels);
  }
  throw UsageError("max_vram " + format_bytes(static_cast<double>(request.max_vram)) +
                   " is under the " + format_bytes(footprint.bytes(px_small, lo)) + " that " +
                   named(small, lo) + " take (fixed part " + format_bytes(footprint.fixed) + ")" +
                   missed);
}

}  // namespace pyn
