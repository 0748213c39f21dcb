// Every strategy on a GPU gives the frames of serial-pageable, and those match the CPU reference;
// with CUDA graphs (PipelineOptions::cuda_graph) too.

#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "run_helpers.hpp"

namespace pyn {
namespace {

using namespace std::chrono_literals;
using test::options_for;
using test::within;
using test::Workload;

const Workload kGpuWorkloads[] = {
    {ImageDesc{1920, 1080, PixelType::u8, ChannelOrder::rgb}, 2, DType::f16, 20, 0.3},
    {ImageDesc{333, 201, PixelType::u16, ChannelOrder::bgr}, 3, DType::bf16, 16, 0.1},
    {ImageDesc{640, 360, PixelType::u8, ChannelOrder::bgr}, 1, DType::f32, 16, 0.1},
    {YuvDesc{1281, 721, ChromaLayout::yuv420, 8, ColorMatrix::bt709, ColorRange::limited}, 2, DType::f16, 16, 0.1},
    {YuvDesc{640, 360, ChromaLayout::yuv444, 10, ColorMatrix::bt601, ColorRange::full}, 1, DType::bf16, 16, 0.1},
};

class GpuStrategy : public ::testing::TestWithParam<std::tuple<Strategy, int>> {
 protected:
  void SetUp() override {
    if (Device::cuda_device_count() == 0) {
      GTEST_SKIP() << "no CUDA device";
    }
  }
};

test::Hashed run_hashed(const Device& device, const Workload& w, Strategy strategy,
                        bool cuda_graph = false) {
  SyntheticEngine engine(device, {w.compute_ms, w.scale, w.dtype});
  SyntheticSource source(w.image, w.frames);
  HashSink sink;
  PipelineOptions options = options_for(strategy);
  options.cuda_graph = cuda_graph;
  const RunReport report =
      within(120s, [&] { return run_pipeline(device, engine, source, sink, options); });
  EXPECT_EQ(report.frames, w.frames);
  EXPECT_EQ(report.cuda_graph, cuda_graph);
  return {sink.hashes(), sink.indices(), sink.format()};
}

std::string param_name(Strategy strategy, int workload) {
  std::string name(to_string(strategy));
  for (char& c : name) {
    c = c == '-' ? '_' : c;
  }
  return name + "_w" + std::to_string(workload);
}

TEST_P(GpuStrategy, GivesTheFramesOfSerialPageable) {
  const auto [strategy, index] = GetParam();
  const Workload& w = kGpuWorkloads[index];
  const Device device = Device::open(DeviceSpec::parse("cuda:0"));
  const test::Hashed reference = run_hashed(device, w, Strategy::serial_pageable);
  const test::Hashed result = run_hashed(device, w, strategy);
  EXPECT_EQ(result.hashes, reference.hashes);
  for (std::size_t i = 0; i < result.indices.size(); ++i) {
    EXPECT_EQ(result.indices[i], static_cast<std::int64_t>(i));
  }
}

INSTANTIATE_TEST_SUITE_P(Strategies, GpuStrategy,
                         ::testing::Combine(::testing::ValuesIn(kAllStrategies),
                                            ::testing::Range(0, 5)),
                         [](const auto& p) {
                           return param_name(std::get<0>(p.param), std::get<1>(p.param));
                         });

// With graphs: one per (slot, compute stream), launched per frame; the frames must not change.
class GpuGraph : public GpuStrategy {};

TEST_P(GpuGraph, GivesTheFramesOfSerialPageableWithoutGraphs) {
  const auto [strategy, index] = GetParam();
  const Workload& w = kGpuWorkloads[index];
  const Device device = Device::open(DeviceSpec::parse("cuda:0"));
  const test::Hashed reference = run_hashed(device, w, Strategy::serial_pageable);
  const test::Hashed result = run_hashed(device, w, strategy, true);
  EXPECT_EQ(result.hashes, reference.hashes);
  ASSERT_EQ(result.indices.size(), static_cast<std::size_t>(w.frames));
  for (std::size_t i = 0; i < result.indices.size(); ++i) {
    EXPECT_EQ(result.indices[i], static_cast<std::int64_t>(i));
  }
}

INSTANTIATE_TEST_SUITE_P(Strategies, GpuGraph,
                         ::testing::Combine(::testing::ValuesIn(kAllStrategies),
                                            ::testing::Range(0, 5)),
                         [](const auto& p) {
                           return param_name(std::get<0>(p.param), std::get<1>(p.param));
                         });

TEST(GpuGraphRuns, TwoRunsOfOneEngineMatchTheCpuReference) {
  if (Device::cuda_device_count() == 0) {
    GTEST_SKIP() << "no CUDA device";
  }
  const Device device = Device::open(DeviceSpec::parse("cuda:0"));
  const Workload& w = kGpuWorkloads[3];  // YUV 4:2:0, odd size, x2
  SyntheticEngine engine(device, {w.compute_ms, w.scale, w.dtype});
  for (const Strategy strategy : {Strategy::multi_compute, Strategy::worker_streams}) {
    SyntheticSource source(w.image, 9);
    CheckingSink sink(
        [&](std::int64_t i) { return expected_synthetic_output(source, i, w.dtype, w.scale); });
    PipelineOptions options = options_for(strategy);
    options.cuda_graph = true;
    options.measure = true;
    options.slots = 5;
    const RunReport report =
        within(120s, [&] { return run_pipeline(device, engine, source, sink, options); });
    EXPECT_EQ(sink.checked(), 9) << to_string(strategy);
    EXPECT_TRUE(report.cuda_graph);
    EXPECT_GT(report.stages.compute_ms, 0.0) << "measured alone through the graphs";
  }
}

class GpuReference : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (Device::cuda_device_count() == 0) {
      GTEST_SKIP() << "no CUDA device";
    }
  }
};

// The GPU's frames equal the CPU reference bit for bit, for every dtype and pixel type.
TEST_P(GpuReference, SplitStreamsMatchesTheCpuReference) {
  const Workload& w = kGpuWorkloads[GetParam()];
  const Device device = Device::open(DeviceSpec::parse("cuda:0"));
  SyntheticEngine engine(device, {w.compute_ms, w.scale, w.dtype});
  SyntheticSource source(w.image, 4);
  CheckingSink sink([&](std::int64_t i) { return expected_synthetic_output(source, i, w.dtype, w.scale); });
  (void)within(120s, [&] { return run_pipeline(device, engine, source, sink, options_for(Strategy::split_streams)); });
  EXPECT_EQ(sink.checked(), 4);
}

INSTANTIATE_TEST_SUITE_P(Workloads, GpuReference, ::testing::Range(0, 5));

TEST(GpuCalibration, SyntheticEngineHitsItsCost) {
  if (Device::cuda_device_count() == 0) {
    GTEST_SKIP() << "no CUDA device";
  }
  const Device device = Device::open(DeviceSpec::parse("cuda:0"));
  for (double target : {1.0, 5.0}) {
    SyntheticEngine engine(device, {target, 4, DType::f16});
    SyntheticSource source(ImageDesc{960, 540, PixelType::u8, ChannelOrder::rgb}, 40);
    NullSink sink;
    PipelineOptions options = options_for(Strategy::serial_pinned);
    options.measure = true;
    options.warmup = 5;
    const RunReport r = within(120s, [&] { return run_pipeline(device, engine, source, sink, options); });
    // compute = pre + engine + post; pre and post of these sizes are well under 0.1 ms.
    EXPECT_NEAR(r.stages.compute_ms, target, 0.1 * target) << "alone";
    EXPECT_NEAR(r.in_run.compute_ms, target, 0.1 * target) << "target " << target << " ms";
  }
}

}  // namespace
}  // namespace pyn
