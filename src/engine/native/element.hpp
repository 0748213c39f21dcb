#pragma once
// The fp16/bf16 bits of the native engine's tensors on the CPU (its references and the host
// backend), rounded to nearest even as the GPU's stores are.

#include <cstdint>

#include "pynference/kernels/float16.hpp"
#include "pynference/kernels/image.hpp"

namespace pyn::native {

inline float decode(std::uint16_t bits, DType dtype) {
  return dtype == DType::bf16 ? bf16_bits_to_float(bits) : half_bits_to_float(bits);
}

inline std::uint16_t encode(float value, DType dtype) {
  return dtype == DType::bf16 ? float_to_bf16_bits(value) : float_to_half_bits(value);
}

}  // namespace pyn::native
