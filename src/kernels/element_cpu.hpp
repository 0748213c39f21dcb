#pragma once
// Storage type and conversions of one tensor dtype on the CPU, shared by the CPU references. The
// conversions round to nearest even, as the GPU's __float2half_rn and __float2bfloat16_rn do.

#include <cstdint>

#include "pynference/kernels/float16.hpp"
#include "pynference/kernels/image.hpp"

namespace pyn::detail {

template <DType>
struct Element;
template <>
struct Element<DType::f32> {
  using Storage = float;
  static float encode(float v) { return v; }
  static float decode(float s) { return s; }
};
template <>
struct Element<DType::f16> {
  using Storage = std::uint16_t;
  static std::uint16_t encode(float v) { return float_to_half_bits(v); }
  static float decode(std::uint16_t s) { return half_bits_to_float(s); }
};
template <>
struct Element<DType::bf16> {
  using Storage = std::uint16_t;
  static std::uint16_t encode(float v) { return float_to_bf16_bits(v); }
  static float decode(std::uint16_t s) { return bf16_bits_to_float(s); }
};

}  // namespace pyn::detail
