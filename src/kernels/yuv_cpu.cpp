// The CPU reference for the YUV conversions. Every step mirrors the CUDA kernels in yuv.cu: the
// same fp32 operations in the same order (this file is built with -ffp-contract=off, so no
// multiply-add is fused), then round-to-nearest-even conversions, so the two agree bit for bit.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "prepost_dispatch.hpp"
#include "element_cpu.hpp"
#include "pynference/kernels/yuv.hpp"
#include "yuv_args.hpp"

namespace pyn {
namespace {

using detail::Element;

template <class Sample>
constexpr unsigned sample_mask = sizeof(Sample) == 1 ? 0xFFU : 0x3FFU;

template <class T>
struct Planes {
  T* plane[3];
};

// Sample is const for a frame that is read.
template <class Sample>
Planes<Sample> yuv_planes(std::conditional_t<std::is_const_v<Sample>, const void*, void*> yuv,
                          const YuvDesc& desc) {
  using Byte = std::conditional_t<std::is_const_v<Sample>, const unsigned char, unsigned char>;
  auto* bytes = static_cast<Byte*>(yuv);
  return {{reinterpret_cast<Sample*>(bytes), reinterpret_cast<Sample*>(bytes + desc.u_offset()),
           reinterpret_cast<Sample*>(bytes + desc.v_offset())}};
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
void to_tensor_typed(const YuvDesc& desc, const void* yuv, void* nchw) {
  const auto in = yuv_planes<const Sample>(yuv, desc);
  auto* out = static_cast<typename Type::Storage*>(nchw);
  const YuvToRgbCoefficients k = yuv_to_rgb_coefficients(desc);
  const auto width = static_cast<std::size_t>(desc.width);
  const auto height = static_cast<std::size_t>(desc.height);
  const std::size_t pixels = desc.pixels();
  const auto sub = static_cast<std::size_t>(desc.subsampling());
  const std::size_t chroma_width = desc.chroma_width();
  for (std::size_t y = 0; y < height; ++y) {
    for (std::size_t x = 0; x < width; ++x) {
      const std::size_t c = (y / sub) * chroma_width + x / sub;
      const auto luma_code = static_cast<int>(in.plane[0][y * width + x] & sample_mask<Sample>);
      const auto u =
          static_cast<float>(static_cast<int>(in.plane[1][c] & sample_mask<Sample>) - k.c_offset);
      const auto v =
          static_cast<float>(static_cast<int>(in.plane[2][c] & sample_mask<Sample>) - k.c_offset);
      const float red_term = k.r_v * v;
      const float green_u = k.g_u * u;
      const float green_v = k.g_v * v;
      const float green_term = green_u + green_v;
      const float blue_term = k.b_u * u;
      const float luma = k.y_scale * static_cast<float>(luma_code - k.y_offset);
      const std::size_t i = y * width + x;
      out[i] = Type::encode(saturate(luma + red_term));
      out[pixels + i] = Type::encode(saturate(luma + green_term));
      out[2 * pixels + i] = Type::encode(saturate(luma + blue_term));
    }
  }
}

struct Rgb {
  float r, g, b;
};

template <class Sample, class Type>
void to_yuv_typed(const void* nchw, const YuvDesc& desc, void* yuv) {
  const auto* in = static_cast<const typename Type::Storage*>(nchw);
  const auto out = yuv_planes<Sample>(yuv, desc);
  const RgbToYuvCoefficients k = rgb_to_yuv_coefficients(desc);
  const auto width = static_cast<std::size_t>(desc.width);
  const auto height = static_cast<std::size_t>(desc.height);
  const std::size_t pixels = desc.pixels();
  const auto rgb_at = [&](std::size_t x, std::size_t y) {
    const std::size_t i = y * width + x;
    return Rgb{clamp_unit(Type::decode(in[i])), clamp_unit(Type::decode(in[pixels + i])),
               clamp_unit(Type::decode(in[2 * pixels + i]))};
  };

  for (std::size_t y = 0; y < height; ++y) {
    for (std::size_t x = 0; x < width; ++x) {
      const Rgb p = rgb_at(x, y);
      const float luma = ((k.y_r * p.r + k.y_g * p.g) + k.y_b * p.b) + k.y_offset;
      out.plane[0][y * width + x] = static_cast<Sample>(quantise(luma, k.y_min, k.y_max));
    }
  }

  const auto sub = static_cast<std::size_t>(desc.subsampling());
  const std::size_t chroma_width = desc.chroma_width();
  const std::size_t chroma_height = desc.chroma_height();
  for (std::size_t cy = 0; cy < chroma_height; ++cy) {
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
      const std::size_t c = cy * chroma_width + cx;
      out.plane[1][c] = static_cast<Sample>(quantise(u, k.c_min, k.c_max));
      out.plane[2][c] = static_cast<Sample>(quantise(v, k.c_min, k.c_max));
    }
  }
}

PixelType sample_type(const YuvDesc& desc) {
  return desc.sample_bytes() == 1 ? PixelType::u8 : PixelType::u16;
}

}  // namespace

void yuv_to_tensor_cpu(const YuvDesc& desc, const void* yuv, DType dtype, void* nchw) {
  detail::check_yuv_args("yuv_to_tensor", desc, yuv, dtype, nchw);
  detail::visit_prepost_types(sample_type(desc), dtype, [&]<class Sample, DType D>() {
    to_tensor_typed<Sample, Element<D>>(desc, yuv, nchw);
  });
}

void tensor_to_yuv_cpu(DType dtype, const void* nchw, const YuvDesc& desc, void* yuv) {
  detail::check_yuv_args("tensor_to_yuv", desc, yuv, dtype, nchw);
  detail::visit_prepost_types(sample_type(desc), dtype, [&]<class Sample, DType D>() {
    to_yuv_typed<Sample, Element<D>>(nchw, desc, yuv);
  });
}

}  // namespace pyn
