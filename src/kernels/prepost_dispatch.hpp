#pragma once
// Turns the runtime (pixel type, dtype) pair into template arguments, so the CPU reference and the
// CUDA launchers instantiate the same combinations (six interleaved, twelve planar) and refuse the
// same unknown values.

#include <cstdint>
#include <string>

#include "pynference/device/error.hpp"
#include "pynference/kernels/image.hpp"

namespace pyn::detail {

// Calls f.template operator()<Sample, dtype>(), Sample being the frame's unsigned sample type,
// and returns what it returns.
template <class F>
auto visit_prepost_types(PixelType pixel, DType dtype, F&& f) {
  const auto with_sample = [&]<class Sample>() {
    switch (dtype) {
      case DType::f32:
        return f.template operator()<Sample, DType::f32>();
      case DType::f16:
        return f.template operator()<Sample, DType::f16>();
      case DType::bf16:
        return f.template operator()<Sample, DType::bf16>();
    }
    throw UsageError("unknown dtype " + std::to_string(static_cast<int>(dtype)));
  };
  switch (pixel) {
    case PixelType::u8:
      return with_sample.template operator()<std::uint8_t>();
    case PixelType::u16:
      return with_sample.template operator()<std::uint16_t>();
    case PixelType::f16:
    case PixelType::f32:
      throw UsageError(std::string(to_string(pixel)) +
                       " samples come in planar frames only, not interleaved ones");
  }
  throw UsageError("unknown pixel type " + std::to_string(static_cast<int>(pixel)));
}

// How a planar frame of pixel type P holds a sample: f16 as its bits.
template <PixelType P>
struct PlanarSample {
  using type = std::uint16_t;
};
template <>
struct PlanarSample<PixelType::u8> {
  using type = std::uint8_t;
};
template <>
struct PlanarSample<PixelType::f32> {
  using type = float;
};

// Calls f.template operator()<P, dtype>() for the planar layout's four pixel types.
template <class F>
auto visit_planar_types(PixelType pixel, DType dtype, F&& f) {
  const auto with_pixel = [&]<PixelType P>() {
    switch (dtype) {
      case DType::f32:
        return f.template operator()<P, DType::f32>();
      case DType::f16:
        return f.template operator()<P, DType::f16>();
      case DType::bf16:
        return f.template operator()<P, DType::bf16>();
    }
    throw UsageError("unknown dtype " + std::to_string(static_cast<int>(dtype)));
  };
  switch (pixel) {
    case PixelType::u8:
      return with_pixel.template operator()<PixelType::u8>();
    case PixelType::u16:
      return with_pixel.template operator()<PixelType::u16>();
    case PixelType::f16:
      return with_pixel.template operator()<PixelType::f16>();
    case PixelType::f32:
      return with_pixel.template operator()<PixelType::f32>();
  }
  throw UsageError("unknown pixel type " + std::to_string(static_cast<int>(pixel)));
}

}  // namespace pyn::detail
