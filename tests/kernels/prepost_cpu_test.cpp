// The CPU reference of pre/post, and the typed entry points on the host backend.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "kernels/prepost_test_util.hpp"
#include "pynference/device/device.hpp"
#include "pynference/device/error.hpp"
#include "pynference/kernels/float16.hpp"
#include "pynference/kernels/prepost.hpp"

namespace pyn::test {
namespace {

std::uint32_t sample_at(const std::vector<unsigned char>& frame, PixelType pixel, std::size_t i) {
  if (pixel == PixelType::u8) {
    return frame[i];
  }
  std::uint16_t s = 0;
  std::memcpy(&s, frame.data() + 2 * i, 2);
  return s;
}

float element_at(const std::vector<unsigned char>& tensor, DType dtype, std::size_t i) {
  if (dtype == DType::f32) {
    float v = 0;
    std::memcpy(&v, tensor.data() + 4 * i, 4);
    return v;
  }
  std::uint16_t bits = 0;
  std::memcpy(&bits, tensor.data() + 2 * i, 2);
  return dtype == DType::f16 ? half_bits_to_float(bits) : bf16_bits_to_float(bits);
}

// The bits pre must produce for one sample, written out independently of prepost_cpu.cpp.
std::uint32_t expected_pre_bits(std::uint32_t sample, PixelType pixel, DType dtype) {
  const float unit = static_cast<float>(sample) * unit_scale(pixel);
  switch (dtype) {
    case DType::f32:
      return std::bit_cast<std::uint32_t>(unit);
    case DType::f16:
      return float_to_half_bits(unit);
    case DType::bf16:
      return float_to_bf16_bits(unit);
  }
  return 0;
}

std::uint32_t element_bits(const std::vector<unsigned char>& tensor, DType dtype, std::size_t i) {
  if (dtype == DType::f32) {
    return std::bit_cast<std::uint32_t>(element_at(tensor, dtype, i));
  }
  std::uint16_t bits = 0;
  std::memcpy(&bits, tensor.data() + 2 * i, 2);
  return bits;
}

// Plane of the tensor that channel k of an interleaved pixel belongs to.
std::size_t plane_of(ChannelOrder order, std::size_t k) {
  return order == ChannelOrder::bgr ? 2 - k : k;
}

std::vector<unsigned char> run_pre(const ImageDesc& image, const std::vector<unsigned char>& frame,
                                   DType dtype) {
  Guarded tensor(tensor_bytes(image, dtype));
  pre_cpu(image, frame.data(), dtype, tensor.data());
  EXPECT_TRUE(tensor.guards_intact()) << name_of(image) << " -> " << to_string(dtype);
  return tensor.payload();
}

std::vector<unsigned char> run_post(const ImageDesc& image,
                                    const std::vector<unsigned char>& tensor, DType dtype) {
  Guarded frame(image.bytes());
  post_cpu(dtype, tensor.data(), image, frame.data());
  EXPECT_TRUE(frame.guards_intact()) << to_string(dtype) << " -> " << name_of(image);
  return frame.payload();
}

// A 256x1 frame holding every u8 value in every channel.
std::vector<unsigned char> every_u8_value() {
  std::vector<unsigned char> frame(256 * 3);
  for (std::size_t i = 0; i < 256; ++i) {
    frame[3 * i] = static_cast<unsigned char>(i);
    frame[3 * i + 1] = static_cast<unsigned char>(255 - i);
    frame[3 * i + 2] = static_cast<unsigned char>(i * 7);
  }
  return frame;
}

// A 65536x1 frame holding every u16 value in every channel.
std::vector<unsigned char> every_u16_value() {
  std::vector<std::uint16_t> samples(65536 * 3);
  for (std::size_t i = 0; i < 65536; ++i) {
    samples[3 * i] = static_cast<std::uint16_t>(i);
    samples[3 * i + 1] = static_cast<std::uint16_t>(65535 - i);
    samples[3 * i + 2] = static_cast<std::uint16_t>(i * 31);
  }
  std::vector<unsigned char> frame(samples.size() * 2);
  std::memcpy(frame.data(), samples.data(), frame.size());
  return frame;
}

// Largest |after - before| over all samples of a pre + post round trip.
std::uint32_t round_trip_error(const ImageDesc& image, const std::vector<unsigned char>& frame,
                               DType dtype) {
  const auto back = run_post(image, run_pre(image, frame, dtype), dtype);
  std::uint32_t worst = 0;
  for (std::size_t i = 0; i < image.pixels() * 3; ++i) {
    const auto a = sample_at(frame, image.pixel, i);
    const auto b = sample_at(back, image.pixel, i);
    worst = std::max(worst, a > b ? a - b : b - a);
  }
  return worst;
}

TEST(PrepostCpu, PreWritesRgbPlanesFromEitherOrder) {
  // 2x3 frame, sample value = 10 * pixel + channel + 1, so every sample is distinct.
  for (const auto order : all_orders) {
    const ImageDesc image{2, 3, PixelType::u8, order};
    std::vector<unsigned char> frame(image.bytes());
    for (std::size_t i = 0; i < frame.size(); ++i) {
      frame[i] = static_cast<unsigned char>(10 * (i / 3) + i % 3 + 1);
    }
    const auto tensor = run_pre(image, frame, DType::f32);
    for (std::size_t p = 0; p < 6; ++p) {
      const std::size_t red = order == ChannelOrder::rgb ? 0 : 2;
      const float want_red = static_cast<float>(10 * p + red + 1) * (1.0F / 255.0F);
      const float want_green = static_cast<float>(10 * p + 2) * (1.0F / 255.0F);
      const float want_blue = static_cast<float>(10 * p + (2 - red) + 1) * (1.0F / 255.0F);
      EXPECT_EQ(element_at(tensor, DType::f32, p), want_red) << to_string(order) << " pixel " << p;
      EXPECT_EQ(element_at(tensor, DType::f32, 6 + p), want_green)
          << to_string(order) << " pixel " << p;
      EXPECT_EQ(element_at(tensor, DType::f32, 12 + p), want_blue)
          << to_string(order) << " pixel " << p;
    }
  }
}

TEST(PrepostCpu, PreIsOneMultiplyThenRoundToNearestEven) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto [width, height] : small_sizes) {
    for (const auto pixel : all_pixels) {
      for (const auto order : all_orders) {
        const ImageDesc image{width, height, pixel, order};
        const auto frame = random_frame(image, rng);
        for (const auto dtype : all_dtypes) {
          const auto tensor = run_pre(image, frame, dtype);
          const std::size_t pixels = image.pixels();
          std::size_t wrong = 0;
          for (std::size_t i = 0; i < pixels; ++i) {
            for (std::size_t k = 0; k < 3; ++k) {
              const auto want = expected_pre_bits(sample_at(frame, pixel, 3 * i + k), pixel, dtype);
              wrong += element_bits(tensor, dtype, plane_of(order, k) * pixels + i) != want;
            }
          }
          EXPECT_EQ(wrong, 0U) << name_of(image) << " -> " << to_string(dtype);
        }
      }
    }
  }
}

TEST(PrepostCpu, PostClampsScalesAndRoundsHalfToEven) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto [width, height] : small_sizes) {
    for (const auto pixel : all_pixels) {
      for (const auto order : all_orders) {
        // The large size once per pixel type and dtype is enough; it is slow unoptimised.
        if (width > 1000 && order == ChannelOrder::rgb) {
          continue;
        }
        const ImageDesc image{width, height, pixel, order};
        for (const auto dtype : all_dtypes) {
          const auto tensor = random_tensor(tensor_shape_of(image).elements(), dtype, pixel, rng);
          const auto frame = run_post(image, tensor, dtype);
          const std::size_t pixels = image.pixels();
          std::size_t wrong = 0;
          for (std::size_t i = 0; i < pixels; ++i) {
            for (std::size_t k = 0; k < 3; ++k) {
              const float v = element_at(tensor, dtype, plane_of(order, k) * pixels + i);
              const float clamped = std::isnan(v) ? 1.0F : std::min(std::max(v, 0.0F), 1.0F);
              const auto want =
                  static_cast<std::uint32_t>(std::nearbyint(clamped * full_scale(pixel)));
              wrong += sample_at(frame, pixel, 3 * i + k) != want;
            }
          }
          EXPECT_EQ(wrong, 0U) << to_string(dtype) << " -> " << name_of(image);
        }
      }
    }
  }
}

TEST(PrepostCpu, PostEdgeValues) {
  for (const auto pixel : all_pixels) {
    const float full = full_scale(pixel);
    const std::uint32_t top = pixel == PixelType::u8 ? 255 : 65535;
    struct Case {
      float value;
      std::uint32_t want;
    };
    std::vector<Case> cases = {{-1.0F, 0},
                               {-0.0F, 0},
                               {0.0F, 0},
                               {2.0F, top},
                               {1.0F, top},
                               {NAN, top},
                               {INFINITY, top},
                               {-INFINITY, 0},
                               {1e-30F, 0},
                               {1e30F, top},
                               {0.5F / full, 0},
                               {2.0F / full, 2},
                               {std::numeric_limits<float>::signaling_NaN(), top},
                               {-std::numeric_limits<float>::signaling_NaN(), top}};
    // Exact ties go to the even neighbour: k + 0.5 -> k for even k, k + 1 for odd k.
    for (const int k : {0, 1, 2, 3, 100, 101, static_cast<int>(top) - 1}) {
      const float v = tie_value(k, full);
      ASSERT_EQ(v * full, static_cast<float>(k) + 0.5F) << "no exact tie found for " << k;
      cases.push_back({v, static_cast<std::uint32_t>(k % 2 == 0 ? k : k + 1)});
    }
    const ImageDesc image{static_cast<int>(cases.size()), 1, pixel, ChannelOrder::rgb};
    std::vector<unsigned char> tensor(tensor_bytes(image, DType::f32));
    for (std::size_t i = 0; i < cases.size(); ++i) {
      for (std::size_t plane = 0; plane < 3; ++plane) {
        std::memcpy(tensor.data() + 4 * (plane * cases.size() + i), &cases[i].value, 4);
      }
    }
    const auto frame = run_post(image, tensor, DType::f32);
    for (std::size_t i = 0; i < cases.size(); ++i) {
      for (std::size_t k = 0; k < 3; ++k) {
        EXPECT_EQ(sample_at(frame, pixel, 3 * i + k), cases[i].want)
            << to_string(pixel) << " value " << cases[i].value << " (case " << i << ")";
      }
    }
  }
}

TEST(PrepostCpu, U8RoundTripsExactlyThroughF32AndF16) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto order : all_orders) {
    const ImageDesc every{256, 1, PixelType::u8, order};
    for (const auto dtype : {DType::f32, DType::f16}) {
      EXPECT_EQ(round_trip_error(every, every_u8_value(), dtype), 0U)
          << to_string(dtype) << " " << to_string(order);
      for (const auto [width, height] : small_sizes) {
        const ImageDesc image{width, height, PixelType::u8, order};
        EXPECT_EQ(round_trip_error(image, random_frame(image, rng), dtype), 0U)
            << name_of(image) << " via " << to_string(dtype);
      }
    }
  }
}

TEST(PrepostCpu, U8ThroughBf16MovesAtMostOneLevel) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  const ImageDesc every{256, 1, PixelType::u8, ChannelOrder::rgb};
  EXPECT_LE(round_trip_error(every, every_u8_value(), DType::bf16), 1U);
  const ImageDesc image{1919, 1079, PixelType::u8, ChannelOrder::bgr};
  EXPECT_LE(round_trip_error(image, random_frame(image, rng), DType::bf16), 1U);
}

TEST(PrepostCpu, U16RoundTripErrorIsBoundedByTheDtype) {
  const ImageDesc every{65536, 1, PixelType::u16, ChannelOrder::bgr};
  const auto frame = every_u16_value();
  EXPECT_EQ(round_trip_error(every, frame, DType::f32), 0U);
  // Half an ulp of [0.5, 1) is 2^-12 for f16 and 2^-9 for bf16; times 65535, plus the final
  // rounding.
  EXPECT_LE(round_trip_error(every, frame, DType::f16), 16U);
  EXPECT_LE(round_trip_error(every, frame, DType::bf16), 128U);
}

TEST(PrepostCpu, RejectsBadArguments) {
  std::vector<std::uint32_t> storage(64);
  void* p = storage.data();
  auto* bytes = static_cast<unsigned char*>(p);
  const ImageDesc image{2, 2, PixelType::u16, ChannelOrder::rgb};
  EXPECT_THROW(pre_cpu(image, nullptr, DType::f16, p), UsageError);
  EXPECT_THROW(pre_cpu(image, p, DType::f16, nullptr), UsageError);
  EXPECT_THROW(post_cpu(DType::f16, nullptr, image, p), UsageError);
  EXPECT_THROW(post_cpu(DType::f16, p, image, nullptr), UsageError);
  EXPECT_THROW(pre_cpu(ImageDesc{0, 2}, p, DType::f16, p), UsageError);
  EXPECT_THROW(pre_cpu(ImageDesc{2, -1}, p, DType::f16, p), UsageError);
  EXPECT_THROW(post_cpu(DType::f16, p, ImageDesc{-3, 2}, p), UsageError);
  EXPECT_THROW(pre_cpu(image, bytes + 1, DType::f16, p), UsageError);
  EXPECT_THROW(pre_cpu(image, p, DType::f32, bytes + 2), UsageError);
  EXPECT_THROW(pre_cpu(image, p, static_cast<DType>(7), p), UsageError);
  EXPECT_THROW(post_cpu(DType::f16, p, ImageDesc{2, 2, static_cast<PixelType>(9)}, p), UsageError);
  EXPECT_THROW(
      pre_cpu(ImageDesc{2, 2, PixelType::u8, static_cast<ChannelOrder>(5)}, p, DType::f16, p),
      UsageError);
}

class PrepostHostStream : public ::testing::Test {
 protected:
  Device device_ = Device::open(DeviceSpec::parse("cpu"));
  Stream stream_ = device_.make_stream();
};

TEST_F(PrepostHostStream, RunsTheReferenceInStreamOrder) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  for (const auto pixel : all_pixels) {
    for (const auto dtype : all_dtypes) {
      const ImageDesc image{321, 241, pixel, ChannelOrder::bgr};
      const auto frame = random_frame(image, rng);
      const auto tensor = random_tensor(tensor_shape_of(image).elements(), dtype, pixel, rng);
      Guarded pre_out(tensor_bytes(image, dtype));
      Guarded post_out(image.bytes());
      pre(stream_, image, frame.data(), TensorView{pre_out.data(), tensor_shape_of(image), dtype});
      post(stream_,
           TensorView{const_cast<unsigned char*>(tensor.data()), tensor_shape_of(image), dtype},
           image, post_out.data());
      stream_.synchronize();
      EXPECT_TRUE(pre_out.guards_intact());
      EXPECT_TRUE(post_out.guards_intact());
      EXPECT_EQ(first_difference(pre_out.payload(), run_pre(image, frame, dtype)), "")
          << "pre " << name_of(image) << " -> " << to_string(dtype);
      EXPECT_EQ(first_difference(post_out.payload(), run_post(image, tensor, dtype)), "")
          << "post " << to_string(dtype) << " -> " << name_of(image);
    }
  }
}

TEST_F(PrepostHostStream, RejectsTensorsOfTheWrongShape) {
  const ImageDesc image{4, 2, PixelType::u8, ChannelOrder::rgb};
  std::vector<float> tensor(3 * 8);
  std::vector<unsigned char> frame(image.bytes());
  for (const TensorShape shape : {TensorShape{1, 3, 4, 2}, TensorShape{2, 3, 2, 4},
                                  TensorShape{1, 1, 2, 4}, TensorShape{1, 3, 2, 3}}) {
    const TensorView view{tensor.data(), shape, DType::f32};
    EXPECT_THROW(pre(stream_, image, frame.data(), view), UsageError);
    EXPECT_THROW(post(stream_, view, image, frame.data()), UsageError);
  }
  const TensorView null_view{nullptr, tensor_shape_of(image), DType::f32};
  EXPECT_THROW(pre(stream_, image, frame.data(), null_view), UsageError);
  EXPECT_THROW(post(stream_, null_view, image, frame.data()), UsageError);
  // A moved-from stream is empty.
  Stream taken = std::move(stream_);
  const TensorView view{tensor.data(), tensor_shape_of(image), DType::f32};
  EXPECT_THROW(pre(stream_, image, frame.data(), view), UsageError);
  EXPECT_THROW(post(stream_, view, image, frame.data()), UsageError);
  taken.synchronize();
}

}  // namespace
}  // namespace pyn::test
