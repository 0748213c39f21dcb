#include <cstddef>
#include <cstdint>

#include "element.hpp"
#include "layout.hpp"

namespace pyn::native {

void head_cpu(const HeadArgs& a) {
  const auto* in = static_cast<const std::uint16_t*>(a.in);
  auto* out = static_cast<std::uint16_t*>(a.out);
  const std::size_t pixels = static_cast<std::size_t>(a.h) * a.w;
  for (int image = 0; image < a.n; ++image) {
    for (std::size_t p = 0; p < pixels; ++p) {
      for (int c = 0; c < a.padded_c; ++c) {
        out[(image * pixels + p) * a.padded_c + c] =
            c < a.c ? in[(static_cast<std::size_t>(image) * a.c + c) * pixels + p] : 0;
      }
    }
  }
}

void tail_cpu(const TailArgs& a) {
  const auto* features = static_cast<const std::uint16_t*>(a.features);
  const auto* skip = static_cast<const std::uint16_t*>(a.skip);
  auto* out = static_cast<std::uint16_t*>(a.out);
  const int s = a.scale;
  const int oh = a.h * s;
  const int ow = a.w * s;
  const std::size_t pixels = static_cast<std::size_t>(a.h) * a.w;
  for (int image = 0; image < a.n; ++image) {
    for (int c = 0; c < a.c; ++c) {
      for (int y = 0; y < oh; ++y) {
        for (int x = 0; x < ow; ++x) {
          const std::size_t p = image * pixels + static_cast<std::size_t>(y / s) * a.w + x / s;
          const int k = c * s * s + (y % s) * s + x % s;
          float v = decode(features[p * a.feature_c + k], a.dtype);
          if (skip != nullptr) {
            v += decode(skip[(static_cast<std::size_t>(image) * a.c + c) * pixels + (p - image * pixels)],
                        a.dtype);
          }
          out[((static_cast<std::size_t>(image) * a.c + c) * oh + y) * ow + x] = encode(v, a.dtype);
        }
      }
    }
  }
}

}  // namespace pyn::native
