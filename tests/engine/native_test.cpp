// The native engine on the CPU: its plan reader refuses what it cannot run in one line, and its CPU
// reference does what PyTorch's operators do (convolution, activations, pixel shuffle, nearest
// skip), which tests/models/native_test.py checks against PyTorch itself; native_gpu_test.cpp
// checks the GPU path against this reference.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "native_plans.hpp"
#include "ops.hpp"
#include "plan.hpp"
#include "pynference/device/device.hpp"
#include "pynference/device/error.hpp"
#include "pynference/engine/native_engine.hpp"
#include "reference.hpp"

namespace pyn {
namespace {

using namespace native_testing;  // NOLINT(google-build-using-namespace): the tests' own helpers

TEST(NativePlan, ReadsOperatorsWeightsAndShapes) {
  const PlanFolder folder("reads");
  PlanText p(3, 4, 1);
  const int a = p.conv(3, {0}, 16, "prelu");
  const int b = p.conv(1, {0, a}, 8, "leaky:0.2");
  const int c = p.act(b, "silu");
  const int d = p.binary("gate", c, b);
  const int e = p.resize("upsample", p.axpy(d, 0.5F, b), 2);
  const int f = p.conv(3, {e}, 12, "relu");
  const int out = p.resize("shuffle", f, 2);
  const native::Plan plan = native::load_plan(folder.write(p, out));
  EXPECT_EQ(plan.arch, "Test");
  ASSERT_EQ(plan.ops.size(), 8U);
  EXPECT_EQ(plan.ops[0].activation, native::Activation::prelu);
  EXPECT_EQ(plan.ops[0].alpha.size(), 16U);
  EXPECT_EQ(plan.ops[1].kernel, 1);
  EXPECT_EQ(plan.ops[1].inputs, (std::vector<int>{0, 1}));
  EXPECT_EQ(plan.cin(plan.ops[1]), 19);
  EXPECT_EQ(plan.ops[1].weight.size(), 8U * 19U);
  EXPECT_FLOAT_EQ(plan.ops[1].slope, 0.2F);
  EXPECT_EQ(plan.ops[2].activation, native::Activation::silu);
  EXPECT_EQ(plan.ops[3].kind, native::OpKind::gate);
  EXPECT_FLOAT_EQ(plan.ops[4].scalar, 0.5F);
  EXPECT_EQ(plan.tensors[static_cast<std::size_t>(e)].factor, 2);
  EXPECT_EQ(plan.tensors[static_cast<std::size_t>(out)].factor, 4);
  EXPECT_EQ(plan.output_channels(), 3);
  EXPECT_EQ(native::negative_slopes(plan.ops[6]), std::vector<float>(12, 0.0F));
  EXPECT_EQ(native::last_uses(plan)[static_cast<std::size_t>(b)], 4);
  EXPECT_DOUBLE_EQ(native::flop_per_frame(plan, 10, 5),
                   2.0 * 50 * (9 * 3 * 16 + 1 * 19 * 8) + 2.0 * 200 * 9 * 8 * 12);
}

TEST(NativePlan, RefusesWhatItCannotRunInOneLine) {
  const PlanFolder folder("refuses");
  const std::string head = "pynference-native 2\ninput 3\nscale 1\n";
  struct Case {
    std::string text;
    std::size_t weights;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"pynference-native 1\n", 0, "not a native plan of version 2"},
      {head + "%1 = conv 3 %0 3 gelu\noutput %1\n", 84, "unknown activation 'gelu'"},
      {head + "%1 = conv 3 %0 3 none\noutput %1\n", 83, "shorter than its plan says"},
      {head + "%1 = conv 3 %0 3 none\noutput %1\n", 85, "longer than its plan says"},
      {head + "%1 = conv 2 %0 3 none\noutput %1\n", 39, "3x3 or 1x1"},
      {head + "%1 = conv 3 %1 3 none\noutput %1\n", 84, "'%1' is not a tensor made before this line"},
      {head + "%2 = conv 3 %0 3 none\noutput %2\n", 84, "expected '%1 = OPERATOR"},
      {head + "%1 = blur %0\noutput %1\n", 0, "unknown operator 'blur'"},
      {head + "%1 = conv 3 %0 6 none\noutput %1\n", 168, "gives 6 channels for its input's 3"},
      {head + "%1 = conv 3 %0 12 none\n%2 = shuffle %1 3\noutput %2\n", 336, "cannot be pixel-shuffled by 3"},
      {head + "%1 = conv 3 %0 12 none\n%2 = shuffle %1 2\noutput %2\n", 336, "scales by 2, not its scale 1"},
      {head + "%1 = upsample %0 2\n%2 = add %1 %0\noutput %2\n", 0, "add of tensors of different shapes"},
      {head + "%1 = conv 3 %0 3 none\n%2 = upsample %0 2\n%3 = conv 3 %1,%2 3 none\noutput %3\n", 84,
       "inputs of different sizes"},
      {head + "%1 = axpy %0 fast %0\noutput %1\n", 0, "'fast' is not a number"},
      {head + "%1 = conv 3 %0 3 none extra\noutput %1\n", 84, "unexpected 'extra'"},
      {head + "%1 = conv 3 %0 3 none\noutput %1\n%2 = act %1 relu\n", 84, "an operator after the output"},
      {head + "%1 = conv 3 %0 3 none\n", 84, "names no output"},
      {head + "%1 = conv 3 %0 0 none\noutput %1\n", 0, "is not a number from 1"},
  };
  for (const Case& c : cases) {
    const std::string path = folder.write(c.text, std::vector<float>(c.weights, 0.5F));
    try {
      (void)native::load_plan(path);
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const UsageError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(c.says), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
  EXPECT_THROW((void)native::load_plan(folder.write("", {}) + ".missing"), UsageError);
}

// A center-tap identity convolution leaves the activation alone: out = act(x + bias).
TEST(NativeReference, IdentityConvolutionIsItsActivation) {
  const PlanFolder folder("identity");
  std::vector<float> weights(3 * 3 * 9, 0.0F);
  for (int c = 0; c < 3; ++c) {
    weights[(static_cast<std::size_t>(c) * 3 + c) * 9 + 4] = 1.0F;
  }
  const std::vector<float> bias = {-0.5F, 0.25F, -0.1F};
  const std::vector<float> alpha = {0.1F, 0.2F, 0.3F};
  weights.insert(weights.end(), bias.begin(), bias.end());
  weights.insert(weights.end(), alpha.begin(), alpha.end());
  const native::Plan plan = native::load_plan(folder.write(
      "pynference-native 2\ninput 3\nscale 1\n%1 = conv 3 %0 3 prelu\noutput %1\n", weights));
  const int h = 5;
  const int w = 7;
  const std::vector<float> in = random_values(static_cast<std::size_t>(2 * 3 * h * w), 3);
  std::vector<float> out(in.size());
  native::forward_cpu(plan, in.data(), 2, h, w, out.data());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto c = (i / static_cast<std::size_t>(h * w)) % 3;
    const float v = in[i] + bias[c];
    EXPECT_FLOAT_EQ(out[i], v > 0 ? v : v * alpha[c]) << i;
  }
}

// Zero padding: a convolution whose taps are all 1 sums the 3x3 neighbourhood that lies inside.
TEST(NativeReference, ZeroPaddingAtTheEdges) {
  const PlanFolder folder("edges");
  std::vector<float> weights(9, 1.0F);
  weights.push_back(0.0F);  // bias
  const native::Plan plan = native::load_plan(folder.write(
      "pynference-native 2\ninput 1\nscale 1\n%1 = conv 3 %0 1 none\noutput %1\n", weights));
  const std::vector<float> in(4 * 3, 1.0F);  // 3 rows of 4
  std::vector<float> out(in.size());
  native::forward_cpu(plan, in.data(), 1, 3, 4, out.data());
  const std::vector<float> expected = {4, 6, 6, 4, 6, 9, 9, 6, 4, 6, 6, 4};
  EXPECT_EQ(out, expected);
}

// Pixel shuffle: feature channel c * s^2 + i * s + j lands at (y * s + i, x * s + j) of channel
// c; the skip adds the input at (y, x). Features are made from the input by single taps.
TEST(NativeReference, ShuffleAndNearestSkipPlacePixelsAsPyTorchDoes) {
  const PlanFolder folder("shuffle");
  constexpr int s = 2;
  constexpr int features = 3 * s * s;
  std::vector<float> weights(static_cast<std::size_t>(features) * 3 * 9, 0.0F);
  for (int k = 0; k < features; ++k) {
    weights[(static_cast<std::size_t>(k) * 3 + k / (s * s)) * 9 + 4] = static_cast<float>(k + 1);
  }
  weights.insert(weights.end(), features, 0.0F);
  const native::Plan plan = native::load_plan(folder.write(
      "pynference-native 2\ninput 3\nscale 2\n%1 = conv 3 %0 12 none\n%2 = shuffle %1 2\n"
      "%3 = upsample %0 2\n%4 = add %2 %3\noutput %4\n",
      weights));
  const int h = 3;
  const int w = 4;
  const std::vector<float> in = random_values(static_cast<std::size_t>(3 * h * w), 5);
  std::vector<float> out(static_cast<std::size_t>(3 * h * s * w * s));
  native::forward_cpu(plan, in.data(), 1, h, w, out.data());
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < h * s; ++y) {
      for (int x = 0; x < w * s; ++x) {
        const float source = in[(static_cast<std::size_t>(c) * h + y / s) * w + x / s];
        const int k = c * s * s + (y % s) * s + x % s;
        EXPECT_FLOAT_EQ(out[(static_cast<std::size_t>(c) * h * s + y) * w * s + x],
                        source * static_cast<float>(k + 1) + source);
      }
    }
  }
}

// The pointwise operators' formulas, and a 1x1 convolution of a concatenation taking channel k of
// the pieces in order.
TEST(NativeReference, PointwiseOperatorsAndConcatenationOrder) {
  const PlanFolder folder("pointwise");
  std::vector<float> weights = {2.0F, 0.5F, 0.0F, 0.25F};  // affine: scale [2], shift [2]
  // %5 = conv 1 of (%3, %4): 2 out channels, from 4 in: out0 = in channel 1 (%3's second), out1 =
  // in channel 2 (%4's first).
  const std::vector<float> conv = {0, 1, 0, 0, 0, 0, 1, 0, 0, 0};
  weights.insert(weights.end(), conv.begin(), conv.end());
  const native::Plan plan = native::load_plan(folder.write(
      "pynference-native 2\ninput 2\nscale 1\n%1 = affine %0\n%2 = act %1 silu\n%3 = gate %2 %1\n"
      "%4 = axpy %3 -0.5 %0\n%5 = conv 1 %3,%4 2 none\noutput %5\n",
      weights));
  const std::vector<float> in = {0.3F, -1.5F, 0.8F, 2.0F};  // 2 channels of 2 pixels
  std::vector<float> out(4);
  native::forward_cpu(plan, in.data(), 1, 1, 2, out.data());
  for (int p = 0; p < 2; ++p) {
    const float x0 = in[static_cast<std::size_t>(p)];
    const float x1 = in[static_cast<std::size_t>(2 + p)];
    const float a1 = x1 * 0.5F + 0.25F;  // channel 1 of %1
    const float s1 = a1 / (1.0F + std::exp(-a1));
    const float g1 = (s1 + a1) * (1.0F / (1.0F + std::exp(-s1)) - 0.5F);  // channel 1 of %3
    const float a0 = x0 * 2.0F;
    const float s0 = a0 / (1.0F + std::exp(-a0));
    const float g0 = (s0 + a0) * (1.0F / (1.0F + std::exp(-s0)) - 0.5F);
    EXPECT_FLOAT_EQ(out[static_cast<std::size_t>(p)], g1);
    EXPECT_FLOAT_EQ(out[static_cast<std::size_t>(2 + p)], g0 * -0.5F + x0);  // channel 0 of %4
  }
}

// On the host backend the engine is the reference, through the tensor's dtype.
TEST(NativeEngine, HostBackendRunsTheReference) {
  const PlanFolder folder("host");
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  for (const std::string& path : {compact_like(folder, 8, 2, "prelu", 9), span_like(folder, 10),
                                  esrgan_like(folder, 11)}) {
    const native::Plan plan = native::load_plan(path);
    const auto engine = open_native_engine(device, path, {DType::f32, ""});
    const TensorShape input{2, 3, 6, 5};
    const TensorShape output = engine->output_shape(input);
    EXPECT_EQ(output, (TensorShape{2, 3, 6 * plan.scale, 5 * plan.scale}));
    EXPECT_THROW((void)engine->output_shape({1, 4, 6, 5}), UsageError);
    std::vector<float> in = random_values(input.elements(), 11);
    std::vector<float> out(output.elements());
    Stream stream = device.make_stream();
    engine->prepare(stream, input);
    engine->run(stream, {in.data(), input, DType::f32}, {out.data(), output, DType::f32});
    stream.synchronize();
    std::vector<float> expected(out.size());
    native::forward_cpu(plan, in.data(), 2, 6, 5, expected.data());
    EXPECT_EQ(out, expected);
    EXPECT_NE(engine->name().find("native Test"), std::string::npos) << engine->name();
  }
}

}  // namespace
}  // namespace pyn
