// The native engine on a GPU: its layout and pointwise kernels give the CPU references' bits, and
// its tensor-core path the reference's values on fresh random plans and data (native_test.cpp
// checks the reference itself, tests/models/native_test.py checks it against PyTorch). Each test
// skips itself without a CUDA device or where the engine's kernels do not run.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "element.hpp"
#include "layout.hpp"
#include "native_plans.hpp"
#include "ops.hpp"
#include "plan.hpp"
#include "pynference/device/cuda_check.hpp"
#include "pynference/device/device.hpp"
#include "pynference/device/error.hpp"
#include "pynference/engine/native_engine.hpp"
#include "reference.hpp"

namespace pyn {
namespace {

using namespace native_testing;  // NOLINT(google-build-using-namespace): the tests' own helpers

std::vector<std::uint16_t> encode_all(const std::vector<float>& values, DType dtype) {
  std::vector<std::uint16_t> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    out[i] = native::encode(values[i], dtype);
  }
  return out;
}

std::vector<float> decode_all(const std::vector<std::uint16_t>& bits, DType dtype) {
  std::vector<float> out(bits.size());
  for (std::size_t i = 0; i < bits.size(); ++i) {
    out[i] = native::decode(bits[i], dtype);
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

}  // namespace
}  // namespace pyn
