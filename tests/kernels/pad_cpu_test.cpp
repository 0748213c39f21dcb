// The pad/crop CPU reference against spandrel's padding, worked out by hand: reflect without
// repeating the edge, at most size - 1 samples, then replicate.

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "pynference/device/device.hpp"
#include "pynference/device/error.hpp"
#include "pynference/device/stream.hpp"
#include "pynference/kernels/pad.hpp"

namespace pyn {
namespace {

std::vector<int> sources(int size, int padded) {
  std::vector<int> out;
  for (int i = 0; i < padded; ++i) {
    out.push_back(pad_source(i, size, padded));
  }
  return out;
}

TEST(PadSource, ReflectsWithoutRepeatingTheEdgeThenReplicates) {
  EXPECT_EQ(sources(3, 3), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(sources(3, 5), (std::vector<int>{0, 1, 2, 1, 0}));
  EXPECT_EQ(sources(3, 7), (std::vector<int>{0, 1, 2, 1, 0, 0, 0}));
  EXPECT_EQ(sources(5, 8), (std::vector<int>{0, 1, 2, 3, 4, 3, 2, 1}));
  EXPECT_EQ(sources(1, 4), (std::vector<int>{0, 0, 0, 0}));
  EXPECT_EQ(sources(2, 5), (std::vector<int>{0, 1, 0, 0, 0}));
}

TEST(PadCpu, TwoByTwoPlanesGrowRightAndDown) {
  // Two planes of 2x3, f32, padded to 4x4.
  std::vector<float> in = {1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60};
  std::vector<float> out(2 * 4 * 4, -1.0F);
  pad_cpu({in.data(), {1, 2, 2, 3}, DType::f32}, {out.data(), {1, 2, 4, 4}, DType::f32});
  const std::vector<float> first = {1, 2, 3, 2, 4, 5, 6, 5, 1, 2, 3, 2, 1, 2, 3, 2};
  EXPECT_EQ(std::vector<float>(out.begin(), out.begin() + 16), first);
  EXPECT_EQ(out[16], 10.0F);
  EXPECT_EQ(out[16 + 3], 20.0F);
  EXPECT_EQ(out[16 + 15], 20.0F);
}

TEST(PadCpu, CropUndoesPadOnRandomHalfTensors) {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> size(1, 19);
  for (int round = 0; round < 20; ++round) {
    const TensorShape small{1 + round % 2, 3, size(rng), size(rng)};
    const TensorShape large{small.n, 3, small.h + size(rng) - 1, small.w + size(rng) - 1};
    std::vector<std::uint16_t> in(small.elements());
    for (auto& v : in) {
      v = static_cast<std::uint16_t>(rng());
    }
    std::vector<std::uint16_t> padded(large.elements());
    std::vector<std::uint16_t> back(small.elements() + 8, 0xBEEF);
    pad_cpu({in.data(), small, DType::f16}, {padded.data(), large, DType::f16});
    crop_cpu({padded.data(), large, DType::f16}, {back.data(), small, DType::f16});
    EXPECT_EQ(std::vector<std::uint16_t>(back.begin(), back.begin() + static_cast<long>(in.size())),
              in);
    for (std::size_t i = in.size(); i < back.size(); ++i) {
      EXPECT_EQ(back[i], 0xBEEF) << "crop wrote past its output";
    }
  }
}

TEST(Pad, RefusesMismatchedTensorsInOneLine) {
  Device device = Device::open(DeviceSpec::parse("cpu"));
  Stream stream = device.make_stream();
  std::vector<float> a(12);
  std::vector<float> b(64);
  EXPECT_THROW(
      pad(stream, {a.data(), {1, 3, 2, 2}, DType::f32}, {b.data(), {1, 3, 1, 4}, DType::f32}),
      UsageError);
  EXPECT_THROW(
      pad(stream, {a.data(), {1, 3, 2, 2}, DType::f32}, {b.data(), {1, 3, 4, 4}, DType::f16}),
      UsageError);
  EXPECT_THROW(
      crop(stream, {a.data(), {1, 3, 2, 2}, DType::f32}, {b.data(), {1, 3, 4, 4}, DType::f32}),
      UsageError);
  // Views with strides (here channels last) would be read as NCHW: refused, not misread.
  EXPECT_THROW(pad(stream, {a.data(), {1, 3, 2, 2}, DType::f32, {12, 1, 6, 3}},
                   {b.data(), {1, 3, 4, 4}, DType::f32}),
               UsageError);
  EXPECT_THROW(crop(stream, {b.data(), {1, 3, 4, 4}, DType::f32, {64, 1, 12, 3}},
                    {a.data(), {1, 3, 2, 2}, DType::f32}),
               UsageError);
}

TEST(Pad, RunsOnTheHostBackendInStreamOrder) {
  Device device = Device::open(DeviceSpec::parse("cpu"));
  Stream stream = device.make_stream();
  std::vector<float> in = {1, 2, 3, 4};
  std::vector<float> out(9, 0.0F);
  pad(stream, {in.data(), {1, 1, 2, 2}, DType::f32}, {out.data(), {1, 1, 3, 3}, DType::f32});
  stream.synchronize();
  EXPECT_EQ(out, (std::vector<float>{1, 2, 1, 3, 4, 3, 1, 2, 1}));
}

}  // namespace
}  // namespace pyn
