// The CPU reference for the YUV conversions. Every step mirrors the CUDA kernels in yuv.cu: the
// same fp32 operations in the same order (this file is built with -ffp-contract=off, so no
// multiply-add is fused), then round-to-nearest-even conversions, so the two agree bit for bit.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "convert_job.hpp"
#include "element_cpu.hpp"
#include "prepost_dispatch.hpp"
#include "pynference/kernels/yuv.hpp"
#include "yuv_args.hpp"

namespace pyn {
namespace {

using detail::Element;

template <class Sample>
constexpr unsigned sample_mask = sizeof(Sample) == 1 ? 0xFFU : 0x3FFU;

// A sample's code: msb-aligned samples (P010) shifted down first.
template <class Sample>
int code_of(Sample s, unsigned shift) {
  return static_cast<int>((static_cast<unsigned>(s) >> shift) & sample_mask<Sample>);
}

unsigned shift_of(const YuvDesc& desc) {
  return desc.msb_aligned ? static_cast<unsigned>(16 - desc.bits) : 0U;
}

// Row y of plane p; Sample is const for a frame that is read.
template <class Sample>
Sample* row_of(const detail::ConvertJob& job, std::size_t p, std::size_t y) {
  return reinterpret_cast<Sample*>(job.plane[p] + y * job.pitch[p]);
}

// The GPU's __saturatef for the values that occur here (never NaN, never -0).
float saturate(float v) { return v > 0.0F ? (v < 1.0F ? v : 1.0F) : 0.0F; }

// The GPU's clamp of post(): NaN becomes 1. See prepost_cpu.cpp for why not std::fmin/fmax.
float clamp_unit(float v) {
  if (std::isnan(v)) {
    return 1.0F;
  }
  return std::fmax(std::fmin(v, 1.0F), 0.0F);
}

int quantise(float v, int lo, int hi) {
  return std::clamp(static_cast<int>(std::nearbyint(v)), lo, hi);
}

template <class Sample, class Type>
void to_tensor_typed(const detail::ConvertJob& job) {
  const YuvDesc& desc = job.yuv;
  auto* out = reinterpret_cast<typename Type::Storage*>(job.tensor);
  const YuvToRgbCoefficients k = yuv_to_rgb_coefficients(desc);
  const auto width = static_cast<std::size_t>(desc.width);
  const auto height = static_cast<std::size_t>(desc.height);
  const auto sub = static_cast<std::size_t>(desc.subsampling());
  const unsigned shift = shift_of(desc);
  const auto step = static_cast<std::size_t>(job.chroma_step);
  for (std::size_t y = 0; y < height; ++y) {
    const Sample* luma_row = row_of<const Sample>(job, 0, y);
    const Sample* u_row = row_of<const Sample>(job, 1, y / sub);
    const Sample* v_row = row_of<const Sample>(job, 2, y / sub);
    for (std::size_t x = 0; x < width; ++x) {
      const std::size_t c = x / sub * step;
      const int luma_code = code_of(luma_row[x], shift);
      const auto u = static_cast<float>(code_of(u_row[c], shift) - k.c_offset);
      const auto v = static_cast<float>(code_of(v_row[c], shift) - k.c_offset);
      const float red_term = k.r_v * v;
      const float green_u = k.g_u * u;
      const float green_v = k.g_v * v;
      const float green_term = green_u + green_v;
      const float blue_term = k.b_u * u;
      const float luma = k.y_scale * static_cast<float>(luma_code - k.y_offset);
      const std::int64_t i =
          static_cast<std::int64_t>(y) * job.h_stride + static_cast<std::int64_t>(x) * job.w_stride;
      out[i] = Type::encode(saturate(luma + red_term));
      out[job.c_stride + i] = Type::encode(saturate(luma + green_term));
      out[2 * job.c_stride + i] = Type::encode(saturate(luma + blue_term));
    }
  }
}

struct Rgb {
  float r, g, b;
};

template <class Sample, class Type>
void to_yuv_typed(const detail::ConvertJob& job) {
  const YuvDesc& desc = job.yuv;
  const auto* in = reinterpret_cast<const typename Type::Storage*>(job.tensor);
  const RgbToYuvCoefficients k = rgb_to_yuv_coefficients(desc);
  const auto width = static_cast<std::size_t>(desc.width);
  const auto height = static_cast<std::size_t>(desc.height);
  const auto rgb_at = [&](std::size_t x, std::size_t y) {
    const std::int64_t i =
        static_cast<std::int64_t>(y) * job.h_stride + static_cast<std::int64_t>(x) * job.w_stride;
    return Rgb{clamp_unit(Type::decode(in[i])), clamp_unit(Type::decode(in[job.c_stride + i])),
               clamp_unit(Type::decode(in[2 * job.c_stride + i]))};
  };

  for (std::size_t y = 0; y < height; ++y) {
    Sample* luma_row = row_of<Sample>(job, 0, y);
    for (std::size_t x = 0; x < width; ++x) {
      const Rgb p = rgb_at(x, y);
      const float luma = ((k.y_r * p.r + k.y_g * p.g) + k.y_b * p.b) + k.y_offset;
      luma_row[x] = static_cast<Sample>(quantise(luma, k.y_min, k.y_max));
    }
  }

  const auto sub = static_cast<std::size_t>(desc.subsampling());
  const std::size_t chroma_width = desc.chroma_width();
  const std::size_t chroma_height = desc.chroma_height();
  for (std::size_t cy = 0; cy < chroma_height; ++cy) {
    Sample* u_row = row_of<Sample>(job, 1, cy);
    Sample* v_row = row_of<Sample>(job, 2, cy);
    for (std::size_t cx = 0; cx < chroma_width; ++cx) {
      // Sum each row left to right, then the rows top to bottom; the GPU adds in the same order.
      const std::size_t x0 = cx * sub;
      const std::size_t y0 = cy * sub;
      const std::size_t columns = std::min(sub, width - x0);
      const std::size_t rows = std::min(sub, height - y0);
      Rgb sum{};
      for (std::size_t r = 0; r < rows; ++r) {
        Rgb row = rgb_at(x0, y0 + r);
        if (columns == 2) {
          const Rgb right = rgb_at(x0 + 1, y0 + r);
          row = {row.r + right.r, row.g + right.g, row.b + right.b};
        }
        sum = r == 0 ? row : Rgb{sum.r + row.r, sum.g + row.g, sum.b + row.b};
      }
      const std::size_t n = rows * columns;
      const float inverse = n == 4 ? 0.25F : n == 2 ? 0.5F : 1.0F;
      const Rgb mean{sum.r * inverse, sum.g * inverse, sum.b * inverse};
      const float u = ((k.u_r * mean.r + k.u_g * mean.g) + k.u_b * mean.b) + k.c_offset;
      const float v = ((k.v_r * mean.r + k.v_g * mean.g) + k.v_b * mean.b) + k.c_offset;
      u_row[cx] = static_cast<Sample>(quantise(u, k.c_min, k.c_max));
      v_row[cx] = static_cast<Sample>(quantise(v, k.c_min, k.c_max));
    }
  }
}

PixelType sample_type(const YuvDesc& desc) {
  return desc.sample_bytes() == 1 ? PixelType::u8 : PixelType::u16;
}

}  // namespace

namespace detail {

CpuRun resolve_yuv_to_tensor_cpu(const YuvDesc& desc, DType dtype) {
  return visit_prepost_types(sample_type(desc), dtype, []<class Sample, DType D>() -> CpuRun {
    return &to_tensor_typed<Sample, Element<D>>;
  });
}

CpuRun resolve_tensor_to_yuv_cpu(const YuvDesc& desc, DType dtype) {
  return visit_prepost_types(sample_type(desc), dtype, []<class Sample, DType D>() -> CpuRun {
    return &to_yuv_typed<Sample, Element<D>>;
  });
}

}  // namespace detail

void yuv_to_tensor_cpu(const YuvDesc& desc, const void* yuv, DType dtype, void* nchw) {
  detail::check_planar("yuv_to_tensor", desc);
  detail::check_yuv_args("yuv_to_tensor", desc, yuv, dtype, nchw);
  detail::resolve_yuv_to_tensor_cpu(desc, dtype)(detail::packed_job(desc, yuv, nchw));
}

void tensor_to_yuv_cpu(DType dtype, const void* nchw, const YuvDesc& desc, void* yuv) {
  detail::check_planar("tensor_to_yuv", desc);
  detail::check_yuv_args("tensor_to_yuv", desc, yuv, dtype, nchw);
  detail::resolve_tensor_to_yuv_cpu(desc, dtype)(detail::packed_job(desc, yuv, nchw));
}

}  // namespace pyn
