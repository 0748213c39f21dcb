// The Processor's per-frame face, as a frame server drives it: several threads at once, frames
// asked for in any order, each submitted under the caller's number and checked against the CPU
// reference when it completes.

#include "pynference/pipeline/processor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "run_helpers.hpp"

namespace pyn {
namespace {

using namespace std::chrono_literals;

TEST(Processor, ServesFourThreadsAskingForFramesInAnyOrder) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  constexpr std::int64_t kFrames = 96;
  constexpr int kThreads = 4;
  // With copy_streams, each frame's copies go on the Processor's two copy streams, shared by the
  // threads, and its compute on a lane's.
  for (const bool copy_streams : {false, true}) {
    for (const FrameFormat format :
         {FrameFormat{ImageDesc{21, 11, PixelType::u8, ChannelOrder::bgr}},
          FrameFormat{YuvDesc{18, 10, ChromaLayout::yuv420, 10, ColorMatrix::bt709,
                              ColorRange::limited}}}) {
      SyntheticEngine engine(device, {0.05, 2, DType::f16});
      SyntheticSource source(format, kFrames);
      ProcessorOptions options;
      options.lanes = 2;
      options.slots = 5;  // fewer than the threads can ask for: acquire() must say "none free"
      options.copy_streams = copy_streams;
      Processor processor(device, engine, format, options);
      processor.prepare_all();

      std::vector<std::int64_t> order(kFrames);
      for (std::int64_t i = 0; i < kFrames; ++i) {
        order[static_cast<std::size_t>(i)] = i;
      }
      std::mt19937 rng(std::random_device{}());
      std::shuffle(order.begin(), order.end(), rng);

      std::atomic<std::size_t> next{0};
      std::atomic<int> right{0};
      std::atomic<int> wrong{0};
      std::atomic<int> none_free{0};
      auto serve = [&] {
        device.bind_thread();
        for (std::size_t k = next++; k < order.size(); k = next++) {
          const std::int64_t frame = order[k];
          Processor::Slot* slot = nullptr;
          while ((slot = processor.acquire()) == nullptr) {
            ++none_free;
            std::this_thread::yield();
          }
          source.render(Processor::input(*slot), frame);
          processor.submit(*slot, frame);
          processor.wait(*slot);
          EXPECT_TRUE(processor.ready(*slot));
          const std::vector<std::byte> expected =
              expected_synthetic_output(source, frame, DType::f16, 2);
          const std::span<const std::byte> got = processor.output(*slot);
          const bool same = got.size() == expected.size() &&
                            std::memcmp(got.data(), expected.data(), got.size()) == 0;
          ++(same ? right : wrong);
          processor.release(*slot);
        }
      };
      (void)test::within(120s, [&] {
        std::vector<std::jthread> threads;
        for (int t = 0; t < kThreads; ++t) {
          threads.emplace_back(serve);
        }
        return 0;
      });
      EXPECT_EQ(right.load(), kFrames) << to_string(format) << ", copy_streams " << copy_streams;
      EXPECT_EQ(wrong.load(), 0) << to_string(format) << ", copy_streams " << copy_streams;
    }
  }
}

TEST(Processor, AcquireNeverBlocksAndReleaseGivesTheSlotBack) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  SyntheticEngine engine(device, {0.0, 1, DType::f32});
  ProcessorOptions options;
  options.slots = 2;
  Processor processor(device, engine, ImageDesc{4, 4, PixelType::u8, ChannelOrder::rgb}, options);
  Processor::Slot* a = processor.acquire();
  Processor::Slot* b = processor.acquire();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(processor.acquire(), nullptr);
  processor.release(*b);
  EXPECT_EQ(processor.acquire(), b);
}

// Pinning a frame's host buffer takes milliseconds, so a slot gets its host buffers at its first
// use (acquire(), a schedule's source thread, measure_alone()), not when the Processor is built.
TEST(Processor, SlotsGetTheirHostBuffersAtFirstUse) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  SyntheticEngine engine(device, {0.0, 2, DType::f32});
  const ImageDesc image{6, 4, PixelType::u8, ChannelOrder::rgb};
  ProcessorOptions options;
  options.slots = 3;
  options.measure = true;
  Processor processor(device, engine, image, options);
  for (Processor::Slot& slot : processor.slots()) {
    EXPECT_EQ(slot.in_host.data(), nullptr) << "slot " << slot.index;
    EXPECT_EQ(slot.out_host.data(), nullptr) << "slot " << slot.index;
  }
  Processor::Slot* slot = processor.acquire();
  ASSERT_NE(slot, nullptr);
  EXPECT_EQ(Processor::input(*slot).size(), processor.input_bytes());
  EXPECT_EQ(slot->out_host.size(), processor.output_bytes());
  EXPECT_FALSE(processor.make_host_buffers(*slot)) << "a second call makes none";
  const int made = static_cast<int>(
      std::count_if(processor.slots().begin(), processor.slots().end(),
                    [](const Processor::Slot& s) { return s.in_host.data() != nullptr; }));
  EXPECT_EQ(made, 1);
  processor.release(*slot);
  processor.prepare_all();
  (void)processor.measure_alone();
  for (Processor::Slot& s : processor.slots()) {
    EXPECT_EQ(s.in_host.size(), processor.input_bytes()) << "slot " << s.index;
  }
}

// A caller that keeps frames and results in buffers of its own (the Python module's tensors): the
// frame lent in device memory with a row pitch, the result written into its buffer, neither
// copied, and the work waiting for the caller's stream, which fills the frame only after a while.
TEST(Processor, LentFrameAndOutputWaitForTheCallerAndAreNotCopied) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  const ImageDesc format{13, 7, PixelType::u8, ChannelOrder::rgb};
  constexpr std::size_t kRow = 13 * 3;
  constexpr std::size_t kPitch = kRow + 5;
  constexpr std::size_t kGuard = 64;
  constexpr auto kGuardByte = std::byte{0x5a};
  SyntheticSource source(format, 4);
  {
    SyntheticEngine engine(device, {0.0, 2, DType::f16});
    ProcessorOptions options;
    options.slots = 2;
    Processor processor(device, engine, format, options);
    processor.prepare_all();
    Stream caller = device.make_stream();
    Event ready = device.make_event(false);
    for (std::int64_t frame = 0; frame < 4; ++frame) {
      std::vector<std::byte> packed(processor.input_bytes());
      source.render(packed, frame);
      std::vector<std::byte> pitched(kPitch * 7, std::byte{0});
      std::vector<std::byte> out(processor.output_bytes() + kGuard, kGuardByte);
      caller.enqueue([&] {
        std::this_thread::sleep_for(20ms);
        for (std::size_t y = 0; y < 7; ++y) {
          std::memcpy(pitched.data() + y * kPitch, packed.data() + y * kRow, kRow);
        }
      });
      ready.record(caller);
      Processor::Slot* slot = processor.acquire();
      ASSERT_NE(slot, nullptr);
      slot->lent = FramePlanes{Plane{pitched.data(), kPitch}, Plane{}, Plane{}};
      slot->lent_memory = Memory::device;
      slot->lent_output = out.data();
      slot->lent_ready = &ready;
      processor.submit(*slot, frame);
      processor.wait(*slot);
      EXPECT_EQ(processor.output(*slot).data(), out.data());
      const std::vector<std::byte> expected =
          expected_synthetic_output(source, frame, DType::f16, 2);
      ASSERT_EQ(expected.size(), processor.output_bytes());
      EXPECT_EQ(std::memcmp(out.data(), expected.data(), expected.size()), 0) << "frame " << frame;
      EXPECT_TRUE(std::all_of(out.begin() + static_cast<std::ptrdiff_t>(expected.size()), out.end(),
                              [&](std::byte b) { return b == kGuardByte; }));
      slot->lent.reset();
      slot->lent_output = nullptr;
      slot->lent_ready = nullptr;
      processor.release(*slot);
    }
    EXPECT_EQ(processor.uploads(), 0);
    EXPECT_EQ(processor.downloads(), 0);
  }
}

TEST(Processor, MeasuringAloneNeedsMeasure) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  SyntheticEngine engine(device, {0.0, 1, DType::f32});
  Processor plain(device, engine, ImageDesc{4, 4, PixelType::u8, ChannelOrder::rgb},
                  ProcessorOptions{});
  plain.prepare_all();
  EXPECT_THROW((void)plain.measure_alone(), Error);
  ProcessorOptions options;
  options.measure = true;
  Processor measured(device, engine, ImageDesc{4, 4, PixelType::u8, ChannelOrder::rgb}, options);
  measured.prepare_all();
  const StageTimes times = measured.measure_alone();
  EXPECT_GT(times.h2d_ms, 0.0);
  EXPECT_GT(times.duplex_ms, 0.0);
}

}  // namespace
}  // namespace pyn
