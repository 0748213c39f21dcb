// The native engine: its plan reader refuses what it cannot run in one line; its CPU reference does
// what PyTorch's operators do (convolution, activations, pixel shuffle, nearest skip); and, built
// with PYN_NATIVE_GPU_TESTS, its layout kernels give the CPU references' bits and its tensor-core
// path the reference's values on fresh random plans and data (PyTorch itself checks the reference
// in tests/models/native_test.py).

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <fstream>
#include <unistd.h>
#include <random>
#include <string>
#include <vector>

#include "layout.hpp"
#include "ops.hpp"
#include "plan.hpp"
#include "pynference/device/cuda_check.hpp"
#include "pynference/device/device.hpp"
#include "pynference/device/error.hpp"
#include "pynference/engine/native_engine.hpp"
#include "pynference/kernels/float16.hpp"
#include "reference.hpp"

namespace pyn {
namespace {

namespace fs = std::filesystem;

// A plan to write: operators appended one by one, tracking each tensor's channels and size, with
// random weights of a trained net's magnitude (1/sqrt(fan-in)) unless given.
class PlanText {
 public:
  PlanText(int input, int scale, unsigned seed) : rng_(seed) {
    text_ = "pynference-native 2\narch Test\ninput " + std::to_string(input) + "\nscale " +
            std::to_string(scale) + "\n";
    channels_ = {input};
    factors_ = {1};
  }

  int conv(int k, const std::vector<int>& inputs, int cout, const std::string& act) {
    std::string names;
    int cin = 0;
    for (const int i : inputs) {
      names += (names.empty() ? "%" : ",%") + std::to_string(i);
      cin += channels_[static_cast<std::size_t>(i)];
    }
    std::normal_distribution<float> weight(0.0F, 1.0F / std::sqrt(static_cast<float>(k * k * cin)));
    for (int i = 0; i < cout * cin * k * k; ++i) {
      weights_.push_back(weight(rng_));
    }
    add_bias(cout);
    if (act == "prelu") {
      add_slopes(cout);
    }
    return op("conv " + std::to_string(k) + " " + names + " " + std::to_string(cout) + " " + act, cout,
              factors_[static_cast<std::size_t>(inputs.front())]);
  }
  int act(int a, const std::string& act) {
    if (act == "prelu") {
      add_slopes(channels(a));
    }
    return op("act %" + std::to_string(a) + " " + act, channels(a), factor(a));
  }
  int affine(int a) {
    std::uniform_real_distribution<float> scale(0.5F, 2.0F);
    for (int i = 0; i < channels(a); ++i) {
      weights_.push_back(scale(rng_));
    }
    add_bias(channels(a));
    return op("affine %" + std::to_string(a), channels(a), factor(a));
  }
  int binary(const std::string& kind, int a, int b) {
    return op(kind + " %" + std::to_string(a) + " %" + std::to_string(b), channels(a), factor(a));
  }
  int axpy(int a, float s, int b) {
    return op("axpy %" + std::to_string(a) + " " + std::to_string(s) + " %" + std::to_string(b),
              channels(a), factor(a));
  }
  int resize(const std::string& kind, int a, int f) {
    const int c = kind == "shuffle" ? channels(a) / (f * f) : channels(a);
    return op(kind + " %" + std::to_string(a) + " " + std::to_string(f), c, factor(a) * f);
  }
  [[nodiscard]] int channels(int t) const { return channels_[static_cast<std::size_t>(t)]; }
  [[nodiscard]] int factor(int t) const { return factors_[static_cast<std::size_t>(t)]; }
  [[nodiscard]] std::string text(int output) const { return text_ + "output %" + std::to_string(output) + "\n"; }
  [[nodiscard]] const std::vector<float>& weights() const { return weights_; }

 private:
  int op(const std::string& text, int channels, int factor) {
    const auto made = static_cast<int>(channels_.size());
    text_ += "%" + std::to_string(made) + " = " + text + "\n";
    channels_.push_back(channels);
    factors_.push_back(factor);
    return made;
  }
  void add_bias(int n) {
    std::uniform_real_distribution<float> small(-0.1F, 0.1F);
    for (int i = 0; i < n; ++i) {
      weights_.push_back(small(rng_));
    }
  }
  void add_slopes(int n) {
    std::uniform_real_distribution<float> slope(0.0F, 0.5F);
    for (int i = 0; i < n; ++i) {
      weights_.push_back(slope(rng_));
    }
  }

  std::mt19937 rng_;
  std::string text_;
  std::vector<int> channels_;
  std::vector<int> factors_;
  std::vector<float> weights_;
};

// Writes native.plan and native.bin into a fresh folder; returns the plan's path.
class PlanFolder {
 public:
  explicit PlanFolder(const std::string& name)
      : dir_(fs::temp_directory_path() / ("pyn-native-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  PlanFolder(const PlanFolder&) = delete;
  PlanFolder& operator=(const PlanFolder&) = delete;
  ~PlanFolder() { fs::remove_all(dir_); }

  [[nodiscard]] std::string write(const std::string& text, const std::vector<float>& weights) const {
    std::ofstream(dir_ / "native.plan") << text;
    std::ofstream bin(dir_ / "native.bin", std::ios::binary);
    bin.write(reinterpret_cast<const char*>(weights.data()),
              static_cast<std::streamsize>(weights.size() * sizeof(float)));
    return (dir_ / "native.plan").string();
  }
  [[nodiscard]] std::string write(const PlanText& plan, int output) const {
    return write(plan.text(output), plan.weights());
  }

 private:
  fs::path dir_;
};

// The networks the GPU test and the host test run: the shapes of Compact (its tail fused), SPAN
// (input affine, SiLU, attention gates, a 1x1 convolution of four tensors, a shuffle with no
// skip) and ESRGAN (dense concatenations, scaled residuals, a shortcut, nearest upsampling in the
// network, an activation after a shuffle), and odd channel counts that need padding.
std::string compact_like(const PlanFolder& folder, int features, int scale, const std::string& act, unsigned seed) {
  PlanText p(3, scale, seed);
  int x = p.conv(3, {0}, features, act);
  x = p.conv(3, {x}, features, act);
  x = p.conv(3, {x}, 3 * scale * scale, "none");
  const int shuffled = p.resize("shuffle", x, scale);
  return folder.write(p, p.binary("add", shuffled, p.resize("upsample", 0, scale)));
}

std::string span_like(const PlanFolder& folder, unsigned seed) {
  PlanText p(3, 2, seed);
  const int normed = p.affine(0);
  const int feature = p.conv(3, {normed}, 24, "none");
  int out = feature;
  int first = 0;
  for (int block = 0; block < 2; ++block) {
    first = p.conv(3, {out}, 24, "none");
    const int act1 = p.act(first, "silu");
    const int out2 = p.conv(3, {act1}, 24, "silu");
    const int out3 = p.conv(3, {out2}, 24, "none");
    out = p.binary("gate", out3, out);
  }
  const int b = p.conv(3, {out}, 24, "none");
  const int cat = p.conv(1, {feature, b, out, first}, 24, "none");
  const int up = p.conv(3, {cat}, 12, "none");
  return folder.write(p, p.resize("shuffle", up, 2));
}

std::string esrgan_like(const PlanFolder& folder, unsigned seed) {
  PlanText p(3, 4, seed);
  const int fea = p.conv(3, {0}, 16, "none");
  int x = fea;
  for (int rdb = 0; rdb < 2; ++rdb) {
    std::vector<int> made = {x};
    for (int k = 1; k <= 4; ++k) {
      made.push_back(p.conv(3, made, 12, "leaky:0.2"));
    }
    const int x5 = p.conv(3, made, 16, "none");
    x = p.axpy(x5, 0.2F, x);
  }
  x = p.axpy(x, 0.2F, fea);
  x = p.binary("add", fea, p.conv(3, {x}, 16, "none"));
  x = p.conv(3, {p.resize("upsample", x, 2)}, 16, "leaky:0.2");
  x = p.act(p.resize("shuffle", p.conv(3, {x}, 64, "none"), 2), "prelu");
  x = p.conv(3, {x}, 16, "leaky:0.2");
  return folder.write(p, p.conv(3, {x}, 3, "none"));
}

std::vector<float> random_values(std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(0.0F, 1.0F);
  std::vector<float> out(count);
  for (float& v : out) {
    v = value(rng);
  }
  return out;
}

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

#ifdef PYN_NATIVE_GPU_TESTS

std::vector<std::uint16_t> encode_all(const std::vector<float>& values, DType dtype) {
  std::vector<std::uint16_t> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    out[i] = dtype == DType::bf16 ? float_to_bf16_bits(values[i]) : float_to_half_bits(values[i]);
  }
  return out;
}

std::vector<float> decode_all(const std::vector<std::uint16_t>& bits, DType dtype) {
  std::vector<float> out(bits.size());
  for (std::size_t i = 0; i < bits.size(); ++i) {
    out[i] = dtype == DType::bf16 ? bf16_bits_to_float(bits[i]) : half_bits_to_float(bits[i]);
  }
  return out;
}

template <class T>
DeviceBuffer to_device(const Device& device, const std::vector<T>& host) {
  DeviceBuffer buffer = device.alloc(std::max<std::size_t>(host.size() * sizeof(T), 1));
  PYN_CUDA_CHECK(cudaMemcpy(buffer.data(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  return buffer;
}

template <class T>
std::vector<T> to_host(const DeviceBuffer& buffer, std::size_t count) {
  std::vector<T> host(count);
  PYN_CUDA_CHECK(cudaMemcpy(host.data(), buffer.data(), count * sizeof(T), cudaMemcpyDeviceToHost));
  return host;
}

class NativeGpu : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    if (Device::cuda_device_count() == 0) {
      GTEST_SKIP() << "no CUDA device";
    }
    device_ = Device::open(DeviceSpec::parse("cuda"));
  }
  Device device_ = Device::open(DeviceSpec::parse("cpu"));
};

TEST_P(NativeGpu, HeadAndTailGiveTheReferencesBits) {
  const DType dtype = GetParam();
  Stream stream = device_.make_stream();
  const auto native_stream = static_cast<cudaStream_t>(stream.native());
  for (const int scale : {1, 2, 3, 4}) {
    const int n = 2;
    const int h = 7;
    const int w = 13;
    const std::vector<std::uint16_t> input = encode_all(random_values(static_cast<std::size_t>(n * 3 * h * w), 20U + scale), dtype);
    const std::size_t padded = static_cast<std::size_t>(n) * h * w * 8;
    std::vector<std::uint16_t> head_cpu(padded, 0xFFFF);
    const DeviceBuffer in = to_device(device_, input);
    DeviceBuffer head = device_.alloc(padded * 2);
    native::head_cpu({input.data(), head_cpu.data(), n, 3, h, w, 8, dtype});
    native::head_cuda({in.data(), head.data(), n, 3, h, w, 8, dtype}, native_stream);
    stream.synchronize();
    EXPECT_EQ(to_host<std::uint16_t>(head, padded), head_cpu) << "head, scale " << scale;

    const int feature_c = (3 * scale * scale + 7) / 8 * 8;
    const std::vector<std::uint16_t> features = encode_all(
        random_values(static_cast<std::size_t>(n) * h * w * feature_c, 40U + scale), dtype);
    const DeviceBuffer feat = to_device(device_, features);
    const std::size_t out_count = static_cast<std::size_t>(n) * 3 * h * scale * w * scale;
    for (const bool skip : {false, true}) {
      std::vector<std::uint16_t> tail_cpu(out_count);
      DeviceBuffer out = device_.alloc(out_count * 2);
      native::tail_cpu({features.data(), skip ? input.data() : nullptr, tail_cpu.data(), n, 3, h, w,
                        feature_c, scale, dtype});
      native::tail_cuda({feat.data(), skip ? in.data() : nullptr, out.data(), n, 3, h, w, feature_c,
                         scale, dtype},
                        native_stream);
      stream.synchronize();
      EXPECT_EQ(to_host<std::uint16_t>(out, out_count), tail_cpu)
          << "tail, scale " << scale << ", skip " << skip;
    }
  }
}

// The pointwise, resize, concat and layout kernels against their references. The sigmoid's expf
// and the host's exp may differ in fp32's last bit, so silu and gate may differ by one step of the
// dtype; everything else is exact.
TEST_P(NativeGpu, OperatorsGiveTheReferencesBits) {
  const DType dtype = GetParam();
  Stream stream = device_.make_stream();
  const auto s = static_cast<cudaStream_t>(stream.native());
  const int n = 2;
  const int h = 5;
  const int w = 11;
  const int cp = 24;
  const std::size_t pixels = static_cast<std::size_t>(n) * h * w;
  const std::vector<std::uint16_t> a = encode_all(random_values(pixels * cp, 80), dtype);
  std::vector<float> signed_values = random_values(pixels * cp, 81);
  for (float& v : signed_values) {
    v = 8.0F * v - 4.0F;
  }
  const std::vector<std::uint16_t> b = encode_all(signed_values, dtype);
  const std::vector<float> slopes = random_values(cp, 82);
  const std::vector<float> shift = random_values(cp, 83);
  const DeviceBuffer da = to_device(device_, a);
  const DeviceBuffer db = to_device(device_, b);
  const DeviceBuffer dslopes = to_device(device_, slopes);
  const DeviceBuffer dshift = to_device(device_, shift);
  DeviceBuffer dout = device_.alloc(pixels * cp * 2 * 16);
  const auto step_apart = [&](const std::vector<std::uint16_t>& got, const std::vector<std::uint16_t>& want,
                              bool rounding) {
    for (std::size_t i = 0; i < got.size(); ++i) {
      const int diff = std::abs(static_cast<int>(got[i]) - static_cast<int>(want[i]));
      if (diff > (rounding ? 1 : 0)) {
        return testing::AssertionFailure() << "element " << i << ": " << got[i] << " vs " << want[i];
      }
    }
    return testing::AssertionSuccess();
  };
  for (const native::Pointwise kind : {native::Pointwise::act, native::Pointwise::affine, native::Pointwise::add,
                                       native::Pointwise::axpy, native::Pointwise::gate}) {
    for (const native::Activation act : {native::Activation::prelu, native::Activation::silu}) {
      if (kind != native::Pointwise::act && act == native::Activation::silu) {
        continue;
      }
      native::PointwiseArgs p;
      p.kind = kind;
      p.pixels = pixels;
      p.cp = cp;
      p.activation = act;
      p.scalar = 0.2F;
      p.dtype = dtype;
      std::vector<std::uint16_t> want(pixels * cp);
      p.a = b.data();
      p.b = a.data();
      p.out = want.data();
      p.slopes = slopes.data();
      p.scale = slopes.data();
      p.shift = shift.data();
      native::pointwise_cpu(p);
      p.a = db.data();
      p.b = da.data();
      p.out = dout.data();
      p.slopes = dslopes.as<float>();
      p.scale = dslopes.as<float>();
      p.shift = dshift.as<float>();
      native::pointwise_cuda(p, s);
      stream.synchronize();
      const bool rounding = kind == native::Pointwise::gate || act == native::Activation::silu;
      EXPECT_TRUE(step_apart(to_host<std::uint16_t>(dout, want.size()), want, rounding))
          << "pointwise " << static_cast<int>(kind) << ", activation " << static_cast<int>(act);
    }
  }
  for (const bool shuffle : {false, true}) {
    for (const int f : {2, 3}) {
      const int out_c = shuffle ? cp / (f * f) : 18;
      const int out_cp = (out_c + 7) / 8 * 8;
      const native::ResizeArgs r{shuffle, nullptr, nullptr, n, h, w, cp, out_c, out_cp, f, dtype};
      std::vector<std::uint16_t> want(pixels * f * f * out_cp);
      native::ResizeArgs host = r;
      host.in = a.data();
      host.out = want.data();
      native::resize_cpu(host);
      native::ResizeArgs device = r;
      device.in = da.data();
      device.out = dout.data();
      native::resize_cuda(device, s);
      stream.synchronize();
      EXPECT_EQ(to_host<std::uint16_t>(dout, want.size()), want) << "shuffle " << shuffle << ", factor " << f;
    }
  }
  std::vector<std::uint16_t> want(pixels * 40, 7);
  DeviceBuffer cat = to_device(device_, want);
  native::concat_cpu({a.data(), want.data(), pixels, cp, 40, 16, dtype});
  native::concat_cuda({da.data(), cat.data(), pixels, cp, 40, 16, dtype}, s);
  stream.synchronize();
  EXPECT_EQ(to_host<std::uint16_t>(cat, want.size()), want) << "concat";
  std::vector<std::uint16_t> planar(static_cast<std::size_t>(n) * 3 * h * w);
  native::to_nchw_cpu({a.data(), planar.data(), n, 3, h, w, cp, dtype});
  native::to_nchw_cuda({da.data(), dout.data(), n, 3, h, w, cp, dtype}, s);
  stream.synchronize();
  EXPECT_EQ(to_host<std::uint16_t>(dout, planar.size()), planar) << "to_nchw";
}

// The tensor-core path against the fp32 reference on random plans of the three architectures'
// shapes: every activation and operator, channel counts that need padding to 8 (3 in and out, 12,
// 27), widths of one and two tiles (64, 96), two images, and a replay from a CUDA graph.
TEST_P(NativeGpu, EngineMatchesTheReference) {
  const DType dtype = GetParam();
  std::string why;
  if (!native_engine_runs_on(device_, &why)) {
    GTEST_SKIP() << why;
  }
  const PlanFolder folder("gpu");
  unsigned seed = 60;
  // Each network is written into the folder just before it runs (a write replaces the last).
  const std::vector<std::pair<std::string, std::function<std::string()>>> networks = {
      {"compact x4", [&] { return compact_like(folder, 16, 4, "prelu", seed++); }},
      {"compact x1", [&] { return compact_like(folder, 24, 1, "leaky:0.1", seed++); }},
      {"compact x2 wide", [&] { return compact_like(folder, 96, 2, "relu", seed++); }},
      {"compact x3", [&] { return compact_like(folder, 64, 3, "prelu", seed++); }},
      {"span", [&] { return span_like(folder, seed++); }},
      {"esrgan", [&] { return esrgan_like(folder, seed++); }},
  };
  for (const auto& [label, write] : networks) {
    const std::string path = write();
    const native::Plan plan = native::load_plan(path);
    const auto engine = open_native_engine(device_, path, {dtype, ""});
    for (const TensorShape input : {TensorShape{1, 3, 23, 37}, TensorShape{2, 3, 48, 64}}) {
      const TensorShape output = engine->output_shape(input);
      const std::vector<float> values = random_values(input.elements(), seed++);
      const std::vector<std::uint16_t> bits = encode_all(values, dtype);
      std::vector<float> expected(output.elements());
      native::forward_cpu(plan, decode_all(bits, dtype).data(), input.n, input.h, input.w, expected.data());
      const DeviceBuffer in = to_device(device_, bits);
      DeviceBuffer out = device_.alloc(output.elements() * 2);
      Stream stream = device_.make_stream();
      engine->prepare(stream, input);
      engine->run(stream, {in.data(), input, dtype}, {out.data(), output, dtype});
      stream.synchronize();
      const std::vector<float> got = decode_all(to_host<std::uint16_t>(out, output.elements()), dtype);
      double error = 0;
      double energy = 0;
      for (std::size_t i = 0; i < got.size(); ++i) {
        ASSERT_TRUE(std::isfinite(got[i])) << label << ": element " << i;
        error += (got[i] - expected[i]) * static_cast<double>(got[i] - expected[i]);
        energy += expected[i] * static_cast<double>(expected[i]);
      }
      // fp16 keeps 11 bits and bf16 8 between operators: a few layers' rounding, relative to the
      // signal (ESRGAN's 14 layers in a row the most).
      const double relative = std::sqrt(error / energy);
      EXPECT_LT(relative, dtype == DType::bf16 ? 5e-2 : 8e-3)
          << label << ", " << input.n << "x" << input.h << "x" << input.w;
      // Replayed from a CUDA graph, the same bits.
      DeviceBuffer again = device_.alloc(output.elements() * 2);
      Graph graph = engine->capture(stream, [&] {
        engine->run(stream, {in.data(), input, dtype}, {again.data(), output, dtype});
      });
      graph.launch(stream);
      stream.synchronize();
      EXPECT_EQ(to_host<std::uint16_t>(again, output.elements()),
                to_host<std::uint16_t>(out, output.elements()))
          << label;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, NativeGpu, ::testing::Values(DType::f16, DType::bf16),
                         [](const auto& param) { return std::string(to_string(param.param)); });

#endif  // PYN_NATIVE_GPU_TESTS

}  // namespace
}  // namespace pyn
