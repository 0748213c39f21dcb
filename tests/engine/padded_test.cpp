// The padding adapter on the host backend: the inner engine sees exactly its compiled size with
// spandrel's padding around the frame, and the output is the frame's part of the inner's output.

#include "pynference/engine/padded.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "pynference/device/device.hpp"
#include "pynference/device/error.hpp"
#include "pynference/engine/synthetic.hpp"

namespace pyn {
namespace {

// Takes only `width` x `height` inputs, keeps a copy of the last one, and outputs it unchanged.
class FixedSizeCopy final : public Engine {
 public:
  FixedSizeCopy(int width, int height, std::vector<float>* seen)
      : width_(width), height_(height), seen_(seen) {}
  [[nodiscard]] std::string name() const override { return "copy"; }
  [[nodiscard]] DType dtype() const override { return DType::f32; }
  [[nodiscard]] TensorShape output_shape(const TensorShape& input) const override {
    if (input.w != width_ || input.h != height_) {
      throw UsageError("copy takes " + std::to_string(width_) + "x" + std::to_string(height_) +
                       " only");
    }
    return input;
  }
  void prepare(Stream& /*stream*/, const TensorShape& input) override { (void)output_shape(input); }
  void run(Stream& stream, const TensorView& in, const TensorView& out) override {
    (void)output_shape(in.shape);
    stream.enqueue([this, in, out] {
      std::memcpy(out.data, in.data, in.bytes());
      seen_->assign(static_cast<const float*>(in.data),
                    static_cast<const float*>(in.data) + in.shape.elements());
    });
  }

 private:
  int width_;
  int height_;
  std::vector<float>* seen_;
};

std::vector<float> random_values(std::size_t n) {
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> value(0.0F, 1.0F);
  std::vector<float> out(n);
  for (float& v : out) {
    v = value(rng);
  }
  return out;
}

TEST(PaddedEngine, InnerSeesThePaddedFrameAndTheOutputIsCroppedBack) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  std::vector<float> seen;
  auto engine = make_padded_engine(device, std::make_unique<FixedSizeCopy>(8, 6, &seen), 8, 6);
  const TensorShape shape{1, 3, 3, 5};
  EXPECT_EQ(engine->output_shape(shape), shape);
  Stream stream = device.make_stream();
  engine->prepare(stream, shape);
  std::vector<float> in = random_values(shape.elements());
  std::vector<float> out(shape.elements(), -1.0F);
  engine->run(stream, {in.data(), shape, DType::f32}, {out.data(), shape, DType::f32});
  stream.synchronize();
  EXPECT_EQ(out, in);
  ASSERT_EQ(seen.size(), 3U * 6 * 8);
  const auto at = [&](const std::vector<float>& t, int c, int y, int x, int h, int w) {
    return t[(c * h + y) * w + x];
  };
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(at(seen, c, 0, 5, 6, 8),
              at(in, c, 0, 3, 3, 5));  // reflected: column 5 mirrors column 3
    EXPECT_EQ(at(seen, c, 1, 7, 6, 8), at(in, c, 1, 1, 3, 5));  // column 7 mirrors column 1
    EXPECT_EQ(at(seen, c, 3, 2, 6, 8), at(in, c, 1, 2, 3, 5));  // row 3 mirrors row 1
    EXPECT_EQ(at(seen, c, 5, 4, 6, 8),
              at(in, c, 0, 4, 3, 5));  // rows 3, 4 mirror rows 1, 0; row 5 replicates row 4
  }
}

TEST(PaddedEngine, OutputOfAScalingNetworkIsTheFramesPart) {
  // The synthetic engine is local (nearest-neighbour), so padding on the right and bottom must not
  // change the frame's part of its output: padded + cropped equals the engine on the frame alone.
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  const SyntheticOptions options{0.0, 2, DType::f32};
  auto padded =
      make_padded_engine(device, std::make_unique<SyntheticEngine>(device, options), 16, 16);
  SyntheticEngine plain(device, options);
  const TensorShape shape{1, 3, 9, 13};
  const TensorShape out_shape = padded->output_shape(shape);
  ASSERT_EQ(out_shape, plain.output_shape(shape));
  Stream stream = device.make_stream();
  padded->prepare(stream, shape);
  plain.prepare(stream, shape);
  std::vector<float> in = random_values(shape.elements());
  std::vector<float> got(out_shape.elements(), -1.0F);
  std::vector<float> want(out_shape.elements(), -2.0F);
  padded->run(stream, {in.data(), shape, DType::f32}, {got.data(), out_shape, DType::f32});
  plain.run(stream, {in.data(), shape, DType::f32}, {want.data(), out_shape, DType::f32});
  stream.synchronize();
  EXPECT_EQ(got, want);
}

TEST(PaddedEngine, RefusesFramesLargerThanThePaddedSize) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  auto engine = make_padded_engine(
      device, std::make_unique<SyntheticEngine>(device, SyntheticOptions{0.0, 2, DType::f32}), 16,
      8);
  try {
    (void)engine->output_shape({1, 3, 9, 4});
    FAIL() << "no refusal";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("up to 16x8, not 4x9"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pyn
