// An unmeasured run's first frames go through pageable stand-ins for the slots' pinned host
// buffers, so that pinning is not on the first frame's way; each slot takes its pinned buffers at
// its first use after the first frame reached the sink. The frames are the same either way.

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
// back, so the source fills every slot the schedule has free before the first frame arrives.
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

Outcome run(Strategy strategy, bool measure, std::int64_t frames) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  SyntheticEngine engine(device, {0.0, 2, DType::f16});
  PrimeCountingSource source(frames);
  SlowFirstFrameSink sink;
  PipelineOptions options = options_for(strategy);
  options.measure = measure;
  Outcome out;
  out.report = within(60s, [&] { return run_pipeline(device, engine, source, sink, options); });
  out.hashes = sink.inner.hashes();
  out.primed = source.primed.load();
  return out;
}

TEST(StandIns, SlotsFilledBeforeTheFirstFrameTradeThemForPinnedBuffersAtTheirNextUse) {
  for (Strategy strategy : kAllStrategies) {
    const std::string what(to_string(strategy));
    // Three uses of every slot: the first through the stand-ins, the others through pinned buffers.
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
    } else if (strategy == Strategy::serial_pinned) {
      // One thread fills and delivers: only the first slot is filled before the first frame.
      EXPECT_EQ(plain.report.stand_in_slots, 1) << what;
      EXPECT_EQ(plain.primed, slots + 1) << what;
    } else {
      // Every slot was filled while the first frame was held at the sink, and each is made anew
      // (and primed again) at its next use.
      EXPECT_EQ(plain.report.stand_in_slots, slots) << what;
      EXPECT_EQ(plain.primed, 2 * slots) << what;
    }
  }
}

}  // namespace
}  // namespace pyn
