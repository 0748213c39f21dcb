// The native engine: its plan reader refuses what it cannot run in one line; its CPU reference does
// what PyTorch's operators do (convolution, activations, pixel shuffle, nearest skip); and, built
// with PYN_NATIVE_GPU_TESTS, its layout kernels give the CPU references' bits and its tensor-core
// path the reference's values on fresh random plans and data (PyTorch itself checks the reference
// in tests/models/native_test.py).

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <random>
#include <string>
#include <vector>

#include "layout.hpp"
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

// A layer of a plan to write: channels, activation word, and its fp32 weights.
struct LayerSpec {
  int cin;
  int cout;
  std::string activation;  // none, relu, prelu, leaky:S
};

// Writes native.plan and native.bin into a fresh folder; returns the plan's path. Weights are
// random of a trained net's magnitude (1/sqrt(fan-in)) unless `weights` gives them.
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

  std::string write(const std::string& text, const std::vector<float>& weights) const {
    std::ofstream(dir_ / "native.plan") << text;
    std::ofstream bin(dir_ / "native.bin", std::ios::binary);
    bin.write(reinterpret_cast<const char*>(weights.data()),
              static_cast<std::streamsize>(weights.size() * sizeof(float)));
    return (dir_ / "native.plan").string();
  }

  // A whole network: input 3, the layers, a shuffle by `scale` and the nearest skip.
  std::string network(const std::vector<LayerSpec>& layers, int scale, unsigned seed) const {
    std::mt19937 rng(seed);
    std::string text = "pynference-native 1\narch Test\ninput 3\noutput 3\nscale " +
                       std::to_string(scale) + "\n";
    std::vector<float> weights;
    for (const LayerSpec& layer : layers) {
      text += "conv " + std::to_string(layer.cin) + " " + std::to_string(layer.cout) + " " +
              layer.activation + "\n";
      std::normal_distribution<float> weight(0.0F, 1.0F / std::sqrt(9.0F * static_cast<float>(layer.cin)));
      for (int i = 0; i < layer.cout * layer.cin * 9; ++i) {
        weights.push_back(weight(rng));
      }
      std::uniform_real_distribution<float> small(-0.1F, 0.1F);
      for (int i = 0; i < layer.cout; ++i) {
        weights.push_back(small(rng));
      }
      if (layer.activation == "prelu") {
        std::uniform_real_distribution<float> slope(0.0F, 0.5F);
        for (int i = 0; i < layer.cout; ++i) {
          weights.push_back(slope(rng));
        }
      }
    }
    text += "shuffle " + std::to_string(scale) + "\nskip nearest\n";
    return write(text, weights);
  }

 private:
  fs::path dir_;
};

std::vector<float> random_values(std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(0.0F, 1.0F);
  std::vector<float> out(count);
  for (float& v : out) {
    v = value(rng);
  }
  return out;
}

TEST(NativePlan, ReadsLayersWeightsAndShape) {
  const PlanFolder folder("reads");
  const std::string path = folder.network(
      {{3, 16, "prelu"}, {16, 8, "leaky:0.2"}, {8, 8, "relu"}, {8, 12, "none"}}, 2, 1);
  const native::Plan plan = native::load_plan(path);
  EXPECT_EQ(plan.arch, "Test");
  ASSERT_EQ(plan.convs.size(), 4U);
  EXPECT_EQ(plan.convs[0].activation, native::Activation::prelu);
  EXPECT_EQ(plan.convs[0].alpha.size(), 16U);
  EXPECT_EQ(plan.convs[1].activation, native::Activation::leaky);
  EXPECT_FLOAT_EQ(plan.convs[1].slope, 0.2F);
  EXPECT_EQ(plan.convs[3].weight.size(), 12U * 8U * 9U);
  EXPECT_EQ(plan.scale, 2);
  EXPECT_EQ(plan.shuffle, 2);
  EXPECT_TRUE(plan.skip_nearest);
  EXPECT_EQ(native::negative_slopes(plan.convs[2]), std::vector<float>(8, 0.0F));
  EXPECT_EQ(native::negative_slopes(plan.convs[3]), std::vector<float>(12, 1.0F));
  EXPECT_DOUBLE_EQ(native::flop_per_frame(plan, 10, 5),
                   2.0 * 9 * 50 * (3 * 16 + 16 * 8 + 8 * 8 + 8 * 12));
}

TEST(NativePlan, RefusesWhatItCannotRunInOneLine) {
  const PlanFolder folder("refuses");
  const std::string head = "pynference-native 1\ninput 3\noutput 3\nscale 1\n";
  struct Case {
    std::string text;
    std::size_t weights;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"pynference-native 2\n", 0, "not a native plan of version 1"},
      {head + "conv 3 3 gelu\n", 84, "unknown activation 'gelu'"},
      {head + "conv 4 3 none\n", 39, "4 channels in after 3"},
      {head + "conv 3 3 none\n", 83, "shorter than its plan says"},
      {head + "conv 3 3 none\n", 85, "longer than its plan says"},
      {head + "conv 3 3 none\nupsample 2\n", 84, "unknown operator 'upsample'"},
      {head + "conv 3 6 none\n", 168, "gives 6 channels, not its output's 3"},
      {head + "conv 3 12 none\nshuffle 3\n", 336, "cannot be pixel-shuffled by 3"},
      {head + "conv 3 12 none\nshuffle 2\n", 336, "a pixel shuffle of 2 for a network of scale 1"},
      {head + "conv 3 3 none\nskip bicubic\n", 84, "unknown skip 'bicubic'"},
      {head, 0, "has no convolution"},
      {head + "conv 3 0 none\n", 0, "needs a number from 1"},
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
      "pynference-native 1\ninput 3\noutput 3\nscale 1\nconv 3 3 prelu\n", weights));
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
  const std::string text = "pynference-native 1\ninput 1\noutput 1\nscale 1\nconv 1 1 none\n";
  const native::Plan plan = native::load_plan(folder.write(text, weights));
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
      "pynference-native 1\ninput 3\noutput 3\nscale 2\nconv 3 12 none\nshuffle 2\nskip nearest\n",
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

// On the host backend the engine is the reference, through the tensor's dtype.
TEST(NativeEngine, HostBackendRunsTheReference) {
  const PlanFolder folder("host");
  const std::string path = folder.network({{3, 8, "prelu"}, {8, 12, "none"}}, 2, 9);
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  const auto engine = open_native_engine(device, path, {DType::f32, ""});
  const TensorShape input{2, 3, 6, 5};
  const TensorShape output = engine->output_shape(input);
  EXPECT_EQ(output, (TensorShape{2, 3, 12, 10}));
  EXPECT_THROW((void)engine->output_shape({1, 4, 6, 5}), UsageError);
  std::vector<float> in = random_values(input.elements(), 11);
  std::vector<float> out(output.elements());
  Stream stream = device.make_stream();
  engine->prepare(stream, input);
  engine->run(stream, {in.data(), input, DType::f32}, {out.data(), output, DType::f32});
  stream.synchronize();
  std::vector<float> expected(out.size());
  native::forward_cpu(native::load_plan(path), in.data(), 2, 6, 5, expected.data());
  EXPECT_EQ(out, expected);
  EXPECT_NE(engine->name().find("native Test"), std::string::npos) << engine->name();
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

// The tensor-core path against the fp32 reference on random plans: every activation, channel counts
// that need padding to 8 (3 in, 27 and 3 out), several of a tile's width (64, 96), two images.
TEST_P(NativeGpu, EngineMatchesTheReference) {
  const DType dtype = GetParam();
  std::string why;
  if (!native_engine_runs_on(device_, &why)) {
    GTEST_SKIP() << why;
  }
  struct Network {
    std::vector<LayerSpec> layers;
    int scale;
  };
  const std::vector<Network> networks = {
      {{{3, 16, "prelu"}, {16, 16, "prelu"}, {16, 16, "prelu"}, {16, 48, "none"}}, 4},
      {{{3, 24, "leaky:0.1"}, {24, 24, "leaky:0.1"}, {24, 3, "none"}}, 1},
      {{{3, 64, "relu"}, {64, 96, "relu"}, {96, 64, "prelu"}, {64, 12, "none"}}, 2},
      {{{3, 32, "prelu"}, {32, 27, "none"}}, 3},
  };
  const PlanFolder folder("gpu");
  unsigned seed = 60;
  for (const Network& network : networks) {
    const std::string path = folder.network(network.layers, network.scale, seed++);
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
        ASSERT_TRUE(std::isfinite(got[i])) << i;
        error += (got[i] - expected[i]) * static_cast<double>(got[i] - expected[i]);
        energy += expected[i] * static_cast<double>(expected[i]);
      }
      // fp16 keeps 11 bits and bf16 8 between layers: a few layers' rounding, relative to the signal.
      const double relative = std::sqrt(error / energy);
      EXPECT_LT(relative, dtype == DType::bf16 ? 3e-2 : 4e-3)
          << network.layers.size() << " layers, x" << network.scale << ", " << input.n << "x" << input.h
          << "x" << input.w;
      // Replayed from a CUDA graph, the same bits.
      DeviceBuffer again = device_.alloc(output.elements() * 2);
      Graph graph = engine->capture(stream, [&] {
        engine->run(stream, {in.data(), input, dtype}, {again.data(), output, dtype});
      });
      graph.launch(stream);
      stream.synchronize();
      EXPECT_EQ(to_host<std::uint16_t>(again, output.elements()),
                to_host<std::uint16_t>(out, output.elements()));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, NativeGpu, ::testing::Values(DType::f16, DType::bf16),
                         [](const auto& param) { return std::string(to_string(param.param)); });

#endif  // PYN_NATIVE_GPU_TESTS

}  // namespace
}  // namespace pyn
