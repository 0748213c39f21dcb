#include "filter.hpp"

#include <utility>

namespace pyn::vs {
namespace {

ProcessorOptions processor_options(const FrameFormat& output, const FilterOptions& options) {
  ProcessorOptions processor;
  processor.lanes = options.lanes;
  processor.slots = options.slots;
  processor.output_format = output;
  // A frame's copies overlap other frames' compute on any number of streams.
  processor.copy_streams = true;
  return processor;
}

}  // namespace

ModelFilter::ModelFilter(const Device& device, std::unique_ptr<Engine> engine,
                         const FrameFormat& input, const FrameFormat& output,
                         const FilterOptions& options)
    : device_(device),
      engine_(std::move(engine)),
      processor_(device_, *engine_, input, processor_options(output, options)) {
  processor_.prepare_all();
}

Processor::Slot& ModelFilter::take() {
  std::unique_lock lock(free_mutex_);
  Processor::Slot* slot = nullptr;
  slot_free_.wait(lock, [&] { return (slot = processor_.acquire()) != nullptr; });
  return *slot;
}

void ModelFilter::give(Processor::Slot& slot) {
  {
    // Under the lock that take() checks under, so a thread about to sleep cannot miss this slot.
    const std::lock_guard lock(free_mutex_);
    processor_.release(slot);
  }
  slot_free_.notify_one();
}

void ModelFilter::process(std::int64_t frame, const std::function<void(std::span<std::byte>)>& fill,
                          const std::function<void(std::span<const std::byte>)>& drain) {
  // VapourSynth's threads are not ours: each call keeps the thread's own current device.
  const DeviceGuard guard(device_);
  Processor::Slot& slot = take();
  bool submitted = false;
  try {
    fill(Processor::input(slot));
    processor_.submit(slot, frame);
    submitted = true;
    processor_.wait(slot);
    drain(processor_.output(slot));
  } catch (...) {
    // A slot goes back only when the device is done with it, whatever failed.
    if (submitted) {
      try {
        processor_.wait(slot);
      } catch (...) {  // the first failure is the one reported
      }
    }
    give(slot);
    throw;
  }
  give(slot);
}

}  // namespace pyn::vs
