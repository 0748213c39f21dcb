// The torch engine with the demo models of tools/make_demo_models.py (made at build time):
// exact frames through the whole pipeline with the exact model (2x nearest as fixed weights), the
// same frames from every strategy with a real network, and one clear error for each kind of bad
// model file. Built twice: the host tests (label host), and with PYN_TORCH_GPU_TESTS the GPU tests
// (label gpu), which skip themselves without a CUDA device.

#include "pynference/engine/torch_engine.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "../pipeline/run_helpers.hpp"
#include "pynference/device/error.hpp"
#include "pynference/kernels/prepost.hpp"

#ifndef PYN_HAVE_TORCH
#error "pyn_engine_torch must define PYN_HAVE_TORCH for its users"
#endif

namespace pyn {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::options_for;
using test::within;

#ifdef PYN_TORCH_TEST_MODELS
const fs::path kModels = PYN_TORCH_TEST_MODELS;
#else
const fs::path kModels;
#endif

[[maybe_unused]] Device host() { return Device::open(DeviceSpec::parse("cpu")); }

// The path of a demo model, or an empty string where it was not made (the caller skips).
std::string model(const std::string& name) {
  if (kModels.empty() || !fs::exists(kModels / name)) {
    return {};
  }
  return (kModels / name).string();
}

#define REQUIRE_MODEL(var, name)                                                 \
  const std::string var = model(name);                                           \
  if ((var).empty()) {                                                           \
    GTEST_SKIP() << (name) << " was not made (see tests/engine/CMakeLists.txt)"; \
  }

// Nearest-neighbour upscale of an interleaved frame.
std::vector<std::byte> nearest(const std::vector<std::byte>& frame, const ImageDesc& image,
                               int scale) {
  const std::size_t pixel = ImageDesc::channels * bytes_of(image.pixel);
  const auto w = static_cast<std::size_t>(image.width);
  const auto h = static_cast<std::size_t>(image.height);
  const auto s = static_cast<std::size_t>(scale);
  std::vector<std::byte> out(frame.size() * s * s);
  for (std::size_t y = 0; y < h * s; ++y) {
    for (std::size_t x = 0; x < w * s; ++x) {
      std::memcpy(&out[(y * w * s + x) * pixel], &frame[((y / s) * w + x / s) * pixel], pixel);
    }
  }
  return out;
}

// What the exact model must give for frame `index`: the nearest-upscaled frame where u8 survives
// pre + post exactly (f32, f16); through bf16, the CPU reference pre -> nearest -> post.
std::vector<std::byte> exact_reference(const SyntheticSource& source, std::int64_t index,
                                       DType dtype) {
  const auto in = std::get<ImageDesc>(source.format());
  std::vector<std::byte> frame(in.bytes());
  source.render(frame, index);
  if (dtype != DType::bf16) {
    return nearest(frame, in, 2);
  }
  const ImageDesc out{in.width * 2, in.height * 2, in.pixel, in.order};
  std::vector<std::byte> tensor(in.pixels() * 3 * bytes_of(dtype));
  pre_cpu(in, frame.data(), dtype, tensor.data());
  // Each plane upscaled, nearest neighbour: output (c, y, x) is input (c, y / 2, x / 2).
  const std::size_t element = bytes_of(dtype);
  const auto in_w = static_cast<std::size_t>(in.width);
  const auto in_h = static_cast<std::size_t>(in.height);
  const auto out_w = static_cast<std::size_t>(out.width);
  const auto out_h = static_cast<std::size_t>(out.height);
  std::vector<std::byte> planes(out.pixels() * 3 * element);
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t y = 0; y < out_h; ++y) {
      for (std::size_t x = 0; x < out_w; ++x) {
        std::memcpy(&planes[((c * out_h + y) * out_w + x) * element],
                    &tensor[((c * in_h + y / 2) * in_w + x / 2) * element], element);
      }
    }
  }
  std::vector<std::byte> result(out.bytes());
  post_cpu(dtype, planes.data(), out, result.data());
  return result;
}

void expect_exact(const Device& device, const std::string& path, DType dtype, Strategy strategy,
                  bool channels_last = true, bool cuda_graph = false, int batch = 1) {
  const auto engine = open_torch_engine(device, path, {dtype, channels_last});
  SyntheticSource source(ImageDesc{37, 21, PixelType::u8, ChannelOrder::bgr}, 7);
  CheckingSink sink([&](std::int64_t i) { return exact_reference(source, i, dtype); });
  PipelineOptions options = options_for(strategy);
  options.cuda_graph = cuda_graph;
  options.batch = batch;
  const RunReport report =
      within(120s, [&] { return run_pipeline(device, *engine, source, sink, options); });
  EXPECT_EQ(report.frames, 7);
  EXPECT_EQ(sink.checked(), 7) << to_string(strategy) << " " << to_string(dtype)
                               << (cuda_graph ? " with CUDA graphs" : "");
}

// Keeps every frame, to compare runs with a tolerance.
class KeepingSink final : public Sink {
 public:
  void open(const FrameFormat& format) override { format_ = std::get<ImageDesc>(format); }
  void write(std::span<const std::byte> frame, const FrameInfo& /*info*/) override {
    frames_.emplace_back(frame.begin(), frame.end());
  }
  ImageDesc format_;
  std::vector<std::vector<std::byte>> frames_;
};

struct Kept {
  ImageDesc format_;
  std::vector<std::vector<std::byte>> frames_;
};

Kept run_kept(const Device& device, Engine& engine, const ImageDesc& image, std::int64_t frames,
              Strategy strategy, bool cuda_graph = false,
              std::optional<ComputePlan> plan = std::nullopt, int batch = 1) {
  SyntheticSource source(image, frames);
  KeepingSink sink;
  PipelineOptions options = options_for(strategy);
  options.cuda_graph = cuda_graph;
  options.batch = batch;
  options.plan = std::move(plan);
  (void)within(120s, [&] { return run_pipeline(device, engine, source, sink, options); });
  return {sink.format_, std::move(sink.frames_)};
}

// The error's message must be one line, and say `part`.
template <class Fn>
void expect_one_line_error(Fn&& fn, const std::string& part) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one saying '" << part << "'";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_NE(what.find(part), std::string::npos) << what;
    EXPECT_LT(what.size(), 400U) << what;
  }
}

[[maybe_unused]] fs::path temp_file(const std::string& name, const std::string& content) {
  const fs::path dir = fs::temp_directory_path() / ("pyn_torch_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path path = dir / name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

#ifndef PYN_TORCH_GPU_TESTS

// --- host backend ----------------------------------------------------------------------------

TEST(TorchEngine, FindsTheScaleAndNamesTheModel) {
  REQUIRE_MODEL(x2, "compact-x2.pt");
  REQUIRE_MODEL(x4, "compact-x4.pt");
  const Device device = host();
  const auto engine2 = open_torch_engine(device, x2, {DType::f16, true});
  const auto engine4 = open_torch_engine(device, x4, {DType::f32, true});
  EXPECT_EQ(engine2->output_shape({1, 3, 10, 7}), (TensorShape{1, 3, 20, 14}));
  EXPECT_EQ(engine4->output_shape({1, 3, 10, 7}), (TensorShape{1, 3, 40, 28}));
  EXPECT_EQ(engine2->dtype(), DType::f16);
  EXPECT_EQ(engine2->name(), "torch(compact-x2.pt, TorchScript, f16, x2)");
  EXPECT_THROW((void)engine2->output_shape({1, 4, 10, 7}), UsageError);
  EXPECT_EQ(engine2->workspace_bytes(), 0U);
}

class ExactOnHost : public ::testing::TestWithParam<std::tuple<Strategy, DType>> {};

TEST_P(ExactOnHost, TorchScriptGivesTheNearestUpscaleBitExact) {
  REQUIRE_MODEL(path, "exact-x2.pt");
  const auto [strategy, dtype] = GetParam();
  expect_exact(host(), path, dtype, strategy);
}

INSTANTIATE_TEST_SUITE_P(Strategies, ExactOnHost,
                         ::testing::Combine(::testing::ValuesIn(kAllStrategies),
                                            ::testing::Values(DType::f32, DType::f16, DType::bf16)),
                         [](const auto& p) {
                           std::string name = std::string(to_string(std::get<0>(p.param))) + "_" +
                                              std::string(to_string(std::get<1>(p.param)));
                           for (char& c : name) {
                             c = c == '-' ? '_' : c;
                           }
                           return name;
                         });

TEST(TorchEngine, CpuPackageGivesTheNearestUpscaleBitExact) {
  REQUIRE_MODEL(path, "exact-x2.fp32.cpu.pt2");
  for (const Strategy strategy :
       {Strategy::serial_pageable, Strategy::worker_streams, Strategy::multi_compute}) {
    for (const DType dtype : {DType::f32, DType::f16}) {
      expect_exact(host(), path, dtype, strategy);
    }
  }
  const auto engine = open_torch_engine(host(), path, {DType::f16, true});
  EXPECT_EQ(engine->name(), "torch(exact-x2.fp32.cpu.pt2, AOTInductor, f16, x2)");
}

TEST(TorchEngine, PackageForOneSizeTakesThatSizeAndRefusesOthers) {
  REQUIRE_MODEL(path, "exact-x2.fp32.cpu.37x21.pt2");
  for (const Strategy strategy : {Strategy::serial_pageable, Strategy::multi_compute}) {
    expect_exact(host(), path, DType::f32, strategy);
  }
  const auto engine = open_torch_engine(host(), path, {DType::f32, true});
  EXPECT_EQ(engine->name(), "torch(exact-x2.fp32.cpu.37x21.pt2, AOTInductor, f32, x2, 37x21 only)");
  const TensorShape out = engine->output_shape({1, 3, 21, 37});
  EXPECT_EQ(out.h, 42);
  EXPECT_EQ(out.w, 74);
  SyntheticSource other(ImageDesc{38, 21, PixelType::u8, ChannelOrder::rgb}, 2);
  HashSink sink;
  expect_one_line_error(
      [&] {
        (void)run_pipeline(host(), *engine, other, sink, options_for(Strategy::split_streams));
      },
      "was exported for 37x21 input only, not 38x21");
}

TEST(TorchEngine, PackageForABatchTakesThatBatchAndRefusesOthers) {
  // Made with tools/make_demo_models.py's FIXTURE_BATCH = 2; 7 frames: the last group is padded.
  REQUIRE_MODEL(path, "exact-x2.fp32.cpu.b2.pt2");
  for (const Strategy strategy : {Strategy::serial_pageable, Strategy::multi_compute}) {
    expect_exact(host(), path, DType::f32, strategy, true, false, 2);
  }
  const auto engine = open_torch_engine(host(), path, {DType::f32, true});
  EXPECT_EQ(engine->name(), "torch(exact-x2.fp32.cpu.b2.pt2, AOTInductor, f32, x2, batch 2)");
  EXPECT_EQ(engine->output_shape({2, 3, 21, 37}), (TensorShape{2, 3, 42, 74}));
  for (const int batch : {1, 3}) {
    SyntheticSource source(ImageDesc{37, 21, PixelType::u8, ChannelOrder::rgb}, 2);
    HashSink sink;
    PipelineOptions options = options_for(Strategy::split_streams);
    options.batch = batch;
    expect_one_line_error([&] { (void)run_pipeline(host(), *engine, source, sink, options); },
                          "was exported for batch 2 only, not " + std::to_string(batch));
  }
  // A package made for one frame at a time (the key says 1) refuses batches.
  REQUIRE_MODEL(single, "exact-x2.fp32.cpu.pt2");
  const auto one = open_torch_engine(host(), single, {DType::f32, true});
  expect_one_line_error(
      [&] {
        (void)one->output_shape({4, 3, 21, 37});
      },
      "was exported for batch 1 only, not 4");
}

TEST(TorchEngine, TorchScriptInBatchesGivesTheFramesOfOneAtATime) {
  // Any N through a TorchScript compact model on the CPU, frame counts that N does not divide.
  // fp32 convolutions of another N may sum in another order (the CPU library picks its kernels
  // by shape): a code may round the other way, as with tiles. A frame in the wrong slice, or out
  // of order, differs everywhere.
  REQUIRE_MODEL(path, "compact-x2.pt");
  const Device device = host();
  const auto engine = open_torch_engine(device, path, {DType::f32, true});
  const ImageDesc image{24, 16, PixelType::u8, ChannelOrder::rgb};
  const Kept one = run_kept(device, *engine, image, 7, Strategy::serial_pageable);
  ASSERT_EQ(one.frames_.size(), 7U);
  const auto compare = [&](const Kept& many, const std::string& what) {
    ASSERT_EQ(many.frames_.size(), one.frames_.size()) << what;
    int largest = 0;
    std::size_t differing = 0;
    std::size_t samples = 0;
    for (std::size_t f = 0; f < one.frames_.size(); ++f) {
      ASSERT_EQ(many.frames_[f].size(), one.frames_[f].size()) << what;
      for (std::size_t i = 0; i < one.frames_[f].size(); ++i) {
        const int d =
            std::abs(static_cast<int>(many.frames_[f][i]) - static_cast<int>(one.frames_[f][i]));
        largest = std::max(largest, d);
        differing += d != 0 ? 1 : 0;
        ++samples;
      }
    }
    EXPECT_LE(largest, 1) << what;
    EXPECT_LE(differing, samples / 1000) << what;
  };
  for (const int batch : {2, 3, 4}) {
    for (const Strategy strategy : kAllStrategies) {
      compare(run_kept(device, *engine, image, 7, strategy, false, std::nullopt, batch),
              std::string(to_string(strategy)) + " batch " + std::to_string(batch));
    }
  }
  // The comparison can fail: two frames swapped.
  Kept swapped = run_kept(device, *engine, image, 7, Strategy::serial_pageable);
  std::swap(swapped.frames_[2], swapped.frames_[3]);
  int largest = 0;
  for (std::size_t i = 0; i < one.frames_[2].size(); ++i) {
    largest = std::max(largest, std::abs(static_cast<int>(swapped.frames_[2][i]) -
                                         static_cast<int>(one.frames_[2][i])));
  }
  EXPECT_GT(largest, 1);
}

TEST(TorchEngine, EveryStrategyGivesTheFramesOfSerialPageable) {
  REQUIRE_MODEL(path, "compact-x4.pt");
  const Device device = host();
  const auto engine = open_torch_engine(device, path, {DType::f16, true});
  const ImageDesc image{24, 16, PixelType::u8, ChannelOrder::rgb};
  const Kept reference = run_kept(device, *engine, image, 6, Strategy::serial_pageable);
  ASSERT_EQ(reference.frames_.size(), 6U);
  EXPECT_EQ(reference.format_.width, 96);
  EXPECT_EQ(reference.format_.height, 64);

  // The network ran (it is not the nearest upscale), with the right layout (then it is close to
  // it).
  SyntheticSource source(image, 1);
  std::vector<std::byte> frame(image.bytes());
  source.render(frame, 0);
  const std::vector<std::byte> upscaled = nearest(frame, image, 4);
  double difference = 0.0;
  for (std::size_t i = 0; i < upscaled.size(); ++i) {
    difference +=
        std::abs(static_cast<int>(reference.frames_[0][i]) - static_cast<int>(upscaled[i]));
  }
  difference /= static_cast<double>(upscaled.size());
  EXPECT_GT(difference, 0.2);
  EXPECT_LT(difference, 10.0);

  for (const Strategy strategy : kAllStrategies) {
    const Kept result = run_kept(device, *engine, image, 6, strategy);
    EXPECT_EQ(result.frames_, reference.frames_) << to_string(strategy);
  }
}

// The largest difference between two runs' frames of 16-bit samples, in codes, and how many
// samples differ.
std::pair<int, std::size_t> difference(const Kept& a, const Kept& b) {
  int largest = 0;
  std::size_t differing = 0;
  for (std::size_t f = 0; f < a.frames_.size(); ++f) {
    const std::size_t samples = a.frames_[f].size() / 2;
    for (std::size_t i = 0; i < samples; ++i) {
      std::uint16_t x = 0;
      std::uint16_t y = 0;
      std::memcpy(&x, &a.frames_[f][2 * i], 2);
      std::memcpy(&y, &b.frames_[f][2 * i], 2);
      const int d = std::abs(static_cast<int>(x) - static_cast<int>(y));
      largest = std::max(largest, d);
      differing += d != 0 ? 1 : 0;
    }
  }
  return {largest, differing};
}

TEST(TorchEngine, TiledCompactEqualsWholeFramesUnderEverySchedule) {
  // compact-x2's layout with weights that keep the input's part (tools/make_demo_models.py says why
  // compact-x2 itself would hide a seam): 6 3x3 convolutions, a receptive field of 6 pixels each
  // side, so an overlap of 2 * 6 + 2 keeps every seam out of the result. 16-bit samples, so that a
  // seam would show; fp32, whose convolutions may sum in another order for another size: a code
  // may round the other way.
  REQUIRE_MODEL(path, "compact-x2-textured.pt");
  const Device device = host();
  const auto engine = open_torch_engine(device, path, {DType::f32, true});
  const ImageDesc image{71, 47, PixelType::u16, ChannelOrder::rgb};
  const Kept whole = run_kept(device, *engine, image, 2, Strategy::serial_pageable);
  ASSERT_EQ(whole.frames_.size(), 2U);
  const std::size_t samples = whole.frames_.size() * whole.frames_[0].size() / 2;
  for (const int batch : {1, 2}) {
    const ComputePlan plan = tile_plan(image, TileOptions{24, 20, 14, batch, 1}, 2);
    ASSERT_GT(plan.jobs(), 3U);
    for (const Strategy strategy : kAllStrategies) {
      const Kept tiled = run_kept(device, *engine, image, 2, strategy, false, plan);
      ASSERT_EQ(tiled.frames_.size(), whole.frames_.size());
      const auto [largest, differing] = difference(tiled, whole);
      EXPECT_LE(largest, 1) << to_string(strategy) << " batch " << batch;
      EXPECT_LE(differing, samples / 1000) << to_string(strategy) << " batch " << batch;
    }
  }
  // Too little overlap: the seams show.
  const ComputePlan short_overlap = tile_plan(image, TileOptions{24, 20, 4, 1, 1}, 2);
  const auto [largest, differing] = difference(
      run_kept(device, *engine, image, 2, Strategy::serial_pageable, false, short_overlap), whole);
  EXPECT_GT(largest, 8) << differing << " of " << samples << " differ";
  EXPECT_GT(differing, samples / 100) << "at most " << largest;
}

TEST(TorchEngine, DirectRunOnAHostStream) {
  REQUIRE_MODEL(path, "exact-x2.pt");
  const Device device = host();
  const auto engine = open_torch_engine(device, path, {DType::f32, false});
  Stream stream = device.make_stream();
  const TensorShape in_shape{1, 3, 5, 4};
  engine->prepare(stream, in_shape);
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> value(0.0F, 1.0F);
  std::vector<float> in(in_shape.elements());
  for (float& v : in) {
    v = value(rng);
  }
  const TensorShape out_shape = engine->output_shape(in_shape);
  std::vector<float> out(out_shape.elements() + 8, -7.0F);  // guard values past the end
  engine->run(stream, {in.data(), in_shape, DType::f32}, {out.data(), out_shape, DType::f32});
  stream.synchronize();
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 10; ++y) {
      for (int x = 0; x < 8; ++x) {
        ASSERT_EQ(out[static_cast<std::size_t>((c * 10 + y) * 8 + x)],
                  in[static_cast<std::size_t>((c * 5 + y / 2) * 4 + x / 2)]);
      }
    }
  }
  for (std::size_t i = out_shape.elements(); i < out.size(); ++i) {
    EXPECT_EQ(out[i], -7.0F);
  }
}

TEST(TorchEngine, NoCudaGraphOnTheHostBackend) {
  REQUIRE_MODEL(path, "exact-x2.pt");
  const Device device = host();
  const auto engine = open_torch_engine(device, path, {DType::f32, false});
  Stream stream = device.make_stream();
  expect_one_line_error([&] { (void)engine->capture(stream, [] {}); },
                        "CUDA graphs need a CUDA device, not the host backend");
  SyntheticSource source(ImageDesc{8, 8, PixelType::u8, ChannelOrder::rgb}, 2);
  HashSink sink;
  PipelineOptions options = options_for(Strategy::split_streams);
  options.cuda_graph = true;
  expect_one_line_error([&] { (void)run_pipeline(device, *engine, source, sink, options); },
                        "PipelineOptions::cuda_graph needs a CUDA device, not the host backend");
}

// --- bad input: one clear line, nothing written ---------------------------------------------

TEST(TorchEngineErrors, MissingEmptyAndForeignFiles) {
  const Device device = host();
  const TorchOptions options;
  expect_one_line_error([&] { (void)open_torch_engine(device, "/nonexistent/model.pt", options); },
                        "no such file");
  expect_one_line_error(
      [&] { (void)open_torch_engine(device, fs::temp_directory_path().string(), options); },
      "folder");
  expect_one_line_error(
      [&] { (void)open_torch_engine(device, temp_file("empty.pt", "").string(), options); },
      "empty");
  expect_one_line_error(
      [&] {
        (void)open_torch_engine(device, temp_file("text.pt", "this is not a model\n").string(),
                                options);
      },
      "not a TorchScript (.pt, .ts) or AOTInductor (.pt2) file");
  std::string noise(4096, '\0');
  std::mt19937 rng(7);
  for (char& c : noise) {
    c = static_cast<char>(rng());
  }
  noise[0] = 'Q';
  expect_one_line_error(
      [&] { (void)open_torch_engine(device, temp_file("noise.pt2", noise).string(), options); },
      "not a TorchScript");
  // A zip that is no model, and a zip cut short.
  expect_one_line_error(
      [&] {
        (void)open_torch_engine(
            device, temp_file("fake.pt", "PK\x03\x04 and then nothing").string(), options);
      },
      "is not a readable TorchScript or AOTInductor archive");
}

TEST(TorchEngineErrors, TruncatedTorchScript) {
  REQUIRE_MODEL(path, "exact-x2.pt");
  std::ifstream file(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  bytes.resize(bytes.size() / 2);
  expect_one_line_error(
      [&] {
        (void)open_torch_engine(host(), temp_file("truncated.pt", bytes).string(), TorchOptions{});
      },
      "truncated.pt");
}

TEST(TorchEngineErrors, StateDictIsNotAModel) {
  REQUIRE_MODEL(path, "compact-x2.pth");
  expect_one_line_error([&] { (void)open_torch_engine(host(), path, TorchOptions{}); },
                        "state dict or module saved with torch.save");
}

TEST(TorchEngineErrors, ClassifierIsNotAnImageToImageNetwork) {
  REQUIRE_MODEL(path, "classifier.pt");
  expect_one_line_error([&] { (void)open_torch_engine(host(), path, TorchOptions{}); },
                        "not an image-to-image network");
}

TEST(TorchEngineErrors, ANetworkThatFailsOnAnRgbInput) {
  REQUIRE_MODEL(path, "four-channels.pt");
  expect_one_line_error([&] { (void)open_torch_engine(host(), path, TorchOptions{}); },
                        "fails on a 1x3x64x64 test input: RuntimeError: ");
}

TEST(TorchEngineErrors, PackagesBuiltElsewhere) {
  REQUIRE_MODEL(other_torch, "other-torch.pt2");
  REQUIRE_MODEL(other_device, "other-device.pt2");
  REQUIRE_MODEL(program, "exported-program.pt2");
  const Device device = host();
  expect_one_line_error([&] { (void)open_torch_engine(device, other_torch, TorchOptions{}); },
                        "was built with torch 2.0.0");
  expect_one_line_error([&] { (void)open_torch_engine(device, other_device, TorchOptions{}); },
                        "was compiled for cuda");
  expect_one_line_error([&] { (void)open_torch_engine(device, program, TorchOptions{}); },
                        "without AOTInductor code");
}

TEST(TorchEngineErrors, APipelineWithABadModelWritesNothing) {
  REQUIRE_MODEL(path, "classifier.pt");
  // The CLI opens the engine before any output: the error comes first, the sink is never opened.
  const Device device = host();
  bool opened = false;
  try {
    const auto engine = open_torch_engine(device, path, TorchOptions{});
    SyntheticSource source(ImageDesc{8, 8, PixelType::u8, ChannelOrder::rgb}, 3);
    HashSink sink;
    (void)run_pipeline(device, *engine, source, sink, options_for(Strategy::split_streams));
    opened = true;
  } catch (const UsageError&) {
  }
  EXPECT_FALSE(opened);
}

#else  // PYN_TORCH_GPU_TESTS: the same file built as the gpu-labelled binary

// --- GPU -------------------------------------------------------------------------------------

Device gpu() { return Device::open(DeviceSpec::parse("cuda")); }

#define REQUIRE_GPU()                     \
  if (Device::cuda_device_count() == 0) { \
    GTEST_SKIP() << "no CUDA device";     \
  }

std::string gpu_package(const Device& device, const std::string& dtype) {
  const DeviceInfo& info = device.info();
  return model("exact-x2." + dtype + ".sm" + std::to_string(info.compute_major) +
               std::to_string(info.compute_minor) + ".pt2");
}

TEST(TorchEngineGpu, TorchScriptGivesTheNearestUpscaleBitExact) {
  REQUIRE_GPU();
  REQUIRE_MODEL(path, "exact-x2.pt");
  const Device device = gpu();
  for (const Strategy strategy : kAllStrategies) {
    for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
      for (const bool channels_last : {true, false}) {
        expect_exact(device, path, dtype, strategy, channels_last);
      }
    }
  }
}

TEST(TorchEngineGpu, PackageForOneSizeGivesTheNearestUpscaleBitExact) {
  REQUIRE_GPU();
  const Device device = gpu();
  const DeviceInfo& info = device.info();
  const std::string path = model("exact-x2.fp32.sm" + std::to_string(info.compute_major) +
                                 std::to_string(info.compute_minor) + ".37x21.pt2");
  if (path.empty()) {
    GTEST_SKIP() << "no exact-x2 package of one size for this GPU was made";
  }
  for (const Strategy strategy : kAllStrategies) {
    expect_exact(device, path, DType::f32, strategy);
  }
}

TEST(TorchEngineGpu, PackageGivesTheNearestUpscaleBitExact) {
  REQUIRE_GPU();
  const Device device = gpu();
  for (const auto& [name, dtype] : {std::pair{"fp32", DType::f32}, std::pair{"fp16", DType::f16}}) {
    const std::string path = gpu_package(device, name);
    if (path.empty()) {
      GTEST_SKIP() << "no exact-x2 package for this GPU was made";
    }
    for (const Strategy strategy : kAllStrategies) {
      expect_exact(device, path, dtype, strategy);
    }
  }
}

TEST(TorchEngineGpu, EveryStrategyGivesTheFramesOfSerialPageable) {
  REQUIRE_GPU();
  REQUIRE_MODEL(path, "compact-x2.pt");
  const Device device = gpu();
  const auto engine = open_torch_engine(device, path, {DType::f16, true});
  const ImageDesc image{160, 96, PixelType::u8, ChannelOrder::bgr};
  const Kept reference = run_kept(device, *engine, image, 12, Strategy::serial_pageable);
  ASSERT_EQ(reference.frames_.size(), 12U);
  EXPECT_GT(engine->workspace_bytes(), 0U);
  for (const Strategy strategy : kAllStrategies) {
    const Kept result = run_kept(device, *engine, image, 12, strategy);
    ASSERT_EQ(result.frames_.size(), reference.frames_.size());
    // cuDNN picks one algorithm per shape for every stream: the same bytes are expected; one
    // level of difference is tolerated should two streams ever differ in algorithm.
    for (std::size_t f = 0; f < result.frames_.size(); ++f) {
      int worst = 0;
      for (std::size_t i = 0; i < result.frames_[f].size(); ++i) {
        worst = std::max(worst, std::abs(static_cast<int>(result.frames_[f][i]) -
                                         static_cast<int>(reference.frames_[f][i])));
      }
      EXPECT_LE(worst, 1) << to_string(strategy) << " frame " << f;
    }
  }
}

// --- CUDA graphs (--cuda-graph) ---------------------------------------------------------------

TEST(TorchEngineGpu, TorchScriptWithCudaGraphsGivesTheNearestUpscaleBitExact) {
  REQUIRE_GPU();
  REQUIRE_MODEL(path, "exact-x2.pt");
  const Device device = gpu();
  for (const Strategy strategy : kAllStrategies) {
    for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
      expect_exact(device, path, dtype, strategy, true, true);
    }
    expect_exact(device, path, DType::f16, strategy, false, true);
  }
}

TEST(TorchEngineGpu, EveryStrategyWithCudaGraphsGivesTheFramesWithout) {
  REQUIRE_GPU();
  REQUIRE_MODEL(path, "compact-x2.pt");
  const Device device = gpu();
  // One engine for every run: its graphs of one run are gone before the next captures its own.
  const auto engine = open_torch_engine(device, path, {DType::f16, true});
  const ImageDesc image{160, 96, PixelType::u8, ChannelOrder::bgr};
  const Kept reference = run_kept(device, *engine, image, 12, Strategy::serial_pageable);
  ASSERT_EQ(reference.frames_.size(), 12U);
  for (const Strategy strategy : kAllStrategies) {
    const Kept result = run_kept(device, *engine, image, 12, strategy, true);
    ASSERT_EQ(result.frames_.size(), reference.frames_.size()) << to_string(strategy);
    for (std::size_t f = 0; f < result.frames_.size(); ++f) {
      int worst = 0;
      for (std::size_t i = 0; i < result.frames_[f].size(); ++i) {
        worst = std::max(worst, std::abs(static_cast<int>(result.frames_[f][i]) -
                                         static_cast<int>(reference.frames_[f][i])));
      }
      EXPECT_LE(worst, 1) << to_string(strategy) << " frame " << f;
    }
  }
}

TEST(TorchEngineGpu, CapturedGraphReplaysAndGivesItsPoolBack) {
  REQUIRE_GPU();
  REQUIRE_MODEL(path, "exact-x2.pt");
  const Device device = gpu();
  device.bind_thread();
  const auto engine = open_torch_engine(device, path, {DType::f32, true});
  Stream stream = device.make_stream();
  const TensorShape in_shape{1, 3, 5, 4};
  const TensorShape out_shape = engine->output_shape(in_shape);
  engine->prepare(stream, in_shape);
  DeviceBuffer in = device.alloc(in_shape.elements() * sizeof(float));
  DeviceBuffer out = device.alloc(out_shape.elements() * sizeof(float));
  const TensorView in_view{in.data(), in_shape, DType::f32};
  const TensorView out_view{out.data(), out_shape, DType::f32};
  const auto enqueue = [&] { engine->run(stream, in_view, out_view); };
  enqueue();
  stream.synchronize();
  const std::size_t before = engine->workspace_bytes();
  {
    Graph graph = engine->capture(stream, enqueue);
    stream.synchronize();
    EXPECT_GT(engine->workspace_bytes(), before) << "the graph's private pool counts as workspace";
    std::mt19937 rng(std::random_device{}());
    std::vector<float> host_in(in_shape.elements());
    std::vector<float> host_out(out_shape.elements());
    for (int round = 0; round < 3; ++round) {
      // Multiples of 1/256: exact through TF32 convolutions too.
      for (float& v : host_in) {
        v = static_cast<float>(rng() % 256U) / 256.0F;
      }
      stream.copy_async(in.data(), host_in.data(), in.size());
      graph.launch(stream);
      stream.copy_async(host_out.data(), out.data(), out.size());
      stream.synchronize();
      for (int c = 0; c < 3; ++c) {
        for (int y = 0; y < 10; ++y) {
          for (int x = 0; x < 8; ++x) {
            ASSERT_EQ(host_out[static_cast<std::size_t>((c * 10 + y) * 8 + x)],
                      host_in[static_cast<std::size_t>((c * 5 + y / 2) * 4 + x / 2)])
                << "round " << round;
          }
        }
      }
    }
  }
  EXPECT_EQ(engine->workspace_bytes(), before) << "the pool goes back with its last graph";
}

TEST(TorchEngineGpu, PackageRefusesCudaGraphsInOneLine) {
  REQUIRE_GPU();
  const Device device = gpu();
  const std::string path = gpu_package(device, "fp16");
  if (path.empty()) {
    GTEST_SKIP() << "no exact-x2 package for this GPU was made";
  }
  const auto engine = open_torch_engine(device, path, {DType::f16, true});
  Stream stream = device.make_stream();
  expect_one_line_error([&] { (void)engine->capture(stream, [] {}); }, "AOTInductor package");
  SyntheticSource source(ImageDesc{37, 21, PixelType::u8, ChannelOrder::bgr}, 3);
  HashSink sink;
  PipelineOptions options = options_for(Strategy::split_streams);
  options.cuda_graph = true;
  try {
    (void)run_pipeline(device, *engine, source, sink, options);
    ADD_FAILURE() << "a .pt2 package must refuse --cuda-graph";
  } catch (const UsageError& e) {
    // A setup refusal reaches the caller as the UsageError it is (the CLI's exit code 2).
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_NE(what.find("--cuda-graph"), std::string::npos) << what;
  }
  // Without graphs the same package still runs.
  expect_exact(device, path, DType::f16, Strategy::split_streams);
}

TEST(TorchEngineGpu, RefusesPackagesForAnotherDeviceOrDtype) {
  REQUIRE_GPU();
  const Device device = gpu();
  if (const std::string cpu = model("exact-x2.fp32.cpu.pt2"); !cpu.empty()) {
    expect_one_line_error(
        [&] {
          (void)open_torch_engine(device, cpu, {DType::f32, true});
        },
        "was compiled for cpu");
  }
  if (const std::string fp32 = gpu_package(device, "fp32"); !fp32.empty()) {
    expect_one_line_error(
        [&] {
          (void)open_torch_engine(device, fp32, {DType::f16, true});
        },
        "run with --fp32");
  }
  if (const std::string other = model("other-device.pt2"); !other.empty()) {
    expect_one_line_error(
        [&] {
          (void)open_torch_engine(device, other, {DType::f32, true});
        },
        "compute capability 10");
  }
}

// Not a test: the figures of a real workload on every strategy, for a look at a new GPU or build.
//   PYN_TORCH_BENCH_MODEL=models/demo/compact-x4.pt pyn_torch_engine_gpu_tests
//     --gtest_also_run_disabled_tests --gtest_filter='*DISABLED_Figures*'
TEST(TorchEngineGpu, DISABLED_FiguresOfEveryStrategy) {
  REQUIRE_GPU();
  const char* env = std::getenv("PYN_TORCH_BENCH_MODEL");
  const std::string path = env != nullptr ? env : model("compact-x4.pt");
  if (path.empty()) {
    GTEST_SKIP() << "set PYN_TORCH_BENCH_MODEL";
  }
  const Device device = gpu();
  const auto engine = open_torch_engine(device, path, {DType::f16, true});
  for (const Strategy strategy : kAllStrategies) {
    SyntheticSource source(ImageDesc{960, 540, PixelType::u8, ChannelOrder::rgb}, 200);
    NullSink sink;
    PipelineOptions options = options_for(strategy);
    options.measure = true;
    options.warmup = 20;
    const RunReport r =
        within(120s, [&] { return run_pipeline(device, *engine, source, sink, options); });
    std::printf(
        "%s %-16s fps %7.2f  compute %6.3f ms  h2d %6.3f  d2h %6.3f  bound %7.2f  efficiency %.3f  "
        "gap %.3f ms  vram %zu MiB\n",
        engine->name().c_str(), std::string(to_string(strategy)).c_str(), r.fps,
        r.stages.compute_ms, r.stages.h2d_ms, r.stages.d2h_ms, r.bound_fps, r.efficiency,
        r.compute_gap_ms, r.vram_bytes >> 20U);
  }
}

#endif  // PYN_TORCH_GPU_TESTS

}  // namespace
}  // namespace pyn
