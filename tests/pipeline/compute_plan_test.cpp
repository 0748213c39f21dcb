// Compute plans: tiles and batches of tiles give the frames the whole-frame plan gives (the
// synthetic engine is per pixel, so tiles need no blending to match), through the Processor and
// through every schedule, and a plan that cannot run is refused in one line before any frame.

#include "pynference/pipeline/compute_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "pynference/pipeline/processor.hpp"
#include "run_helpers.hpp"

namespace pyn {
namespace {

using namespace std::chrono_literals;

Device host() { return Device::open(DeviceSpec::parse("cpu")); }

// Tiles of tile x tile pixels, each read with `overlap` pixels of context on every side where the
// frame has them (the region slid inside the frame at its edges), its context cropped off the
// result; `batch` tiles per engine run.
ComputePlan tile_plan(const FrameFormat& format, int tile, int overlap, int batch, int scale) {
  const int width = width_of(format);
  const int height = height_of(format);
  const int rw = std::min(width, tile + 2 * overlap);
  const int rh = std::min(height, tile + 2 * overlap);
  ComputePlan plan;
  plan.input = TensorShape{batch, 3, rh, rw};
  plan.output_width = width * scale;
  plan.output_height = height * scale;
  for (int ty = 0; ty < height; ty += tile) {
    for (int tx = 0; tx < width; tx += tile) {
      if (plan.steps.empty() || static_cast<int>(plan.steps.back().jobs.size()) == batch) {
        plan.steps.emplace_back();
      }
      const int x0 = std::clamp(tx - overlap, 0, width - rw);
      const int y0 = std::clamp(ty - overlap, 0, height - rh);
      const int cw = std::min(tile, width - tx);
      const int ch = std::min(tile, height - ty);
      auto& jobs = plan.steps.back().jobs;
      jobs.push_back(ComputeJob{Rect{x0, y0, rw, rh}, static_cast<int>(jobs.size()),
                                Rect{(tx - x0) * scale, (ty - y0) * scale, cw * scale, ch * scale},
                                tx * scale, ty * scale});
    }
  }
  return plan;
}

const FrameFormat kFormats[] = {
    ImageDesc{24, 18, PixelType::u8, ChannelOrder::rgb},
    ImageDesc{22, 14, PixelType::u16, ChannelOrder::bgr},
    YuvDesc{24, 16, ChromaLayout::yuv420, 8, ColorMatrix::bt709, ColorRange::limited},
    YuvDesc{20, 12, ChromaLayout::yuv444, 10, ColorMatrix::bt2020, ColorRange::full},
};

TEST(ComputePlan, TilesAndBatchesGiveTheWholeFramesBytes) {
  const Device device = host();
  constexpr int kScale = 2;
  constexpr std::int64_t kFrames = 3;
  for (const FrameFormat& format : kFormats) {
    for (const int batch : {1, 3}) {
      SyntheticEngine engine(device, {0.0, kScale, DType::f16});
      SyntheticSource source(format, kFrames);
      ProcessorOptions options;
      options.plan = tile_plan(format, 8, 2, batch, kScale);
      Processor processor(device, engine, format, options);
      processor.prepare_all();
      EXPECT_GT(processor.plan().jobs(), 4U);
      EXPECT_EQ(processor.plan().steps.size(), (processor.plan().jobs() + batch - 1) / batch);
      for (std::int64_t frame = 0; frame < kFrames; ++frame) {
        Processor::Slot* slot = processor.acquire();
        ASSERT_NE(slot, nullptr);
        source.render(Processor::input(*slot), frame);
        processor.submit(*slot, frame);
        processor.wait(*slot);
        const std::vector<std::byte> expected =
            expected_synthetic_output(source, frame, DType::f16, kScale);
        const std::span<const std::byte> got = processor.output(*slot);
        ASSERT_EQ(got.size(), expected.size());
        EXPECT_EQ(std::memcmp(got.data(), expected.data(), got.size()), 0)
            << to_string(format) << " batch " << batch << " frame " << frame;
        processor.release(*slot);
      }
    }
  }
}

TEST(ComputePlan, EveryScheduleRunsATiledPlanUnchanged) {
  const Device device = host();
  const FrameFormat format =
      YuvDesc{24, 16, ChromaLayout::yuv420, 8, ColorMatrix::bt709, ColorRange::limited};
  auto hashes = [&](const PipelineOptions& options) {
    SyntheticEngine engine(device, {0.0, 2, DType::f16});
    SyntheticSource source(format, 12);
    HashSink sink;
    (void)test::within(60s, [&] { return run_pipeline(device, engine, source, sink, options); });
    return sink.hashes();
  };
  const auto reference = hashes(test::options_for(Strategy::serial_pageable));
  ASSERT_EQ(reference.size(), 12U);
  for (const Strategy strategy : kAllStrategies) {
    PipelineOptions options = test::options_for(strategy);
    options.plan = tile_plan(format, 8, 2, 2, 2);
    EXPECT_EQ(hashes(options), reference) << to_string(strategy);
  }
}

TEST(ComputePlan, APlanThatCannotRunIsRefusedInOneLine) {
  const Device device = host();
  const FrameFormat yuv =
      YuvDesc{24, 16, ChromaLayout::yuv420, 8, ColorMatrix::bt709, ColorRange::limited};
  const auto refused = [&](ComputePlan plan, const std::string& says) {
    SyntheticEngine engine(device, {0.0, 2, DType::f16});
    ProcessorOptions options;
    options.plan = std::move(plan);
    try {
      Processor processor(device, engine, yuv, options);
      ADD_FAILURE() << "accepted; expected: " << says;
    } catch (const UsageError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(says), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  };
  const ComputePlan good = tile_plan(yuv, 8, 2, 2, 2);
  ComputePlan plan = good;
  plan.steps.clear();
  refused(plan, "no steps");
  plan = good;
  plan.steps[0].jobs[1].slice = 2;
  refused(plan, "slice 2 is outside 0..1");
  plan = good;
  plan.steps[0].jobs[1].slice = 0;
  refused(plan, "slice 0 has two jobs");
  plan = good;
  plan.steps[0].jobs[0].region.x = 14;
  refused(plan, "outside the 24x16 frame");
  plan = good;
  plan.steps[0].jobs[0].region.width = 10;
  refused(plan, "is not the tensor's");
  plan = good;
  plan.output_width = 0;
  plan.output_height = 0;
  refused(plan, "needs an output size");
  plan = good;
  plan.steps[0].jobs[0].region.x = 1;  // 4:2:0 regions start on even pixels
  refused(plan, "");
  plan = good;
  plan.steps[0].jobs[0].x = 40;  // the crop lands outside the 48x32 output
  refused(plan, "");
}

}  // namespace
}  // namespace pyn
