// The CPU reference for pre/post. Every step mirrors the CUDA kernels in prepost.cu: one fp32
// multiply, then a round-to-nearest-even conversion, so the two agree bit for bit.

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "prepost_args.hpp"
#include "prepost_dispatch.hpp"
#include "element_cpu.hpp"
#include "pynference/kernels/prepost.hpp"

namespace pyn {
namespace {

using detail::Element;

// Which tensor plane holds channel k of an interleaved pixel: the tensor is always RGB.
std::array<std::size_t, 3> planes_of(ChannelOrder order) {
  return order == ChannelOrder::bgr ? std::array<std::size_t, 3>{2, 1, 0}
                                    : std::array<std::size_t, 3>{0, 1, 2};
}

template <class Sample, class Type>
void pre_typed(const ImageDesc& image, const void* hwc, void* nchw) {
  const auto* in = static_cast<const Sample*>(hwc);
  auto* out = static_cast<typename Type::Storage*>(nchw);
  const std::size_t pixels = image.pixels();
  const float scale = unit_scale(image.pixel);
  const auto plane = planes_of(image.order);
  for (std::size_t i = 0; i < pixels; ++i) {
    for (std::size_t k = 0; k < 3; ++k) {
      const float unit = static_cast<float>(in[3 * i + k]) * scale;
      out[plane[k] * pixels + i] = Type::encode(unit);
    }
  }
}

// The GPU's fmaxf(fminf(v, 1), 0): a NaN argument yields the other one, so any NaN becomes 1.
// Spelled out because std::fmin returns NaN for a signaling NaN (glibc follows IEEE 754-2008
// minNum there), and f16/bf16 tensors hold signaling NaNs as easily as quiet ones.
float clamp_unit(float v) {
  if (std::isnan(v)) {
    return 1.0F;
  }
  return std::fmax(std::fmin(v, 1.0F), 0.0F);
}

template <class Sample, class Type>
void post_typed(const void* nchw, const ImageDesc& image, void* hwc) {
  const auto* in = static_cast<const typename Type::Storage*>(nchw);
  auto* out = static_cast<Sample*>(hwc);
  const std::size_t pixels = image.pixels();
  const float scale = full_scale(image.pixel);
  const auto plane = planes_of(image.order);
  for (std::size_t i = 0; i < pixels; ++i) {
    for (std::size_t k = 0; k < 3; ++k) {
      const float v = clamp_unit(Type::decode(in[plane[k] * pixels + i]));
      const float scaled = v * scale;
      out[3 * i + k] = static_cast<Sample>(std::nearbyint(scaled));
    }
  }
}

}  // namespace

void pre_cpu(const ImageDesc& image, const void* hwc, DType dtype, void* nchw) {
  detail::check_prepost_args("pre", image, hwc, dtype, nchw);
  detail::visit_prepost_types(image.pixel, dtype, [&]<class Sample, DType D>() {
    pre_typed<Sample, Element<D>>(image, hwc, nchw);
  });
}

void post_cpu(DType dtype, const void* nchw, const ImageDesc& image, void* hwc) {
  detail::check_prepost_args("post", image, hwc, dtype, nchw);
  detail::visit_prepost_types(image.pixel, dtype, [&]<class Sample, DType D>() {
    post_typed<Sample, Element<D>>(nchw, image, hwc);
  });
}

}  // namespace pyn
