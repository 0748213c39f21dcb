#include "planes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <variant>

#include "pynference/core/error.hpp"
#include "pynference/kernels/float16.hpp"

namespace pyn::vs {
namespace {

template <typename T>
void interleave(const ImageDesc& desc, const std::array<ConstPlane, 3>& planes, std::byte* out) {
  auto* dst = reinterpret_cast<T*>(out);
  for (int y = 0; y < desc.height; ++y) {
    const std::array<const T*, 3> rows = {
        reinterpret_cast<const T*>(planes[0].data + y * planes[0].stride),
        reinterpret_cast<const T*>(planes[1].data + y * planes[1].stride),
        reinterpret_cast<const T*>(planes[2].data + y * planes[2].stride)};
    for (int x = 0; x < desc.width; ++x) {
      *dst++ = rows[0][x];
      *dst++ = rows[1][x];
      *dst++ = rows[2][x];
    }
  }
}

template <typename T>
void deinterleave(const ImageDesc& desc, const std::byte* in, const std::array<Plane, 3>& planes) {
  const auto* src = reinterpret_cast<const T*>(in);
  for (int y = 0; y < desc.height; ++y) {
    const std::array<T*, 3> rows = {reinterpret_cast<T*>(planes[0].data + y * planes[0].stride),
                                    reinterpret_cast<T*>(planes[1].data + y * planes[1].stride),
                                    reinterpret_cast<T*>(planes[2].data + y * planes[2].stride)};
    for (int x = 0; x < desc.width; ++x) {
      rows[0][x] = *src++;
      rows[1][x] = *src++;
      rows[2][x] = *src++;
    }
  }
}

std::uint16_t code_of(float x) {
  if (!(x > 0.0F)) {  // NaN too
    return 0;
  }
  return static_cast<std::uint16_t>(std::nearbyint(std::min(x, 1.0F) * 65535.0F));
}

// Float RGB planes to interleaved 16-bit codes, and back.
template <typename Load>
void interleave_float(const ImageDesc& desc, const std::array<ConstPlane, 3>& planes,
                      std::size_t sample_bytes, Load load, std::byte* out) {
  auto* dst = reinterpret_cast<std::uint16_t*>(out);
  for (int y = 0; y < desc.height; ++y) {
    for (int x = 0; x < desc.width; ++x) {
      for (const ConstPlane& plane : planes) {
        *dst++ =
            code_of(load(plane.data + y * plane.stride +
                         static_cast<std::ptrdiff_t>(static_cast<std::size_t>(x) * sample_bytes)));
      }
    }
  }
}

template <typename Store>
void deinterleave_float(const ImageDesc& desc, const std::byte* in,
                        const std::array<Plane, 3>& planes, std::size_t sample_bytes, Store store) {
  const auto* src = reinterpret_cast<const std::uint16_t*>(in);
  for (int y = 0; y < desc.height; ++y) {
    for (int x = 0; x < desc.width; ++x) {
      for (const Plane& plane : planes) {
        store(plane.data + y * plane.stride +
                  static_cast<std::ptrdiff_t>(static_cast<std::size_t>(x) * sample_bytes),
              static_cast<float>(*src++) / 65535.0F);
      }
    }
  }
}

float load_f32(const std::byte* at) { return *reinterpret_cast<const float*>(at); }
float load_f16(const std::byte* at) {
  return half_bits_to_float(*reinterpret_cast<const std::uint16_t*>(at));
}
void store_f32(std::byte* at, float x) { *reinterpret_cast<float*>(at) = x; }
void store_f16(std::byte* at, float x) {
  *reinterpret_cast<std::uint16_t*>(at) = float_to_half_bits(x);
}

const ImageDesc& float_frame(const FrameFormat& format) {
  const auto* image = std::get_if<ImageDesc>(&format);
  if (image == nullptr || image->pixel != PixelType::u16) {
    throw Error("float samples travel as 16-bit RGB, not as " + to_string(format));
  }
  return *image;
}

// Rows of each YUV plane, its packed row length and its row count.
struct PlaneShape {
  std::size_t row_bytes;
  std::size_t rows;
};

std::array<PlaneShape, 3> yuv_planes(const YuvDesc& desc) {
  const std::size_t luma = static_cast<std::size_t>(desc.width) * desc.sample_bytes();
  const std::size_t chroma = desc.chroma_width() * desc.sample_bytes();
  return {PlaneShape{luma, static_cast<std::size_t>(desc.height)},
          PlaneShape{chroma, desc.chroma_height()}, PlaneShape{chroma, desc.chroma_height()}};
}

void check_size(const FrameFormat& format, std::size_t bytes) {
  if (bytes != bytes_of(format)) {
    throw Error("a packed frame of " + to_string(format) + " is " +
                std::to_string(bytes_of(format)) + " bytes, not " + std::to_string(bytes));
  }
}

}  // namespace

void pack(const FrameFormat& format, const std::array<ConstPlane, 3>& planes,
          std::span<std::byte> packed, Samples samples) {
  check_size(format, packed.size());
  if (samples == Samples::f32) {
    interleave_float(float_frame(format), planes, 4, load_f32, packed.data());
    return;
  }
  if (samples == Samples::f16) {
    interleave_float(float_frame(format), planes, 2, load_f16, packed.data());
    return;
  }
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    if (image->pixel == PixelType::u8) {
      interleave<std::uint8_t>(*image, planes, packed.data());
    } else {
      interleave<std::uint16_t>(*image, planes, packed.data());
    }
    return;
  }
  std::byte* out = packed.data();
  const std::array<PlaneShape, 3> shapes = yuv_planes(std::get<YuvDesc>(format));
  for (std::size_t p = 0; p < shapes.size(); ++p) {
    for (std::size_t y = 0; y < shapes[p].rows; ++y) {
      std::memcpy(out, planes[p].data + static_cast<std::ptrdiff_t>(y) * planes[p].stride,
                  shapes[p].row_bytes);
      out += shapes[p].row_bytes;
    }
  }
}

void unpack(const FrameFormat& format, std::span<const std::byte> packed,
            const std::array<Plane, 3>& planes, Samples samples) {
  check_size(format, packed.size());
  if (samples == Samples::f32) {
    deinterleave_float(float_frame(format), packed.data(), planes, 4, store_f32);
    return;
  }
  if (samples == Samples::f16) {
    deinterleave_float(float_frame(format), packed.data(), planes, 2, store_f16);
    return;
  }
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    if (image->pixel == PixelType::u8) {
      deinterleave<std::uint8_t>(*image, packed.data(), planes);
    } else {
      deinterleave<std::uint16_t>(*image, packed.data(), planes);
    }
    return;
  }
  const std::byte* in = packed.data();
  const std::array<PlaneShape, 3> shapes = yuv_planes(std::get<YuvDesc>(format));
  for (std::size_t p = 0; p < shapes.size(); ++p) {
    for (std::size_t y = 0; y < shapes[p].rows; ++y) {
      std::memcpy(planes[p].data + static_cast<std::ptrdiff_t>(y) * planes[p].stride, in,
                  shapes[p].row_bytes);
      in += shapes[p].row_bytes;
    }
  }
}

}  // namespace pyn::vs
