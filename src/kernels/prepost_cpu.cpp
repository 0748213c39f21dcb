// The CPU reference for pre/post, interleaved and planar. Every step mirrors the CUDA kernels in
// prepost.cu: one fp32 multiply, then a round-to-nearest-even conversion, so the two agree bit for
// bit.

#include <array>
#include <bit>
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

// Planar frames: plane k holds channel k in the frame's order, one sample per pixel.
template <PixelType P>
using PlanarSample = typename detail::PlanarSample<P>::type;

template <PixelType P>
const PlanarSample<P>* planar_row(const detail::ConvertJob& job, std::size_t k, std::size_t y) {
  return reinterpret_cast<const PlanarSample<P>*>(job.plane[k] + y * job.pitch[k]);
}

// The dtype's quiet NaN, which a NaN float sample becomes: the GPU's conversions would give other
// NaNs than the CPU's (kernels/float16.hpp), so both write this one.
template <DType D>
typename Element<D>::Storage quiet_nan() {
  if constexpr (D == DType::f32) {
    return std::bit_cast<float>(0x7fc00000U);
  } else if constexpr (D == DType::f16) {
    return 0x7e00;
  } else {
    return 0x7fc0;
  }
}

template <PixelType P, class Type, DType D>
typename Type::Storage planar_to_tensor(PlanarSample<P> x, float scale, unsigned mask) {
  if constexpr (P == PixelType::f32) {
    return std::isnan(x) ? quiet_nan<D>() : Type::encode(x);
  } else if constexpr (P == PixelType::f16) {
    const float v = half_bits_to_float(x);
    return std::isnan(v) ? quiet_nan<D>() : Type::encode(v);
  } else {
    return Type::encode(static_cast<float>(x & mask) * scale);
  }
}

template <PixelType P, class Type>
PlanarSample<P> planar_to_sample(typename Type::Storage t, float scale) {
  const float v = Type::decode(t);
  if constexpr (P == PixelType::f32) {
    return std::isnan(v) ? std::bit_cast<float>(0x7fc00000U) : v;
  } else if constexpr (P == PixelType::f16) {
    return std::isnan(v) ? std::uint16_t{0x7e00} : float_to_half_bits(v);
  } else {
    return static_cast<PlanarSample<P>>(std::nearbyint(clamp_unit(v) * scale));
  }
}

template <PixelType P, DType D>
void planar_pre_typed(const detail::ConvertJob& job) {
  using Type = Element<D>;
  const ImageDesc& image = job.image;
  auto* out = reinterpret_cast<typename Type::Storage*>(job.tensor);
  const float scale = unit_scale(image);
  const unsigned mask = sample_mask(image);
  const auto plane = planes_of(image.order);
  const auto width = static_cast<std::size_t>(image.width);
  const auto height = static_cast<std::size_t>(image.height);
  for (std::size_t k = 0; k < 3; ++k) {
    typename Type::Storage* channel = out + static_cast<std::int64_t>(plane[k]) * job.c_stride;
    for (std::size_t y = 0; y < height; ++y) {
      const PlanarSample<P>* in = planar_row<P>(job, k, y);
      const std::int64_t row = static_cast<std::int64_t>(y) * job.h_stride;
      for (std::size_t x = 0; x < width; ++x) {
        channel[row + static_cast<std::int64_t>(x) * job.w_stride] =
            planar_to_tensor<P, Type, D>(in[x], scale, mask);
      }
    }
  }
}

template <PixelType P, DType D>
void planar_post_typed(const detail::ConvertJob& job) {
  using Type = Element<D>;
  const ImageDesc& image = job.image;
  const auto* in = reinterpret_cast<const typename Type::Storage*>(job.tensor);
  const float scale = full_scale(image);
  const auto plane = planes_of(image.order);
  const auto width = static_cast<std::size_t>(image.width);
  const auto height = static_cast<std::size_t>(image.height);
  for (std::size_t k = 0; k < 3; ++k) {
    const typename Type::Storage* channel =
        in + static_cast<std::int64_t>(plane[k]) * job.c_stride;
    for (std::size_t y = 0; y < height; ++y) {
      auto* out = const_cast<PlanarSample<P>*>(planar_row<P>(job, k, y));
      const std::int64_t row = static_cast<std::int64_t>(y) * job.h_stride;
      for (std::size_t x = 0; x < width; ++x) {
        out[x] = planar_to_sample<P, Type>(channel[row + static_cast<std::int64_t>(x) * job.w_stride],
                                           scale);
      }
    }
  }
}

}  // namespace

namespace detail {

CpuRun resolve_planar_pre_cpu(PixelType pixel, DType dtype) {
  return visit_planar_types(pixel, dtype, []<PixelType P, DType D>() -> CpuRun {
    return &planar_pre_typed<P, D>;
  });
}

CpuRun resolve_planar_post_cpu(PixelType pixel, DType dtype) {
  return visit_planar_types(pixel, dtype, []<PixelType P, DType D>() -> CpuRun {
    return &planar_post_typed<P, D>;
  });
}

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
  const detail::CpuRun run = image.planar() ? detail::resolve_planar_pre_cpu(image.pixel, dtype)
                                            : detail::resolve_pre_cpu(image.pixel, dtype);
  run(detail::packed_job(image, hwc, nchw));
}

void post_cpu(DType dtype, const void* nchw, const ImageDesc& image, void* hwc) {
  detail::check_prepost_args("post", image, hwc, dtype, nchw);
  const detail::CpuRun run = image.planar() ? detail::resolve_planar_post_cpu(image.pixel, dtype)
                                            : detail::resolve_post_cpu(image.pixel, dtype);
  run(detail::packed_job(image, hwc, nchw));
}

}  // namespace pyn
