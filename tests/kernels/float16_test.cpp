// float16.hpp against a reference that rounds in double precision with nearbyint, a different
// method from the bit manipulation under test.

#include "pynference/kernels/float16.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "kernels/prepost_test_util.hpp"

namespace pyn::test {
namespace {

// Round |value| to a binary float with `mantissa_bits` stored bits, exponent bias `bias` and
// largest exponent `max_exponent`; returns the magnitude bits. value must be finite.
std::uint32_t reference_bits(double magnitude, int mantissa_bits, int bias, int max_exponent) {
  const int min_exponent = 1 - bias;
  const double unit = std::ldexp(1.0, mantissa_bits);
  if (magnitude < std::ldexp(1.0, min_exponent)) {
    // Subnormal range: an integer count of the smallest step. A count of 2^mantissa_bits is the
    // smallest normal, whose bits are that same number.
    return static_cast<std::uint32_t>(
        std::nearbyint(std::ldexp(magnitude, mantissa_bits - min_exponent)));
  }
  int e = 0;
  std::frexp(magnitude, &e);
  int exponent = e - 1;
  double significand = std::nearbyint(std::ldexp(magnitude, mantissa_bits - exponent));
  if (significand == 2 * unit) {
    significand = unit;
    ++exponent;
  }
  if (exponent > max_exponent) {
    return static_cast<std::uint32_t>(max_exponent + bias + 1) << mantissa_bits;
  }
  return (static_cast<std::uint32_t>(exponent + bias) << mantissa_bits) |
         static_cast<std::uint32_t>(significand - unit);
}

std::uint16_t reference_half(float value) {
  const auto sign = static_cast<std::uint16_t>(std::signbit(value) ? 0x8000U : 0U);
  if (std::isinf(value)) {
    return sign | 0x7C00U;
  }
  return static_cast<std::uint16_t>(
      sign | reference_bits(std::fabs(static_cast<double>(value)), 10, 15, 15));
}

std::uint16_t reference_bf16(float value) {
  const auto sign = static_cast<std::uint16_t>(std::signbit(value) ? 0x8000U : 0U);
  if (std::isinf(value)) {
    return sign | 0x7F80U;
  }
  return static_cast<std::uint16_t>(
      sign | reference_bits(std::fabs(static_cast<double>(value)), 7, 127, 127));
}

bool is_half_nan(std::uint16_t h) { return (h & 0x7C00U) == 0x7C00U && (h & 0x03FFU) != 0; }
bool is_bf16_nan(std::uint16_t b) { return (b & 0x7F80U) == 0x7F80U && (b & 0x007FU) != 0; }

TEST(Float16, EveryHalfSurvivesARoundTripThroughFloat) {
  for (std::uint32_t h = 0; h <= 0xFFFF; ++h) {
    const auto half = static_cast<std::uint16_t>(h);
    const float f = half_bits_to_float(half);
    if (is_half_nan(half)) {
      EXPECT_TRUE(std::isnan(f)) << std::hex << h;
      EXPECT_TRUE(is_half_nan(float_to_half_bits(f))) << std::hex << h;
    } else {
      ASSERT_EQ(float_to_half_bits(f), half) << std::hex << h << " -> " << f;
    }
  }
}

TEST(Float16, HalfDecodesToItsValue) {
  EXPECT_EQ(half_bits_to_float(0x3C00), 1.0F);
  EXPECT_EQ(half_bits_to_float(0xC000), -2.0F);
  EXPECT_EQ(half_bits_to_float(0x7BFF), 65504.0F);
  EXPECT_EQ(half_bits_to_float(0x0400), std::ldexp(1.0F, -14));
  EXPECT_EQ(half_bits_to_float(0x0001), std::ldexp(1.0F, -24));
  EXPECT_EQ(half_bits_to_float(0x03FF), std::ldexp(1023.0F, -24));
  EXPECT_EQ(half_bits_to_float(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::signbit(half_bits_to_float(0x8000)));
}

TEST(Float16, FloatToHalfRoundsToNearestEven) {
  EXPECT_EQ(float_to_half_bits(65504.0F), 0x7BFF);
  EXPECT_EQ(float_to_half_bits(65519.996F), 0x7BFF);
  EXPECT_EQ(float_to_half_bits(65520.0F), 0x7C00);  // the tie above the largest half goes to inf
  EXPECT_EQ(float_to_half_bits(std::ldexp(1.0F, -25)), 0x0000);  // tie between 0 and 2^-24
  EXPECT_EQ(float_to_half_bits(std::nextafter(std::ldexp(1.0F, -25), 1.0F)), 0x0001);
  EXPECT_EQ(float_to_half_bits(std::ldexp(3.0F, -25)), 0x0002);         // 1.5 steps: tie to even 2
  EXPECT_EQ(float_to_half_bits(1.0F + std::ldexp(1.0F, -11)), 0x3C00);  // tie to even 1.0
  EXPECT_EQ(float_to_half_bits(1.0F + std::ldexp(3.0F, -11)), 0x3C02);  // tie to even 1+2^-9
  EXPECT_EQ(float_to_half_bits(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(float_to_half_bits(-std::numeric_limits<float>::denorm_min()), 0x8000);
  EXPECT_EQ(float_to_half_bits(-std::numeric_limits<float>::infinity()), 0xFC00);
  EXPECT_EQ(float_to_half_bits(std::numeric_limits<float>::max()), 0x7C00);
  EXPECT_TRUE(is_half_nan(float_to_half_bits(std::numeric_limits<float>::quiet_NaN())));
  // A NaN whose payload lives only in bits a half drops must not turn into infinity.
  EXPECT_TRUE(is_half_nan(float_to_half_bits(std::bit_cast<float>(0x7F800001U))));
  EXPECT_TRUE(is_half_nan(float_to_half_bits(std::bit_cast<float>(0xFF800001U))));
}

TEST(Float16, FloatToHalfMatchesTheReference) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  std::uniform_int_distribution<std::uint32_t> any(0, 0xFFFF'FFFFU);
  // Random bit patterns hit mostly huge and tiny magnitudes; the exponent sweep covers the range
  // where halves live, both sides of every rounding boundary included.
  for (int i = 0; i < 1'000'000; ++i) {
    std::uint32_t bits = any(rng.engine());
    if (i % 2 == 0) {
      bits = (bits & 0x807F'FFFFU) | (static_cast<std::uint32_t>(rng.uniform_int(98, 144)) << 23);
    }
    const float f = std::bit_cast<float>(bits);
    if (std::isnan(f)) {
      continue;
    }
    ASSERT_EQ(float_to_half_bits(f), reference_half(f)) << std::hex << bits << " = " << f;
  }
  for (std::uint32_t x = 0; x <= 65535; ++x) {
    for (const float scale : {1.0F / 255.0F, 1.0F / 65535.0F}) {
      const float f = static_cast<float>(x) * scale;
      ASSERT_EQ(float_to_half_bits(f), reference_half(f)) << x;
    }
  }
}

TEST(Float16, EveryBf16SurvivesARoundTripThroughFloat) {
  for (std::uint32_t b = 0; b <= 0xFFFF; ++b) {
    const auto bf16 = static_cast<std::uint16_t>(b);
    const float f = bf16_bits_to_float(bf16);
    if (is_bf16_nan(bf16)) {
      EXPECT_TRUE(std::isnan(f)) << std::hex << b;
      EXPECT_TRUE(is_bf16_nan(float_to_bf16_bits(f))) << std::hex << b;
    } else {
      ASSERT_EQ(float_to_bf16_bits(f), bf16) << std::hex << b;
    }
  }
}

TEST(Float16, FloatToBf16MatchesTheReference) {
  Rng rng;
  SCOPED_TRACE(rng.trace());
  std::uniform_int_distribution<std::uint32_t> any(0, 0xFFFF'FFFFU);
  for (int i = 0; i < 1'000'000; ++i) {
    const float f = std::bit_cast<float>(any(rng.engine()));
    if (std::isnan(f)) {
      continue;
    }
    ASSERT_EQ(float_to_bf16_bits(f), reference_bf16(f)) << f;
  }
  EXPECT_EQ(float_to_bf16_bits(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(float_to_bf16_bits(std::bit_cast<float>(0x3F80'8000U)), 0x3F80);  // tie to even
  EXPECT_EQ(float_to_bf16_bits(std::bit_cast<float>(0x3F81'8000U)), 0x3F82);  // tie to even
  EXPECT_TRUE(is_bf16_nan(float_to_bf16_bits(std::bit_cast<float>(0x7F80'0001U))));
}

}  // namespace
}  // namespace pyn::test
