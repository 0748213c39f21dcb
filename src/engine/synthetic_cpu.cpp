#include <cstdint>

#include "pynference/engine/synthetic.hpp"
#include "pynference/kernels/float16.hpp"

namespace pyn {

namespace {

float load(DType dtype, const void* data, std::size_t i) {
  switch (dtype) {
    case DType::f32:
      return static_cast<const float*>(data)[i];
    case DType::f16:
      return half_bits_to_float(static_cast<const std::uint16_t*>(data)[i]);
    case DType::bf16:
      return bf16_bits_to_float(static_cast<const std::uint16_t*>(data)[i]);
  }
  return 0.0F;
}

void store(DType dtype, void* data, std::size_t i, float value) {
  switch (dtype) {
    case DType::f32:
      static_cast<float*>(data)[i] = value;
      break;
    case DType::f16:
      static_cast<std::uint16_t*>(data)[i] = float_to_half_bits(value);
      break;
    case DType::bf16:
      static_cast<std::uint16_t*>(data)[i] = float_to_bf16_bits(value);
      break;
  }
}

}  // namespace

void synthetic_cpu(const TensorView& in, const TensorView& out, int scale) {
  const auto s = static_cast<std::size_t>(scale);
  const auto in_h = static_cast<std::size_t>(in.shape.h);
  const auto in_w = static_cast<std::size_t>(in.shape.w);
  const auto out_h = in_h * s;
  const auto out_w = in_w * s;
  const auto planes = static_cast<std::size_t>(in.shape.n) * static_cast<std::size_t>(in.shape.c);
  for (std::size_t p = 0; p < planes; ++p) {
    for (std::size_t y = 0; y < out_h; ++y) {
      const std::size_t src_row = (p * in_h + y / s) * in_w;
      const std::size_t dst_row = (p * out_h + y) * out_w;
      for (std::size_t x = 0; x < out_w; ++x) {
        store(out.dtype, out.data, dst_row + x, 1.0F - load(in.dtype, in.data, src_row + x / s));
      }
    }
  }
}

}  // namespace pyn
