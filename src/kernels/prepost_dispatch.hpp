#pragma once
// Turns the runtime (pixel type, dtype) pair into template arguments, so the CPU reference and the
// CUDA launchers instantiate the same six combinations and refuse the same unknown values.

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
  }
  throw UsageError("unknown pixel type " + std::to_string(static_cast<int>(pixel)));
}

}  // namespace pyn::detail
