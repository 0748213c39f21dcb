// The CPU reference for pre/post. Every step mirrors the CUDA kernels in prepost.cu: one fp32
// multiply, then a round-to-nearest-even conversion, so the two agree bit for bit.

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "convert_job.hpp"
#include "element_cpu.hpp"
#include "prepost_args.hpp"
#include "prepost_dispatch.hpp"
#include "pynference/kernels/prepost.hpp"

namespace pyn {
namespace {

using detail::Element;

// Which tensor plane holds channel k of an interleaved pixel: the tensor is always RGB.
std::array<std::size_t, 3> planes_of(ChannelOrder order) {
  return order == ChannelOrder::bgr ? std::array<std::size_t, 3>{2, 1, 0}
                                    : std::array<std::size_t, 3>{0, 1, 2};
}

template <class Sample>
const Sample* row_of(const detail::ConvertJob& job, std::size_t y) {
  return reinterpret_cast<const Sample*>(job.plane[0] + y * job.pitch[0]);
}

template <class Sample, class Type>
void pre_typed(const detail::ConvertJob& job) {
  const ImageDesc& image = job.image;
  auto* out = reinterpret_cast<typename Type::Storage*>(job.tensor);
  const float scale = unit_scale(image.pixel);
  const auto plane = planes_of(image.order);
  const auto width = static_cast<std::size_t>(image.width);
  const auto height = static_cast<std::size_t>(image.height);
  for (std::size_t y = 0; y < height; ++y) {
    const Sample* in = row_of<Sample>(job, y);
    const std::int64_t row = static_cast<std::int64_t>(y) * job.h_stride;
    for (std::size_t x = 0; x < width; ++x) {
      const std::int64_t at = row + static_cast<std::int64_t>(x) * job.w_stride;
      for (std::size_t k = 0; k < 3; ++k) {
        const float unit = static_cast<float>(in[3 * x + k]) * scale;
        out[static_cast<std::int64_t>(plane[k]) * job.c_stride + at] = Type::encode(unit);
      }
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
void post_typed(const detail::ConvertJob& job) {
  const ImageDesc& image = job.image;
  const auto* in = reinterpret_cast<const typename Type::Storage*>(job.tensor);
  const float scale = full_scale(image.pixel);
  const auto plane = planes_of(image.order);
  const auto width = static_cast<std::size_t>(image.width);
  const auto height = static_cast<std::size_t>(image.height);
  for (std::size_t y = 0; y < height; ++y) {
    auto* out = const_cast<Sample*>(row_of<Sample>(job, y));
    const std::int64_t row = static_cast<std::int64_t>(y) * job.h_stride;
    for (std::size_t x = 0; x < width; ++x) {
      const std::int64_t at = row + static_cast<std::int64_t>(x) * job.w_stride;
      for (std::size_t k = 0; k < 3; ++k) {
        const float v =
            clamp_unit(Type::decode(in[static_cast<std::int64_t>(plane[k]) * job.c_stride + at]));
        const float scaled = v * scale;
        out[3 * x + k] = static_cast<Sample>(std::nearbyint(scaled));
      }
    }
  }
}

}  // namespace

namespace detail {

CpuRun resolve_pre_cpu(PixelType pixel, DType dtype) {
  return visit_prepost_types(pixel, dtype, []<class Sample, DType D>() -> CpuRun {
    return &pre_typed<Sample, Element<D>>;
  });
}

CpuRun resolve_post_cpu(PixelType pixel, DType dtype) {
  return visit_prepost_types(pixel, dtype, []<class Sample, DType D>() -> CpuRun {
    return &post_typed<Sample, Element<D>>;
  });
}

}  // namespace detail

void pre_cpu(const ImageDesc& image, const void* hwc, DType dtype, void* nchw) {
  detail::check_prepost_args("pre", image, hwc, dtype, nchw);
  detail::resolve_pre_cpu(image.pixel, dtype)(detail::packed_job(image, hwc, nchw));
}

void post_cpu(DType dtype, const void* nchw, const ImageDesc& image, void* hwc) {
  detail::check_prepost_args("post", image, hwc, dtype, nchw);
  detail::resolve_post_cpu(image.pixel, dtype)(detail::packed_job(image, hwc, nchw));
}

}  // namespace pyn
