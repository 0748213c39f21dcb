#pragma once
// IEEE binary16 and bfloat16 conversions on the host, as plain bit patterns.
//
// Rounding is to nearest, ties to even, like the GPU's __float2half_rn and __float2bfloat16_rn, so
// the CPU reference (and the host backend) produce the same tensors as the CUDA kernels bit for
// bit. NaN stays NaN: it is made quiet, keeping its sign and its top payload bits, so truncating
// the payload can never turn it into an infinity. (The GPU returns one canonical NaN instead; no
// kernel here feeds NaN into a conversion, so that difference never reaches a tensor.)

#include <bit>
#include <cstdint>

namespace pyn {

[[nodiscard]] constexpr std::uint16_t float_to_half_bits(float value) noexcept {
  const auto bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = (bits >> 16) & 0x8000U;
  const std::uint32_t magnitude = bits & 0x7FFF'FFFFU;

  if (magnitude > 0x7F80'0000U) {
    return static_cast<std::uint16_t>(sign | 0x7E00U | ((magnitude >> 13) & 0x03FFU));
  }
  if (magnitude >= 0x3880'0000U) {  // at least 2^-14: a normal half, or too big for one
    // Adding just under half an ulp, plus the kept lsb, rounds ties to even; a carry out of the
    // mantissa bumps the exponent, which is exactly right, up to and including infinity.
    const std::uint32_t lsb = (magnitude >> 13) & 1U;
    const std::uint32_t rebiased = magnitude - 0x3800'0000U + 0x0FFFU + lsb;
    const std::uint32_t half = rebiased >> 13;
    return static_cast<std::uint16_t>(sign | (half < 0x7C00U ? half : 0x7C00U));
  }
  // Subnormal half: the value in units of 2^-24, rounded. Float subnormals and anything below
  // 2^-25 round to zero.
  const std::uint32_t exponent = magnitude >> 23;
  const std::uint32_t shift = 126U - exponent;
  if (exponent == 0 || shift > 24U) {
    return static_cast<std::uint16_t>(sign);
  }
  const std::uint32_t mantissa = (magnitude & 0x007F'FFFFU) | 0x0080'0000U;
  const std::uint32_t quotient = mantissa >> shift;
  const std::uint32_t remainder = mantissa & ((1U << shift) - 1U);
  const std::uint32_t halfway = 1U << (shift - 1U);
  const bool round_up = remainder > halfway || (remainder == halfway && (quotient & 1U) != 0);
  return static_cast<std::uint16_t>(sign | (quotient + (round_up ? 1U : 0U)));
}

[[nodiscard]] constexpr float half_bits_to_float(std::uint16_t half) noexcept {
  const std::uint32_t sign = (static_cast<std::uint32_t>(half) & 0x8000U) << 16;
  const std::uint32_t exponent = (static_cast<std::uint32_t>(half) >> 10) & 0x1FU;
  std::uint32_t mantissa = static_cast<std::uint32_t>(half) & 0x03FFU;

  if (exponent == 0x1FU) {
    return std::bit_cast<float>(sign | 0x7F80'0000U | (mantissa << 13));
  }
  if (exponent != 0) {
    return std::bit_cast<float>(sign | ((exponent + 112U) << 23) | (mantissa << 13));
  }
  if (mantissa == 0) {
    return std::bit_cast<float>(sign);
  }
  // Subnormal half: every one is a normal float; shift the leading one into the implicit bit.
  std::uint32_t float_exponent = 113U;
  while ((mantissa & 0x0400U) == 0) {
    mantissa <<= 1;
    --float_exponent;
  }
  return std::bit_cast<float>(sign | (float_exponent << 23) | ((mantissa & 0x03FFU) << 13));
}

[[nodiscard]] constexpr std::uint16_t float_to_bf16_bits(float value) noexcept {
  const auto bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7FFF'FFFFU) > 0x7F80'0000U) {
    return static_cast<std::uint16_t>((bits >> 16) | 0x0040U);
  }
  // Same trick as for half: a carry into the exponent is the correct rounding, infinity included.
  const std::uint32_t lsb = (bits >> 16) & 1U;
  return static_cast<std::uint16_t>((bits + 0x7FFFU + lsb) >> 16);
}

[[nodiscard]] constexpr float bf16_bits_to_float(std::uint16_t bf16) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bf16) << 16);
}

}  // namespace pyn
