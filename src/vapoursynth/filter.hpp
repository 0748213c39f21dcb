#pragma once
// What core.pyn.Model keeps between frames: one device, its engine and one Processor, served
// through the Processor's per-frame face to whichever VapourSynth threads ask, in any order and at
// once. A thread that finds every slot in flight sleeps until one comes back.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>

#include "pynference/pipeline/processor.hpp"

namespace pyn::vs {

struct FilterOptions {
  int lanes = 2;  // num_streams: a lane's frames go through one stream, so overlap needs two
  int slots = 4;  // frames in flight
};

class ModelFilter {
 public:
  // Prepares every lane (the engine's warm-up) before it returns.
  ModelFilter(const Device& device, std::unique_ptr<Engine> engine, const FrameFormat& input,
              const FrameFormat& output, const FilterOptions& options);

  [[nodiscard]] const FrameFormat& output_format() const noexcept {
    return processor_.output_format();
  }
  [[nodiscard]] const Engine& engine() const noexcept { return *engine_; }

  // Frame `frame` through the network: `fill` writes its input, packed (input_bytes()), `drain`
  // reads its output, packed, after the device is done with it. Any thread; blocks for a slot and
  // then for the frame. Errors leave as the Processor's (StageError), or what fill/drain threw.
  void process(std::int64_t frame, const std::function<void(std::span<std::byte>)>& fill,
               const std::function<void(std::span<const std::byte>)>& drain);

 private:
  Processor::Slot& take();
  void give(Processor::Slot& slot);

  Device device_;
  std::unique_ptr<Engine> engine_;
  Processor processor_;
  std::mutex free_mutex_;
  std::condition_variable slot_free_;
};

}  // namespace pyn::vs
