// Batches of frames (PipelineOptions::batch): N frames per engine run give the bytes one frame per
// run gives, in order, under every schedule, for frame counts that are not multiples of N (the
// last group short, padded), with tiles too; the engine sees N-frame tensors only; refusals are
// one line.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "conv_engine.hpp"
#include "pynference/pipeline/compute_plan.hpp"
#include "pynference/pipeline/processor.hpp"
#include "run_helpers.hpp"

namespace pyn {
namespace {

using namespace std::chrono_literals;

Device host() { return Device::open(DeviceSpec::parse("cpu")); }

const FrameFormat kRgb = ImageDesc{23, 17, PixelType::u8, ChannelOrder::rgb};

// Passes everything to `inner`, counting its runs and the slices they carried; where `fixed` is
// set, refuses any other N (an engine built for one batch, as an AOTInductor package is).
class CountingEngine final : public Engine {
 public:
  CountingEngine(Engine& inner, int fixed) : inner_(inner), fixed_(fixed) {}
  [[nodiscard]] std::string name() const override { return "counting " + inner_.name(); }
  [[nodiscard]] DType dtype() const override { return inner_.dtype(); }
  [[nodiscard]] TensorShape output_shape(const TensorShape& input) const override {
    if (fixed_ > 0 && input.n != fixed_) {
      throw UsageError("CountingEngine takes batch " + std::to_string(fixed_) + ", not " +
                       std::to_string(input.n));
    }
    return inner_.output_shape(input);
  }
  void prepare(Stream& stream, const TensorShape& input) override { inner_.prepare(stream, input); }
  void run(Stream& stream, const TensorView& in, const TensorView& out) override {
    runs_.fetch_add(1);
    slices_.fetch_add(in.shape.n);
    inner_.run(stream, in, out);
  }
  [[nodiscard]] int runs() const { return runs_.load(); }
  [[nodiscard]] int slices() const { return slices_.load(); }

 private:
  Engine& inner_;
  int fixed_ = 0;
  std::atomic<int> runs_{0};
  std::atomic<int> slices_{0};
};

struct Batched {
  std::vector<std::uint64_t> hashes;
  std::vector<std::int64_t> indices;
  int runs = 0;
  int slices = 0;
  RunReport report;
};

Batched batched_run(Engine& inner, const FrameFormat& format, Strategy strategy, int batch,
                    std::int64_t frames, std::optional<ComputePlan> plan = std::nullopt) {
  const Device device = host();
  CountingEngine engine(inner, batch * (plan ? plan->input.n : 1));
  SyntheticSource source(format, frames);
  HashSink sink;
  PipelineOptions options = test::options_for(strategy);
  options.batch = batch;
  options.plan = std::move(plan);
  Batched out;
  out.report =
      test::within(120s, [&] { return run_pipeline(device, engine, source, sink, options); });
  out.hashes = sink.hashes();
  out.indices = sink.indices();
  out.runs = engine.runs();
  out.slices = engine.slices();
  return out;
}

std::vector<std::int64_t> zero_to(std::int64_t frames) {
  std::vector<std::int64_t> indices(static_cast<std::size_t>(frames));
  for (std::int64_t i = 0; i < frames; ++i) {
    indices[static_cast<std::size_t>(i)] = i;
  }
  return indices;
}

TEST(Batches, EqualOneFramePerRunUnderEverySchedule) {
  const test::ConvOptions conv{1, 1, 2, 1};
  test::ConvEngine inner(conv);
  for (const int batch : {1, 2, 3, 4}) {
    for (const std::int64_t frames :
         std::vector<std::int64_t>{1, batch - 1, batch + 1, 2 * batch + 1}) {
      if (frames < 1) {
        continue;
      }
      const Batched one = batched_run(inner, kRgb, Strategy::serial_pageable, 1, frames);
      ASSERT_EQ(one.hashes.size(), static_cast<std::size_t>(frames));
      for (const Strategy strategy : kAllStrategies) {
        SCOPED_TRACE("batch " + std::to_string(batch) + ", " + std::to_string(frames) +
                     " frames, " + std::string(to_string(strategy)));
        const Batched many = batched_run(inner, kRgb, strategy, batch, frames);
        EXPECT_EQ(many.hashes, one.hashes);
        EXPECT_EQ(many.indices, zero_to(frames));
        // One run per group (the warm-up runs none here), each of the whole batch: a short last
        // group is padded, not run smaller.
        const int groups = static_cast<int>((frames + batch - 1) / batch);
        EXPECT_EQ(many.runs, groups);
        EXPECT_EQ(many.slices, groups * batch);
        EXPECT_EQ(many.report.batch, batch);
        EXPECT_EQ(many.report.frames, frames);
      }
    }
  }
}

TEST(Batches, OfTheSyntheticEngineEqualOneFramePerRun) {
  const Device device = host();
  SyntheticEngine inner(device, SyntheticOptions{0.0, 2, DType::f32});
  const FrameFormat yuv =
      YuvDesc{30, 22, ChromaLayout::yuv420, 8, ColorMatrix::bt709, ColorRange::limited};
  const Batched one = batched_run(inner, yuv, Strategy::serial_pinned, 1, 7);
  for (const Strategy strategy : kAllStrategies) {
    const Batched many = batched_run(inner, yuv, strategy, 3, 7);
    EXPECT_EQ(many.hashes, one.hashes) << to_string(strategy);
    EXPECT_EQ(many.runs, 3) << to_string(strategy);
  }
}

TEST(Batches, WithTilesEqualWholeFramesOneAtATime) {
  // Each frame's tiles in its own slices of the batch: frame k's tile t in slice k * n + t.
  const test::ConvOptions conv{1, 2, 2, 1};
  test::ConvEngine inner(conv);
  const int overlap = 2 * (conv.r1 + conv.r2) + 2;
  const Batched whole = batched_run(inner, kRgb, Strategy::serial_pageable, 1, 5);
  const ComputePlan plan = tile_plan(kRgb, TileOptions{14, 12, overlap, 2, 1}, 2);
  ASSERT_GT(plan.steps.size(), 1U);
  for (const Strategy strategy : kAllStrategies) {
    const Batched tiled = batched_run(inner, kRgb, strategy, 2, 5, plan);
    EXPECT_EQ(tiled.hashes, whole.hashes) << to_string(strategy);
    EXPECT_EQ(tiled.runs, 3 * static_cast<int>(plan.steps.size())) << to_string(strategy);
  }
}

TEST(Batches, AWrongSliceShows) {
  // The comparison can fail: frames swapped between two runs' outputs differ from the reference.
  const test::ConvOptions conv{1, 1, 2, 1};
  test::ConvEngine inner(conv);
  Batched one = batched_run(inner, kRgb, Strategy::serial_pageable, 1, 3);
  ASSERT_EQ(one.hashes.size(), 3U);
  EXPECT_NE(one.hashes[0], one.hashes[1]);
  std::swap(one.hashes[0], one.hashes[1]);
  EXPECT_NE(batched_run(inner, kRgb, Strategy::split_streams, 2, 3).hashes, one.hashes);
}

TEST(Batches, RefusedInOneLine) {
  const Device device = host();
  test::ConvEngine inner(test::ConvOptions{});
  const auto one_line = [](const std::function<void()>& body, const std::string& says) {
    try {
      body();
      ADD_FAILURE() << "accepted; expected: " << says;
    } catch (const UsageError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(says), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  };
  const auto refused = [&](int batch, int fixed, const std::string& says) {
    CountingEngine engine(inner, fixed);
    SyntheticSource source(kRgb, 2);
    HashSink sink;
    PipelineOptions options = test::options_for(Strategy::split_streams);
    options.batch = batch;
    one_line([&] { (void)run_pipeline(device, engine, source, sink, options); }, says);
  };
  refused(0, 0, "PipelineOptions batch 0 is outside 1..64");
  refused(65, 0, "PipelineOptions batch 65 is outside 1..64");
  refused(3, 4, "CountingEngine takes batch 4, not 3");
  // Graphs are captured per slot: the Processor refuses them with a batch (run_pipeline refuses
  // graphs on the host backend before it gets there).
  ProcessorOptions graphs;
  graphs.cuda_graph = true;
  graphs.batch = 2;
  one_line([&] { Processor(device, inner, kRgb, graphs); }, "cuda_graph does not take batch 2");
}

}  // namespace
}  // namespace pyn
