// Every strategy on the host backend: same frames as serial-pageable, in order, at several sizes
// and scales; a failure at any stage stops the run with one error naming stage and frame; a stop
// request ends the run cleanly; nothing leaks.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>

#include "run_helpers.hpp"

namespace pyn {
namespace {

using namespace std::chrono_literals;
using test::options_for;
using test::within;
using test::Workload;

Device host() { return Device::open(DeviceSpec::parse("cpu")); }

test::Hashed run_hashed(const Device& device, const Workload& w, const PipelineOptions& options) {
  SyntheticEngine engine(device, {w.compute_ms, w.scale, w.dtype});
  SyntheticSource source(w.image, w.frames);
  HashSink sink;
  const RunReport report =
      within(60s, [&] { return run_pipeline(device, engine, source, sink, options); });
  EXPECT_EQ(report.frames, w.frames);
  return {sink.hashes(), sink.indices(), sink.format()};
}

class EveryStrategy : public ::testing::TestWithParam<std::tuple<Strategy, int>> {};

const Workload kWorkloads[] = {
    {ImageDesc{33, 17, PixelType::u8, ChannelOrder::rgb}, 1, DType::f16, 24, 0.0},
    {ImageDesc{64, 48, PixelType::u8, ChannelOrder::bgr}, 2, DType::f32, 17, 0.2},
    {ImageDesc{20, 9, PixelType::u16, ChannelOrder::bgr}, 3, DType::bf16, 12, 0.0},
    {ImageDesc{1, 1, PixelType::u8, ChannelOrder::rgb}, 4, DType::f16, 9, 0.0},
    // planar YUV, as video decoders give it: converted on the device, odd sizes included
    {YuvDesc{35, 19, ChromaLayout::yuv420, 8, ColorMatrix::bt709, ColorRange::limited}, 2,
     DType::f16, 11, 0.0},
    {YuvDesc{18, 10, ChromaLayout::yuv444, 10, ColorMatrix::bt601, ColorRange::full}, 1, DType::f32,
     10, 0.1},
};

TEST_P(EveryStrategy, GivesTheFramesOfSerialPageableInOrder) {
  const auto [strategy, workload] = GetParam();
  const Workload& w = kWorkloads[workload];
  const Device device = host();
  const test::Hashed reference = run_hashed(device, w, options_for(Strategy::serial_pageable));
  const test::Hashed result = run_hashed(device, w, options_for(strategy));
  ASSERT_EQ(result.hashes.size(), static_cast<std::size_t>(w.frames));
  EXPECT_EQ(result.hashes, reference.hashes);
  for (std::int64_t i = 0; i < w.frames; ++i) {
    EXPECT_EQ(result.indices[static_cast<std::size_t>(i)], i);
  }
  EXPECT_EQ(width_of(result.format), width_of(w.image) * w.scale);
  EXPECT_EQ(result.format.index(), w.image.index());
}

INSTANTIATE_TEST_SUITE_P(Strategies, EveryStrategy,
                         ::testing::Combine(::testing::ValuesIn(kAllStrategies),
                                            ::testing::Range(0, 6)),
                         [](const auto& p) {
                           std::string name(to_string(std::get<0>(p.param)));
                           for (char& c : name) {
                             c = c == '-' ? '_' : c;
                           }
                           return name + "_w" + std::to_string(std::get<1>(p.param));
                         });

TEST(SerialPageable, MatchesTheCpuReferenceFrameByFrame) {
  const Device device = host();
  for (const Workload& w :
       {Workload{ImageDesc{29, 13, PixelType::u8, ChannelOrder::bgr}, 2, DType::f16, 6, 0.0},
        Workload{YuvDesc{29, 13, ChromaLayout::yuv420, 10, ColorMatrix::bt709, ColorRange::limited},
                 2, DType::f16, 5, 0.0}}) {
    SyntheticEngine engine(device, {0.0, w.scale, w.dtype});
    SyntheticSource source(w.image, w.frames);
    CheckingSink sink(
        [&](std::int64_t i) { return expected_synthetic_output(source, i, w.dtype, w.scale); });
    (void)within(60s, [&] {
      return run_pipeline(device, engine, source, sink, options_for(Strategy::serial_pageable));
    });
    EXPECT_EQ(sink.checked(), w.frames) << to_string(w.image);
  }
}

// --- failures -------------------------------------------------------------------------------

struct InjectedFault : std::runtime_error {
  InjectedFault() : std::runtime_error("injected fault") {}
};

class FaultAtEveryStage : public ::testing::TestWithParam<std::tuple<Strategy, Stage>> {};

TEST_P(FaultAtEveryStage, StopsTheRunWithOneErrorNamingStageAndFrame) {
  const auto [strategy, stage] = GetParam();
  const Device device = host();
  const MemoryStats before = device.memory();
  constexpr std::int64_t kBadFrame = 7;
  {
    SyntheticEngine engine(device, {0.5, 2, DType::f16});
    SyntheticSource source(ImageDesc{40, 24, PixelType::u8, ChannelOrder::rgb}, 1000);
    NullSink sink;
    PipelineOptions options = options_for(strategy);
    options.inject = [stage = stage](Stage s, std::int64_t frame) {
      if (s == stage && frame == kBadFrame) {
        throw InjectedFault();
      }
    };
    const auto started = std::chrono::steady_clock::now();
    try {
      (void)within(30s, [&] { return run_pipeline(device, engine, source, sink, options); });
      FAIL() << "the run must fail";
    } catch (const StageError& e) {
      EXPECT_EQ(e.stage(), stage) << e.what();
      EXPECT_EQ(e.frame(), kBadFrame) << e.what();
      EXPECT_NE(std::string(e.what()).find("injected fault"), std::string::npos) << e.what();
    }
    // 1000 frames would take far longer: the failure stopped the run.
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  }
  EXPECT_EQ(device.memory().allocated, before.allocated) << "buffers leaked";
}

INSTANTIATE_TEST_SUITE_P(Strategies, FaultAtEveryStage,
                         ::testing::Combine(::testing::ValuesIn(kAllStrategies),
                                            ::testing::Values(Stage::source, Stage::h2d, Stage::pre,
                                                              Stage::engine, Stage::post,
                                                              Stage::d2h, Stage::sink)),
                         [](const auto& p) {
                           std::string name = std::string(to_string(std::get<0>(p.param))) + "_" +
                                              std::string(to_string(std::get<1>(p.param)));
                           for (char& c : name) {
                             c = c == '-' ? '_' : c;
                           }
                           return name;
                         });

// A sink that throws by itself (not through the hook) is reported the same way.
class FailingSink final : public Sink {
 public:
  void open(const FrameFormat& /*format*/) override {}
  void write(std::span<const std::byte> /*frame*/, const FrameInfo& info) override {
    const std::int64_t index = info.index;
    if (index == 3) {
      throw std::runtime_error("disk full");
    }
  }
};

TEST(Failure, ARealSinkErrorNamesTheSinkAndFrame) {
  const Device device = host();
  for (Strategy strategy : kAllStrategies) {
    SyntheticEngine engine(device, {0.0, 1, DType::f16});
    SyntheticSource source(ImageDesc{16, 16, PixelType::u8, ChannelOrder::rgb}, 50);
    FailingSink sink;
    try {
      (void)within(
          30s, [&] { return run_pipeline(device, engine, source, sink, options_for(strategy)); });
      FAIL() << to_string(strategy);
    } catch (const StageError& e) {
      EXPECT_EQ(e.stage(), Stage::sink);
      EXPECT_EQ(e.frame(), 3);
      EXPECT_NE(std::string(e.what()).find("disk full"), std::string::npos);
    }
  }
}

// --- stopping -------------------------------------------------------------------------------

// Raises the stop flag once frame `at` has been written, as a SIGINT handler would.
class StoppingSink final : public Sink {
 public:
  StoppingSink(std::atomic<bool>& stop, std::int64_t at) : stop_(stop), at_(at) {}
  void open(const FrameFormat& /*format*/) override {}
  void write(std::span<const std::byte> /*frame*/, const FrameInfo& info) override {
    const std::int64_t index = info.index;
    EXPECT_EQ(index, written_);
    ++written_;
    if (index == at_) {
      stop_ = true;
    }
  }
  void close() override { closed_ = true; }
  std::int64_t written_ = 0;
  bool closed_ = false;

 private:
  std::atomic<bool>& stop_;
  std::int64_t at_;
};

TEST(Stop, FinishesTheFramesInFlightAndReportsInterrupted) {
  const Device device = host();
  for (Strategy strategy : kAllStrategies) {
    std::atomic<bool> stop{false};
    SyntheticEngine engine(device, {0.2, 1, DType::f16});
    SyntheticSource source(ImageDesc{16, 8, PixelType::u8, ChannelOrder::rgb}, 100000);
    StoppingSink sink(stop, 10);
    PipelineOptions options = options_for(strategy);
    options.stop = &stop;
    const RunReport report =
        within(30s, [&] { return run_pipeline(device, engine, source, sink, options); });
    EXPECT_TRUE(report.interrupted) << to_string(strategy);
    EXPECT_GT(report.frames, 10);
    EXPECT_LT(report.frames, 100);
    EXPECT_EQ(sink.written_, report.frames);
    EXPECT_TRUE(sink.closed_);
  }
}

TEST(Stop, MaxFramesEndsTheRunThere) {
  const Device device = host();
  SyntheticEngine engine(device, {0.0, 1, DType::f16});
  SyntheticSource source(ImageDesc{8, 8, PixelType::u8, ChannelOrder::rgb}, 100);
  HashSink sink;
  PipelineOptions options = options_for(Strategy::split_streams);
  options.max_frames = 13;
  const RunReport report =
      within(30s, [&] { return run_pipeline(device, engine, source, sink, options); });
  EXPECT_EQ(report.frames, 13);
  EXPECT_FALSE(report.interrupted);
}

// --- reports and options --------------------------------------------------------------------

TEST(Report, MeasuresEveryStrategy) {
  const Device device = host();
  for (Strategy strategy : kAllStrategies) {
    SyntheticEngine engine(device, {2.0, 1, DType::f16});
    SyntheticSource source(ImageDesc{32, 32, PixelType::u8, ChannelOrder::rgb}, 30);
    NullSink sink;
    PipelineOptions options = options_for(strategy);
    options.measure = true;
    options.warmup = 5;
    const RunReport r =
        within(30s, [&] { return run_pipeline(device, engine, source, sink, options); });
    EXPECT_EQ(r.frames, 30);
    EXPECT_EQ(r.measured_frames, 25);
    EXPECT_GT(r.fps, 0.0);
    EXPECT_GE(r.stages.compute_ms, 1.9) << to_string(strategy);  // the engine waits 2 ms
    EXPECT_GE(r.in_run.compute_ms, 1.9) << to_string(strategy);
    EXPECT_GT(r.stages.h2d_ms, 0.0);
    EXPECT_GT(r.stages.duplex_ms, 0.0);
    EXPECT_NEAR(r.bound_fps, 1000.0 / r.stages.slowest_ms(), 1e-6);
    EXPECT_NEAR(r.efficiency, r.fps / r.bound_fps, 1e-9);
    EXPECT_GT(r.vram_bytes, 0U);
    EXPECT_GE(r.latency_p99_ms, r.latency_p50_ms);
    ASSERT_EQ(r.records.size(), 30U);
    for (const FrameRecord& f : r.records) {
      EXPECT_LE(f.h2d_end, f.compute_begin + 1e-3);
      EXPECT_LE(f.compute_end, f.d2h_begin + 1e-3);
      EXPECT_LE(f.source_end, f.h2d_end + 1e-3);
    }
  }
}

// The product path: no measuring pass and no per-frame records, yet frames, wall time and fps.
// Its events carry no timing, and the host backend throws where elapsed time is asked of them, so
// a run that measured anyway would fail here.
TEST(Report, AnUnmeasuredRunKeepsNoRecords) {
  const Device device = host();
  for (Strategy strategy : kAllStrategies) {
    SyntheticEngine engine(device, {0.2, 2, DType::f16});
    SyntheticSource source(ImageDesc{16, 8, PixelType::u8, ChannelOrder::rgb}, 20);
    HashSink sink;
    const RunReport r = within(
        30s, [&] { return run_pipeline(device, engine, source, sink, options_for(strategy)); });
    EXPECT_EQ(r.frames, 20) << to_string(strategy);
    EXPECT_EQ(sink.hashes().size(), 20U);
    EXPECT_TRUE(r.records.empty()) << to_string(strategy);
    EXPECT_EQ(r.stages.slowest_ms(), 0.0) << "no stage was timed alone";
    EXPECT_GT(r.wall_s, 0.0);
    EXPECT_NEAR(r.fps, 20.0 / r.wall_s, 1e-6 * r.fps);
    EXPECT_GT(r.first_frame_ms, 0.0);
  }
}

// Engines keep per-thread state (LibTorch's autotune caches): each stream's engine is prepared on
// the thread that later runs it, and no frame is read before every stream is prepared.
class ThreadRecordingEngine final : public Engine {
 public:
  explicit ThreadRecordingEngine(const Device& device) : inner_(device, {0.0, 1, DType::f16}) {}
  [[nodiscard]] std::string name() const override { return "thread-recording"; }
  [[nodiscard]] DType dtype() const override { return inner_.dtype(); }
  [[nodiscard]] TensorShape output_shape(const TensorShape& input) const override {
    return inner_.output_shape(input);
  }
  void prepare(Stream& stream, const TensorShape& input) override {
    EXPECT_EQ(preparing_.fetch_add(1), 0) << "two prepare() calls overlap";
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a window another call would hit
    {
      const std::lock_guard lock(mutex_);
      prepared_on_[static_cast<const void*>(&stream.impl())] = std::this_thread::get_id();
    }
    inner_.prepare(stream, input);
    preparing_.fetch_sub(1);
  }
  void run(Stream& stream, const TensorView& in, const TensorView& out) override {
    {
      const std::lock_guard lock(mutex_);
      const auto it = prepared_on_.find(static_cast<const void*>(&stream.impl()));
      if (it == prepared_on_.end()) {
        ++unprepared_runs_;
      } else if (it->second != std::this_thread::get_id()) {
        ++runs_off_their_thread_;
      }
      ++runs_;
    }
    inner_.run(stream, in, out);
  }
  std::mutex mutex_;
  std::map<const void*, std::thread::id> prepared_on_;
  std::atomic<int> preparing_{0};
  int runs_ = 0;
  int unprepared_runs_ = 0;
  int runs_off_their_thread_ = 0;

 private:
  SyntheticEngine inner_;
};

TEST(Lanes, EachIsPreparedOnTheThreadThatRunsIt) {
  const Device device = host();
  for (Strategy strategy : kAllStrategies) {
    for (bool measure : {false, true}) {
      ThreadRecordingEngine engine(device);
      SyntheticSource source(ImageDesc{12, 6, PixelType::u8, ChannelOrder::rgb}, 15);
      NullSink sink;
      PipelineOptions options = options_for(strategy);
      options.measure = measure;
      (void)within(30s, [&] { return run_pipeline(device, engine, source, sink, options); });
      const std::lock_guard lock(engine.mutex_);
      EXPECT_GE(engine.runs_, 15) << to_string(strategy);
      EXPECT_EQ(engine.unprepared_runs_, 0) << to_string(strategy);
      if (!measure) {  // the measuring pass runs lane 0 from the source's thread, before any frame
        EXPECT_EQ(engine.runs_off_their_thread_, 0) << to_string(strategy);
      }
      const std::size_t lanes = strategy == Strategy::worker_streams  ? 3
                                : strategy == Strategy::multi_compute ? 3
                                                                      : 1;
      EXPECT_EQ(engine.prepared_on_.size(), lanes) << to_string(strategy);
    }
  }
}

// The first frame's latency is told in parts: setup (buffers, sink), then the warm-up (each
// prepare() of this engine sleeps 2 ms, one lane after another), then the frame itself. Unmeasured,
// the first frame waits for one lane's warm-up only; measured, for every lane's.
TEST(FirstFrame, TheReportSplitsItIntoSetupAndWarmUp) {
  const Device device = host();
  for (Strategy strategy : kAllStrategies) {
    for (bool measure : {false, true}) {
      ThreadRecordingEngine engine(device);
      SyntheticSource source(ImageDesc{12, 6, PixelType::u8, ChannelOrder::rgb}, 5);
      NullSink sink;
      PipelineOptions options = options_for(strategy);
      options.measure = measure;
      const RunReport r =
          within(30s, [&] { return run_pipeline(device, engine, source, sink, options); });
      const double lanes = static_cast<double>(engine.prepared_on_.size());
      const std::string what = std::string(to_string(strategy)) + (measure ? ", measured" : "");
      EXPECT_GT(r.setup_ms, 0.0) << what;
      EXPECT_GE(r.warmup_ms, measure ? 2.0 * lanes : 2.0) << what;
      EXPECT_LE(r.setup_ms + r.warmup_ms, r.first_frame_ms) << what;
    }
  }
}

// Unmeasured, the first frame does not wait for the lanes still warming up: with a prepare() that
// takes 300 ms on every lane but the first, the source starts and frames reach the sink long before
// the other lanes are ready, and every lane is still prepared before its first frame.
TEST(FirstFrame, WaitsForOneLaneOnlyWhenUnmeasured) {
  class SlowLaterLanes final : public Engine {
   public:
    [[nodiscard]] std::string name() const override { return "slow-later-lanes"; }
    [[nodiscard]] DType dtype() const override { return DType::f32; }
    [[nodiscard]] TensorShape output_shape(const TensorShape& input) const override {
      return input;
    }
    void prepare(Stream& /*stream*/, const TensorShape& /*input*/) override {
      if (prepared_.fetch_add(1) > 0) {
        std::this_thread::sleep_for(300ms);
      }
    }
    void run(Stream& /*stream*/, const TensorView& /*in*/, const TensorView& /*out*/) override {}
    std::atomic<int> prepared_{0};
  };
  const Device device = host();
  for (Strategy strategy : {Strategy::worker_streams, Strategy::multi_compute}) {
    SlowLaterLanes engine;
    SyntheticSource source(ImageDesc{4, 4, PixelType::u8, ChannelOrder::rgb}, 4);
    NullSink sink;
    const RunReport r = within(
        30s, [&] { return run_pipeline(device, engine, source, sink, options_for(strategy)); });
    EXPECT_EQ(r.frames, 4) << to_string(strategy);
    EXPECT_LT(r.first_frame_ms, 250.0) << to_string(strategy);
    EXPECT_EQ(engine.prepared_.load(), 3) << to_string(strategy);
  }
}

// A lane that fails to prepare fails the run with that error, before any frame is read.
TEST(Lanes, AFailedPrepareFailsTheRunBeforeAnyFrame) {
  class FailingPrepare final : public Engine {
   public:
    [[nodiscard]] std::string name() const override { return "failing-prepare"; }
    [[nodiscard]] DType dtype() const override { return DType::f32; }
    [[nodiscard]] TensorShape output_shape(const TensorShape& input) const override {
      return input;
    }
    void prepare(Stream& /*stream*/, const TensorShape& /*input*/) override {
      throw UsageError("this engine refuses the stream");
    }
    void run(Stream& /*stream*/, const TensorView& /*in*/, const TensorView& /*out*/) override {}
  };
  class CountingSource final : public Source {
   public:
    [[nodiscard]] FrameFormat format() const override {
      return ImageDesc{4, 4, PixelType::u8, ChannelOrder::rgb};
    }
    bool read(std::span<std::byte> /*slot*/, FrameInfo& /*info*/) override {
      ++reads;
      return true;
    }
    std::atomic<int> reads{0};
  };
  const Device device = host();
  for (Strategy strategy : kAllStrategies) {
    FailingPrepare engine;
    CountingSource source;
    NullSink sink;
    try {
      (void)within(
          30s, [&] { return run_pipeline(device, engine, source, sink, options_for(strategy)); });
      ADD_FAILURE() << to_string(strategy) << ": no error";
    } catch (const UsageError& e) {
      EXPECT_STREQ(e.what(), "this engine refuses the stream") << to_string(strategy);
    }
    EXPECT_EQ(source.reads.load(), 0) << to_string(strategy);
  }
}

// What a source says of a frame (its time) reaches the sink with that frame, through every
// strategy, with frames in flight on several threads: no side channel between source and sink.
TEST(FrameInfo, TheSourcesTimeReachesTheSinkWithItsFrame) {
  class TimedSource final : public Source {
   public:
    [[nodiscard]] FrameFormat format() const override {
      return ImageDesc{6, 4, PixelType::u8, ChannelOrder::rgb};
    }
    bool read(std::span<std::byte> /*slot*/, FrameInfo& info) override {
      if (info.index >= 40) {
        return false;
      }
      info.time = FrameTime{1000 + 7 * info.index * info.index, 3 + info.index % 5};
      return true;
    }
  };
  class TimeCheckingSink final : public Sink {
   public:
    void open(const FrameFormat& /*format*/) override {}
    void write(std::span<const std::byte> /*frame*/, const FrameInfo& info) override {
      const std::int64_t i = info.index;
      if (info.time == FrameTime{1000 + 7 * i * i, 3 + i % 5}) {
        ++right;
      }
      ++written;
    }
    int right = 0;
    int written = 0;
  };
  const Device device = host();
  for (Strategy strategy : kAllStrategies) {
    SyntheticEngine engine(device, {0.1, 1, DType::f16});
    TimedSource source;
    TimeCheckingSink sink;
    (void)within(30s,
                 [&] { return run_pipeline(device, engine, source, sink, options_for(strategy)); });
    EXPECT_EQ(sink.written, 40) << to_string(strategy);
    EXPECT_EQ(sink.right, 40) << to_string(strategy);
  }
}

// A source with frames of its own lends them; one lent on the device is not uploaded, and a sink
// that takes device frames is not downloaded to. On the host backend "device" memory is the
// device's own allocations, so the frames are the synthetic ones, rendered there. With `pad`, each
// row of each plane is followed by `pad` bytes of 0xA5, as a decoder's padded surfaces are: the
// frames must come out the same.
class LendingSource final : public Source {
 public:
  LendingSource(const Device& device, FrameFormat format, std::int64_t frames, Memory memory,
                int ring, std::size_t pad = 0)
      : synthetic_(format, frames), memory_(memory), pad_(pad), packed_(bytes_of(format)) {
    std::size_t bytes = 0;
    for (int p = 0; p < plane_count(format); ++p) {
      bytes += (plane_row_bytes(format, p) + pad) * static_cast<std::size_t>(plane_rows(format, p));
    }
    for (int i = 0; i < ring; ++i) {
      buffers_.push_back(device.alloc(bytes));
      free_.push_back(static_cast<int>(i));
    }
  }
  [[nodiscard]] FrameFormat format() const override { return synthetic_.format(); }
  bool read(std::span<std::byte> /*slot*/, FrameInfo& /*frame*/) override {
    ADD_FAILURE() << "read() asked of a source that lends its frames";
    return false;
  }
  [[nodiscard]] std::optional<Memory> lends() const override { return memory_; }
  std::optional<FramePlanes> lend(FrameInfo& frame) override {
    if (frame.index >= *synthetic_.frame_count()) {
      return std::nullopt;
    }
    std::unique_lock lock(mutex_);
    freed_.wait(lock, [&] { return !free_.empty() || stopped_; });  // a decoder's surface pool
    if (stopped_) {
      return std::nullopt;
    }
    const int buffer = free_.back();
    free_.pop_back();
    held_[frame.index] = buffer;
    most_held = std::max(most_held, static_cast<int>(held_.size()));
    auto* bytes = static_cast<std::byte*>(buffers_[static_cast<std::size_t>(buffer)].data());
    synthetic_.render(packed_, frame.index);
    const FrameFormat f = format();
    const FramePlanes from = packed_planes(f, packed_.data());
    FramePlanes planes{};
    for (int p = 0; p < plane_count(f); ++p) {
      const auto i = static_cast<std::size_t>(p);
      const std::size_t row = plane_row_bytes(f, p);
      planes[i] = Plane{bytes, row + pad_};
      for (int y = 0; y < plane_rows(f, p); ++y) {
        std::byte* to = bytes + static_cast<std::size_t>(y) * (row + pad_);
        std::copy_n(from[i].data + static_cast<std::size_t>(y) * row, row, to);
        std::fill_n(to + row, pad_, std::byte{0xA5});
      }
      bytes += (row + pad_) * static_cast<std::size_t>(plane_rows(f, p));
    }
    ++lent;
    return planes;
  }
  void give_back(std::int64_t index) override {
    const std::lock_guard lock(mutex_);
    const auto it = held_.find(index);
    if (it == held_.end()) {
      ADD_FAILURE() << "frame " << index << " given back but not lent";
      return;
    }
    free_.push_back(it->second);
    held_.erase(it);
    ++given_back;
    freed_.notify_one();
  }
  void stop_lending() noexcept override {
    const std::lock_guard lock(mutex_);
    stopped_ = true;
    freed_.notify_all();
  }
  int lent = 0;
  int given_back = 0;
  int most_held = 0;

 private:
  SyntheticSource synthetic_;
  Memory memory_;
  std::size_t pad_;
  std::vector<std::byte> packed_;
  std::vector<DeviceBuffer> buffers_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<int> free_;
  std::map<std::int64_t, int> held_;
  bool stopped_ = false;
};

class DeviceHashSink final : public Sink {
 public:
  void open(const FrameFormat& format) override { inner.open(format); }
  void write(std::span<const std::byte> frame, const FrameInfo& info) override {
    inner.write(frame, info);
  }
  [[nodiscard]] bool takes_device_frames() const override { return true; }
  HashSink inner;
};

TEST(LentFrames, DeviceFramesSkipTheUploadAndDeviceSinksTheDownload) {
  const Device device = host();
  const FrameFormat format =
      YuvDesc{22, 12, ChromaLayout::yuv420, 8, ColorMatrix::bt709, ColorRange::limited};
  constexpr std::int64_t kFrames = 30;
  const Workload w{format, 2, DType::f16, kFrames, 0.1};
  const test::Hashed reference = run_hashed(device, w, options_for(Strategy::serial_pageable));
  for (Strategy strategy : kAllStrategies) {
    for (const Memory memory : {Memory::device, Memory::host}) {
      for (const std::size_t pad : {0, 10}) {  // packed, and pitched with padding
        SyntheticEngine engine(device, {0.1, 2, DType::f16});
        LendingSource source(device, format, kFrames, memory, 4,
                             pad);  // fewer than most strategies' slots
        HashSink sink;
        const RunReport r = within(
            30s, [&] { return run_pipeline(device, engine, source, sink, options_for(strategy)); });
        EXPECT_EQ(sink.hashes(), reference.hashes) << to_string(strategy) << " pad " << pad;
        EXPECT_EQ(source.lent, kFrames);
        EXPECT_EQ(source.given_back, kFrames) << "every lent frame given back";
        EXPECT_LE(source.most_held, 4);
        EXPECT_EQ(r.uploads, memory == Memory::device ? 0 : kFrames) << to_string(strategy);
        EXPECT_EQ(r.downloads, kFrames);
      }
    }
    SyntheticEngine engine(device, {0.1, 2, DType::f16});
    SyntheticSource source(format, kFrames);
    DeviceHashSink sink;
    const RunReport r = within(
        30s, [&] { return run_pipeline(device, engine, source, sink, options_for(strategy)); });
    EXPECT_EQ(sink.inner.hashes(), reference.hashes)
        << to_string(strategy) << ": device frames to the sink";
    EXPECT_EQ(r.uploads, kFrames);
    EXPECT_EQ(r.downloads, 0) << to_string(strategy);
  }
}

// A failing sink gives nothing back; a source waiting for its pool is told to stop, so the run
// ends with the sink's error instead of hanging.
TEST(LentFrames, AFailedRunStopsASourceWaitingForItsFrames) {
  class DiskFullSink final : public Sink {
   public:
    void open(const FrameFormat& /*format*/) override {}
    void write(std::span<const std::byte> /*frame*/, const FrameInfo& info) override {
      if (info.index == 1) {
        throw std::runtime_error("disk full");
      }
    }
  };
  const Device device = host();
  for (Strategy strategy : kAllStrategies) {
    SyntheticEngine engine(device, {0.1, 1, DType::f16});
    LendingSource source(device, ImageDesc{8, 4, PixelType::u8, ChannelOrder::rgb}, 100,
                         Memory::device, 2);
    DiskFullSink sink;
    try {
      (void)within(
          30s, [&] { return run_pipeline(device, engine, source, sink, options_for(strategy)); });
      ADD_FAILURE() << to_string(strategy) << ": no error";
    } catch (const StageError& e) {
      EXPECT_EQ(e.stage(), Stage::sink) << to_string(strategy);
      EXPECT_NE(std::string(e.what()).find("disk full"), std::string::npos);
    }
  }
}

TEST(Options, RejectBadCounts) {
  const Device device = host();
  SyntheticEngine engine(device, {0.0, 1, DType::f16});
  SyntheticSource source(ImageDesc{8, 8, PixelType::u8, ChannelOrder::rgb}, 1);
  NullSink sink;
  PipelineOptions options = options_for(Strategy::worker_streams);
  options.workers = 0;
  EXPECT_THROW((void)run_pipeline(device, engine, source, sink, options), UsageError);
  options = options_for(Strategy::multi_compute);
  options.compute_streams = 0;
  EXPECT_THROW((void)run_pipeline(device, engine, source, sink, options), UsageError);
  options = options_for(Strategy::split_streams);
  options.slots = 1;
  EXPECT_THROW((void)run_pipeline(device, engine, source, sink, options), UsageError);
}

TEST(Options, CudaGraphNeedsACudaDevice) {
  // Refused before anything is allocated or opened.
  class OpenSink final : public Sink {
   public:
    void open(const FrameFormat& /*format*/) override { opened = true; }
    void write(std::span<const std::byte> /*frame*/, const FrameInfo& /*info*/) override {}
    bool opened = false;
  };
  const Device device = host();
  SyntheticEngine engine(device, {0.0, 2, DType::f16});
  for (const Strategy strategy : kAllStrategies) {
    SyntheticSource source(ImageDesc{8, 8, PixelType::u8, ChannelOrder::rgb}, 2);
    OpenSink sink;
    PipelineOptions options = options_for(strategy);
    options.cuda_graph = true;
    try {
      (void)run_pipeline(device, engine, source, sink, options);
      ADD_FAILURE() << to_string(strategy) << ": no error";
    } catch (const UsageError& e) {
      EXPECT_STREQ(e.what(),
                   "PipelineOptions::cuda_graph needs a CUDA device, not the host backend")
          << to_string(strategy);
    }
    EXPECT_FALSE(sink.opened) << to_string(strategy);
  }
  // An engine asked directly says the same.
  Stream stream = device.make_stream();
  EXPECT_THROW((void)engine.capture(stream, [] {}), UsageError);
}

TEST(Strategies, ParseNamesAndLists) {
  EXPECT_EQ(parse_strategies("all").size(), kAllStrategies.size());
  EXPECT_EQ(parse_strategies("split-streams,serial-pinned"),
            (std::vector<Strategy>{Strategy::split_streams, Strategy::serial_pinned}));
  EXPECT_THROW((void)parse_strategies("split"), UsageError);
  EXPECT_THROW((void)parse_strategies(""), UsageError);
}

}  // namespace
}  // namespace pyn
