// The VapourSynth filter's two halves that need no VapourSynth: the copies between strided planes
// and a slot's packed frame (planar RGB and YUV alike), and ModelFilter serving frames to several
// threads at once through one Processor, with fewer slots than threads; a float clip's frames come
// back as the network's float values. tests/vapoursynth/plugin_test.py drives the whole
// plugin inside VapourSynth.

#include "filter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <array>
#include <atomic>
#include <cstring>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "pipeline/run_helpers.hpp"
#include "planes.hpp"

namespace pyn::vs {
namespace {

using namespace std::chrono_literals;

constexpr std::byte kGuard{0xa5};

// A frame as VapourSynth lays it out: three planes, each row followed by padding (guard bytes).
// VapourSynth's strides are multiples of 32 bytes or more; these are only kept even, as a 16-bit
// sample needs, so that the padding is not a whole number of pixels.
struct StridedFrame {
  StridedFrame(const FrameFormat& format, std::ptrdiff_t padding) {
    for (std::size_t p = 0; p < 3; ++p) {
      row_bytes[p] = plane_row_bytes(format, static_cast<int>(p));
      rows[p] = static_cast<std::size_t>(plane_rows(format, static_cast<int>(p)));
      strides[p] = static_cast<std::ptrdiff_t>(row_bytes[p]) + padding;
      bytes[p].assign(static_cast<std::size_t>(strides[p]) * rows[p], kGuard);
    }
  }

  [[nodiscard]] std::array<ConstPlane, 3> in() const {
    return {ConstPlane{bytes[0].data(), strides[0]}, ConstPlane{bytes[1].data(), strides[1]},
            ConstPlane{bytes[2].data(), strides[2]}};
  }
  [[nodiscard]] std::array<Plane, 3> out() {
    return {Plane{bytes[0].data(), strides[0]}, Plane{bytes[1].data(), strides[1]},
            Plane{bytes[2].data(), strides[2]}};
  }
  [[nodiscard]] bool padding_untouched() const {
    for (std::size_t p = 0; p < 3; ++p) {
      for (std::size_t y = 0; y < rows[p]; ++y) {
        const auto begin = bytes[p].begin() + static_cast<std::ptrdiff_t>(y) * strides[p];
        if (!std::all_of(begin + static_cast<std::ptrdiff_t>(row_bytes[p]), begin + strides[p],
                         [](std::byte b) { return b == kGuard; })) {
          return false;
        }
      }
    }
    return true;
  }

  std::array<std::vector<std::byte>, 3> bytes;
  std::array<std::ptrdiff_t, 3> strides{};
  std::array<std::size_t, 3> row_bytes{};
  std::array<std::size_t, 3> rows{};
};

std::vector<std::byte> random_bytes(std::size_t n) {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::byte> out(n);
  std::generate(out.begin(), out.end(), [&] { return static_cast<std::byte>(byte(rng)); });
  return out;
}

ImageDesc planar_rgb(int width, int height, PixelType pixel) {
  return ImageDesc{width, height, pixel, ChannelOrder::rgb, ImageLayout::planar};
}

// Strides stay multiples of 4 bytes below (padding 4 or 12 on 4-byte rows), as f32 samples need.
const std::array<FrameFormat, 7> kFormats = {
    FrameFormat{planar_rgb(13, 5, PixelType::u8)},
    FrameFormat{planar_rgb(7, 4, PixelType::u16)},
    FrameFormat{ImageDesc{8, 3, PixelType::u16, ChannelOrder::rgb, ImageLayout::planar, 10}},
    FrameFormat{planar_rgb(6, 3, PixelType::f16)},
    FrameFormat{planar_rgb(5, 4, PixelType::f32)},
    FrameFormat{YuvDesc{10, 6, ChromaLayout::yuv420, 8, ColorMatrix::bt709, ColorRange::limited}},
    FrameFormat{YuvDesc{9, 3, ChromaLayout::yuv444, 10, ColorMatrix::bt601, ColorRange::full}}};

// The slot's planar RGB frame is the planes R, G, B one after the other, rows without padding.
TEST(Planes, PackedPlanarRgbIsThePlanesOneAfterAnother) {
  const ImageDesc desc = planar_rgb(5, 3, PixelType::u16);
  const std::vector<std::byte> packed = random_bytes(desc.bytes());
  StridedFrame planes(desc, 6);
  unpack(desc, packed, planes.out());
  const std::size_t plane = 5 * 3 * 2;
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t y = 0; y < 3; ++y) {
      EXPECT_EQ(std::memcmp(&planes.bytes[c][y * static_cast<std::size_t>(planes.strides[c])],
                            &packed[c * plane + y * 10], 10),
                0)
          << "channel " << c << " row " << y;
    }
  }
}

TEST(Planes, RoundTripThroughStridedPlanesLeavesThePaddingAlone) {
  for (const FrameFormat& format : kFormats) {
    const std::vector<std::byte> packed = random_bytes(bytes_of(format));
    StridedFrame planes(format, 12);
    unpack(format, packed, planes.out());
    EXPECT_TRUE(planes.padding_untouched()) << to_string(format);
    std::vector<std::byte> back(bytes_of(format), std::byte{0});
    pack(format, planes.in(), back);
    EXPECT_EQ(back, packed) << to_string(format);
  }
}

// Planes whose stride is their row go in one copy each: the same bytes, in the same places.
TEST(Planes, RoundTripThroughUnpaddedPlanes) {
  for (const FrameFormat& format : kFormats) {
    const std::vector<std::byte> packed = random_bytes(bytes_of(format));
    StridedFrame planes(format, 0);
    unpack(format, packed, planes.out());
    std::size_t offset = 0;
    for (std::size_t p = 0; p < 3; ++p) {
      EXPECT_EQ(std::memcmp(planes.bytes[p].data(), &packed[offset], planes.bytes[p].size()), 0)
          << to_string(format) << " plane " << p;
      offset += planes.bytes[p].size();
    }
    std::vector<std::byte> back(bytes_of(format), std::byte{0});
    pack(format, planes.in(), back);
    EXPECT_EQ(back, packed) << to_string(format);
  }
}

TEST(Planes, AnInterleavedFrameOrTheWrongSizeIsOneLine) {
  const ImageDesc desc = planar_rgb(4, 4, PixelType::u8);
  StridedFrame planes(desc, 0);
  std::vector<std::byte> small(desc.bytes() - 1);
  try {
    pack(desc, planes.in(), small);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "a packed frame of 4x4 rgb u8 planar is 48 bytes, not 47");
  }
  std::vector<std::byte> whole(desc.bytes());
  try {
    pack(ImageDesc{4, 4, PixelType::u8, ChannelOrder::rgb}, planes.in(), whole);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "VapourSynth's frames are planar, not 4x4 rgb u8");
  }
}

// As VapourSynth's threads ask: each frame from strided planes, in shuffled order, from more
// threads than there are slots; every output checked against the CPU reference.
TEST(ModelFilter, ServesThreadsAskingForFramesInAnyOrderWithFewerSlots) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  constexpr std::int64_t kFrames = 40;
  constexpr int kThreads = 4;
  for (const FrameFormat& format : kFormats) {
    SyntheticSource source(format, kFrames);
    ModelFilter filter(
        device, std::make_unique<SyntheticEngine>(device, SyntheticOptions{0.05, 2, DType::f16}),
        format, format, FilterOptions{2, 2});
    ASSERT_EQ(width_of(filter.output_format()), 2 * width_of(format));

    std::vector<std::int64_t> order(kFrames);
    for (std::int64_t i = 0; i < kFrames; ++i) {
      order[static_cast<std::size_t>(i)] = i;
    }
    std::shuffle(order.begin(), order.end(), std::mt19937(std::random_device{}()));
    std::atomic<std::size_t> next{0};
    std::atomic<int> right{0};
    std::atomic<int> wrong{0};
    auto serve = [&] {
      for (std::size_t k = next++; k < order.size(); k = next++) {
        const std::int64_t frame = order[k];
        std::vector<std::byte> packed(bytes_of(format));
        source.render(packed, frame);
        StridedFrame in(format, 12);
        unpack(format, packed, in.out());
        StridedFrame out(filter.output_format(), 4);
        filter.process(
            frame, [&](std::span<std::byte> slot) { pack(format, in.in(), slot); },
            [&](std::span<const std::byte> slot) {
              unpack(filter.output_format(), slot, out.out());
            });
        std::vector<std::byte> got(bytes_of(filter.output_format()));
        pack(filter.output_format(), out.in(), got);
        const bool same = got == expected_synthetic_output(source, frame, DType::f16, 2) &&
                          out.padding_untouched();
        ++(same ? right : wrong);
      }
    };
    (void)test::within(120s, [&] {
      std::vector<std::jthread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back(serve);
      }
      return 0;
    });
    EXPECT_EQ(right.load(), kFrames) << to_string(format);
    EXPECT_EQ(wrong.load(), 0) << to_string(format);
  }
}

TEST(ModelFilter, AFailedFrameGivesItsSlotBack) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  const ImageDesc desc{4, 4, PixelType::u8, ChannelOrder::rgb};
  ModelFilter filter(device,
                     std::make_unique<SyntheticEngine>(device, SyntheticOptions{0, 1, DType::f32}),
                     desc, desc, FilterOptions{1, 1});
  const auto nothing = [](std::span<const std::byte>) {};
  EXPECT_THROW(
      filter.process(
          0, [](std::span<std::byte>) { throw std::runtime_error("the source failed"); }, nothing),
      std::runtime_error);
  EXPECT_THROW(filter.process(
                   1, [](std::span<std::byte>) {},
                   [](std::span<const std::byte>) { throw std::runtime_error("the sink failed"); }),
               std::runtime_error);
  // One slot: a third frame is served only if both failures gave it back.
  bool drained = false;
  (void)test::within(60s, [&] {
    filter.process(
        2, [](std::span<std::byte> slot) { std::fill(slot.begin(), slot.end(), std::byte{0}); },
        [&](std::span<const std::byte> out) { drained = out.size() == desc.bytes(); });
    return 0;
  });
  EXPECT_TRUE(drained);
}

// RGBS through an fp32 network: each output sample is the network's value itself (the synthetic
// engine gives 1 - x, nearest-upscaled), outside [0, 1] too, with no 16-bit code in between.
TEST(ModelFilter, FloatClipsGetTheNetworksFloatValues) {
  const Device device = Device::open(DeviceSpec::parse("cpu"));
  const ImageDesc desc = planar_rgb(6, 5, PixelType::f32);
  ModelFilter filter(device,
                     std::make_unique<SyntheticEngine>(device, SyntheticOptions{0, 2, DType::f32}),
                     desc, desc, FilterOptions{1, 1});
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> value(-0.5F, 1.5F);
  std::array<std::vector<float>, 3> planes;
  std::array<ConstPlane, 3> in{};
  for (std::size_t c = 0; c < 3; ++c) {
    planes[c].resize(8 * 5);  // a stride of 8 samples
    std::generate(planes[c].begin(), planes[c].end(), [&] { return value(rng); });
    in[c] = {reinterpret_cast<const std::byte*>(planes[c].data()), 8 * sizeof(float)};
  }
  StridedFrame out(filter.output_format(), 4);
  (void)test::within(60s, [&] {
    filter.process(
        0, [&](std::span<std::byte> slot) { pack(desc, in, slot); },
        [&](std::span<const std::byte> slot) { unpack(filter.output_format(), slot, out.out()); });
    return 0;
  });
  int exact = 0;
  int outside = 0;
  int off_the_codes = 0;
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t y = 0; y < 10; ++y) {
      for (std::size_t x = 0; x < 12; ++x) {
        float got = 0;
        std::memcpy(&got, &out.bytes[c][y * static_cast<std::size_t>(out.strides[c]) + 4 * x], 4);
        const float want = 1.0F - planes[c][y / 2 * 8 + x / 2];
        exact += got == want ? 1 : 0;
        outside += got < 0.0F || got > 1.0F ? 1 : 0;
        const float code = got * 65535.0F;
        off_the_codes += code != std::nearbyint(code) ? 1 : 0;
      }
    }
  }
  EXPECT_EQ(exact, 3 * 10 * 12);
  EXPECT_GT(outside, 0);
  EXPECT_GT(off_the_codes, 0);
  EXPECT_TRUE(out.padding_untouched());
}

}  // namespace
}  // namespace pyn::vs
