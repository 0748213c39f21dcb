#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "pynference/device/error.hpp"
#include "pynference/engine/synthetic.hpp"
#include "pynference/kernels/float16.hpp"

namespace pyn {
namespace {

TEST(SyntheticEngine, OutputShapeScales) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  const SyntheticEngine engine(device, {0.0, 3, DType::f16});
  EXPECT_EQ(engine.output_shape({1, 3, 10, 7}), (TensorShape{1, 3, 30, 21}));
  EXPECT_THROW((void)engine.output_shape({1, 4, 10, 7}), UsageError);
  EXPECT_THROW(SyntheticEngine(device, {0.0, 0, DType::f16}), UsageError);
  EXPECT_THROW(SyntheticEngine(device, {-1.0, 1, DType::f16}), UsageError);
}

TEST(SyntheticEngine, HostRunComputesOneMinusNearestUpscale) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  SyntheticEngine engine(device, {0.0, 2, DType::f32});
  Stream stream = device.make_stream();
  const TensorShape in_shape{1, 3, 5, 4};
  engine.prepare(stream, in_shape);
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> value(0.0F, 1.0F);
  std::vector<float> in(in_shape.elements());
  for (float& v : in) {
    v = value(rng);
  }
  std::vector<float> out(engine.output_shape(in_shape).elements(), -7.0F);
  engine.run(stream, {in.data(), in_shape, DType::f32}, {out.data(), engine.output_shape(in_shape), DType::f32});
  stream.synchronize();
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 10; ++y) {
      for (int x = 0; x < 8; ++x) {
        const float expected = 1.0F - in[static_cast<std::size_t>((c * 5 + y / 2) * 4 + x / 2)];
        EXPECT_EQ(out[static_cast<std::size_t>((c * 10 + y) * 8 + x)], expected);
      }
    }
  }
}

}  // namespace
}  // namespace pyn
