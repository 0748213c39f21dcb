#pragma once
// Tiles and slots chosen so that a run stays under a device memory budget (the CLI's --max-vram).
//
// The memory a Processor takes is modelled as linear: a fixed part (the context, the weights), a
// part per pixel of the engine's input tensor (N x H x W: the lanes' tensors and the activations
// the engine keeps), and a part per slot (a whole frame in and out on the device). Its three
// coefficients come from three Processors made and prepared for real: small tiles with the fewest
// slots, the same with one slot more, larger tiles (256 pixels a side where the frame allows). The
// largest tiles (or whole frames) under the budget are then chosen, keeping the schedule's slots
// where the smallest tiles allow, and the choice itself is measured before it is taken; where it
// measures over the budget, its figure raises the per-pixel part and the next choice is smaller. The measurement sits behind
// FootprintProbe, so that the choice can be tested with a fake where the host backend cannot show a
// GPU's memory.

#include <cstddef>
#include <optional>
#include <string>

#include "pynference/device/device.hpp"
#include "pynference/engine/engine.hpp"
#include "pynference/pipeline/compute_plan.hpp"
#include "pynference/pipeline/processor.hpp"

namespace pyn {

class FootprintProbe {
 public:
  FootprintProbe() = default;
  FootprintProbe(const FootprintProbe&) = delete;
  FootprintProbe& operator=(const FootprintProbe&) = delete;
  virtual ~FootprintProbe() = default;
  // Device bytes in use with a Processor for `plan` (none: whole frames) and `slots` slots, made
  // and prepared.
  [[nodiscard]] virtual std::size_t measure(const std::optional<ComputePlan>& plan, int slots) = 0;
};

// Real Processors on `device`, with `options` (lanes, output format, ...) but the plan and slots
// asked for. On a CUDA device the figure is the device's own memory in use while the Processor is
// prepared (the context and everything the engine holds included: what nvidia-smi shows); on the
// host backend, Processor::vram_bytes().
class ProcessorProbe final : public FootprintProbe {
 public:
  ProcessorProbe(const Device& device, Engine& engine, const FrameFormat& input,
                 ProcessorOptions options);
  [[nodiscard]] std::size_t measure(const std::optional<ComputePlan>& plan, int slots) override;

 private:
  const Device& device_;
  Engine& engine_;
  FrameFormat input_;
  ProcessorOptions options_;
};

struct Footprint {
  double fixed = 0;      // bytes
  double per_pixel = 0;  // bytes per pixel of the engine's input tensor (N x H x W)
  double per_slot = 0;   // bytes
  [[nodiscard]] double bytes(double pixels, int slots) const noexcept {
    return fixed + per_pixel * pixels + per_slot * slots;
  }
};

struct VramRequest {
  std::size_t max_vram = 0;  // bytes
  int slots = 6;             // the schedule's slots
  int min_slots = 2;         // the fewest the schedule runs with
  // Overlap, batch and multiple of the tiles; width and height, when set, the largest tile to
  // consider (else the frame's larger side).
  TileOptions tiles;
  int scale = 1;  // the engine's
  // Whole frames are taken when they fit; false: tiles always.
  bool allow_whole = true;
};

struct VramChoice {
  std::optional<ComputePlan> plan;  // none: whole frames
  int slots = 0;
  std::size_t measured = 0;  // bytes, of the choice, through the probe
  Footprint footprint;
};

// "7.25 GiB", "512.0 MiB", "96.0 KiB", for messages.
[[nodiscard]] std::string format_bytes(double bytes);

// Throws UsageError, one line naming max_vram and what the smallest tiles take, where nothing fits;
// errors of the probe (an engine that refuses the probes' sizes) come out as they are.
[[nodiscard]] VramChoice choose_for_vram(const FrameFormat& input, const VramRequest& request,
                                         FootprintProbe& probe);

}  // namespace pyn
