// An unmeasured run's first frame goes through pageable stand-ins for its slot's pinned host
// buffers, so that pinning is not on its way, and no other slot is pinned before it reaches the
// sink; the first slot takes pinned buffers at its next use. The frames are the same either way.

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "run_helpers.hpp"

namespace pyn {
namespace {

using namespace std::chrono_literals;
using test::options_for;
using test::within;

const ImageDesc kImage{24, 10, PixelType::u8, ChannelOrder::rgb};

// The synthetic source, counting the buffers it is asked to prime.
class PrimeCountingSource final : public Source {
 public:
  explicit PrimeCountingSource(std::int64_t frames) : inner_(kImage, frames) {}
  [[nodiscard]] FrameFormat format() const override { return inner_.format(); }
  [[nodiscard]] std::optional<std::int64_t> frame_count() const override {
    return inner_.frame_count();
  }
  void prime(std::span<std::byte> slot) override {
    ++primed;
    inner_.prime(slot);
  }
  bool read(std::span<std::byte> slot, FrameInfo& frame) override {
    return inner_.read(slot, frame);
  }
  std::atomic<int> primed{0};

 private:
  SyntheticSource inner_;
};

// Hashes every frame, and holds the first one for a while: until it is written, no slot comes
// back, and a source that did not wait for it would fill every free slot meanwhile.
class SlowFirstFrameSink final : public Sink {
 public:
  void open(const FrameFormat& format) override { inner.open(format); }
  void write(std::span<const std::byte> frame, const FrameInfo& info) override {
    if (info.index == 0) {
      std::this_thread::sleep_for(100ms);
    }
    inner.write(frame, info);
  }
  HashSink inner;
};

struct Outcome {
  RunReport report;
  std::vector<std::uint64_t> hashes;
  int primed = 0;
};

Outcome run(Strategy strategy, bool measure, std::int64_t frames, int batch = 1) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  SyntheticEngine engine(device, {0.0, 2, DType::f16});
  PrimeCountingSource source(frames);
  SlowFirstFrameSink sink;
  PipelineOptions options = options_for(strategy);
  options.measure = measure;
  options.batch = batch;
  Outcome out;
  out.report = within(60s, [&] { return run_pipeline(device, engine, source, sink, options); });
  out.hashes = sink.inner.hashes();
  out.primed = source.primed.load();
  return out;
}

TEST(StandIns, OnlyTheFirstFramesSlotStandsInAndTradesItAtItsNextUse) {
  for (Strategy strategy : kAllStrategies) {
    const std::string what(to_string(strategy));
    // Three uses of every slot.
    const std::int64_t frames = 3 * static_cast<std::int64_t>(run(strategy, true, 1).report.slots);
    const Outcome reference_run = run(Strategy::serial_pageable, false, frames);
    const Outcome measured = run(strategy, true, frames);
    const Outcome plain = run(strategy, false, frames);
    ASSERT_EQ(plain.hashes.size(), static_cast<std::size_t>(frames)) << what;
    EXPECT_EQ(plain.hashes, reference_run.hashes) << what;
    EXPECT_EQ(measured.hashes, reference_run.hashes) << what;
    // A measured run pins every slot before its first frame: nothing stands in, nothing is re-made.
    EXPECT_EQ(measured.report.stand_in_slots, 0) << what;
    EXPECT_EQ(measured.primed, measured.report.slots) << what;
    const int slots = plain.report.slots;
    if (strategy == Strategy::serial_pageable) {
      // Its buffers are pageable throughout: nothing to stand in for.
      EXPECT_EQ(plain.report.stand_in_slots, 0) << what;
      EXPECT_EQ(plain.primed, slots) << what;
    } else {
      // The first slot stood in and was made anew (and primed again) at its next use; every other
      // slot waited for the first frame and was pinned at once.
      EXPECT_EQ(plain.report.stand_in_slots, 1) << what;
      EXPECT_EQ(plain.primed, slots + 1) << what;
    }
  }
}

// With batches, the first group stands in: every slot of the first inference.
TEST(StandIns, TheFirstGroupStandsInWithBatches) {
  for (Strategy strategy : {Strategy::split_streams, Strategy::multi_compute}) {
    const std::int64_t frames =
        3 * static_cast<std::int64_t>(run(strategy, true, 4, 4).report.slots);
    const Outcome reference = run(Strategy::serial_pageable, false, frames);
    const Outcome plain = run(strategy, false, frames, 4);
    ASSERT_EQ(plain.hashes.size(), static_cast<std::size_t>(frames)) << to_string(strategy);
    EXPECT_EQ(plain.hashes, reference.hashes) << to_string(strategy);
    EXPECT_EQ(plain.report.stand_in_slots, 4) << to_string(strategy);
    EXPECT_EQ(plain.primed, plain.report.slots + 4) << to_string(strategy);
  }
}

}  // namespace
}  // namespace pyn
