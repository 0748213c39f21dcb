#pragma once
// Pixel and tensor vocabulary shared by every layer (no CUDA here).
//
// An interleaved frame (HWC) is height rows of width pixels of 3 channels, 8 or 16 bit; a planar
// one (ImageLayout::planar, as VapourSynth keeps RGB) is three planes of width x height samples,
// one per channel in the frame's channel order, of 8 or 16-bit integers (u16 planes may hold
// fewer significant bits: ImageDesc::bits) or 16 or 32-bit floats. Packed, rows have no padding
// and a planar frame's planes follow each other (core/view.hpp describes frames with a pitch).
// A tensor is planar (NCHW, C = 3, RGB order) in fp32, fp16 or bf16 with values in [0, 1]: a
// TensorView has a shape and strides in elements, contiguous NCHW unless it says otherwise, and
// slice(n) is one of its N.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pyn {

// Integer samples are codes of [0, 1] (x / 255, x / 65535); float samples (planar frames only)
// are the values themselves.
enum class PixelType : std::uint8_t { u8, u16, f16, f32 };
enum class ChannelOrder : std::uint8_t { rgb, bgr };
enum class ImageLayout : std::uint8_t { interleaved, planar };
enum class DType : std::uint8_t { f32, f16, bf16 };

[[nodiscard]] constexpr std::size_t bytes_of(PixelType t) noexcept {
  return t == PixelType::u8 ? 1 : t == PixelType::f32 ? 4 : 2;
}
[[nodiscard]] constexpr bool is_float(PixelType t) noexcept {
  return t == PixelType::f16 || t == PixelType::f32;
}
[[nodiscard]] constexpr std::size_t bytes_of(DType t) noexcept { return t == DType::f32 ? 4 : 2; }

[[nodiscard]] std::string_view to_string(PixelType t) noexcept;
[[nodiscard]] std::string_view to_string(ChannelOrder o) noexcept;
[[nodiscard]] std::string_view to_string(ImageLayout l) noexcept;
[[nodiscard]] std::string_view to_string(DType t) noexcept;
// Throw UsageError on unknown names.
[[nodiscard]] DType parse_dtype(std::string_view name);
[[nodiscard]] PixelType parse_pixel_type(std::string_view name);

struct ImageDesc {
  int width = 0;
  int height = 0;
  PixelType pixel = PixelType::u8;
  ChannelOrder order = ChannelOrder::rgb;
  ImageLayout layout = ImageLayout::interleaved;
  // The significant low bits of a planar frame's u16 samples, 9 to 15 (RGB30 has 10); 0: all of
  // the sample type's. Codes are of (2^bits - 1), and bits above them are ignored on the way in.
  int bits = 0;

  static constexpr int channels = 3;
  [[nodiscard]] constexpr std::size_t pixels() const noexcept {
    return static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  }
  [[nodiscard]] constexpr bool planar() const noexcept { return layout == ImageLayout::planar; }
  // One row of all three channels: of a planar frame, a row of each plane together.
  [[nodiscard]] constexpr std::size_t row_bytes() const noexcept {
    return static_cast<std::size_t>(width) * channels * bytes_of(pixel);
  }
  [[nodiscard]] constexpr std::size_t bytes() const noexcept {
    return row_bytes() * static_cast<std::size_t>(height);
  }
  friend constexpr bool operator==(const ImageDesc&, const ImageDesc&) = default;
};

struct TensorShape {
  int n = 1;
  int c = 3;
  int h = 0;
  int w = 0;
  [[nodiscard]] constexpr std::size_t elements() const noexcept {
    return static_cast<std::size_t>(n) * static_cast<std::size_t>(c) * static_cast<std::size_t>(h) *
           static_cast<std::size_t>(w);
  }
  friend constexpr bool operator==(const TensorShape&, const TensorShape&) = default;
};

[[nodiscard]] constexpr TensorShape tensor_shape_of(const ImageDesc& image) noexcept {
  return TensorShape{1, ImageDesc::channels, image.height, image.width};
}

// Elements from one index to the next along each axis.
struct TensorStrides {
  std::int64_t n = 0;
  std::int64_t c = 0;
  std::int64_t h = 0;
  std::int64_t w = 0;
  friend constexpr bool operator==(const TensorStrides&, const TensorStrides&) = default;
};

[[nodiscard]] constexpr TensorStrides contiguous_strides(const TensorShape& s) noexcept {
  const std::int64_t w = 1;
  const std::int64_t h = s.w;
  const std::int64_t c = h * s.h;
  return {c * s.c, c, h, w};
}

// A tensor in device (or, on the host backend, host) memory; it does not own the data. Strides
// left all zero (as `TensorView{data, shape, dtype}` leaves them) mean contiguous NCHW.
struct TensorView {
  void* data = nullptr;
  TensorShape shape;
  DType dtype = DType::f16;
  TensorStrides strides{};

  // The strides in effect.
  [[nodiscard]] constexpr TensorStrides layout() const noexcept {
    return strides == TensorStrides{} ? contiguous_strides(shape) : strides;
  }
  [[nodiscard]] constexpr bool contiguous() const noexcept {
    const TensorStrides s = layout();
    const TensorStrides packed = contiguous_strides(shape);
    // The N stride of a single slice never matters.
    return s.c == packed.c && s.h == packed.h && s.w == packed.w &&
           (shape.n == 1 || s.n == packed.n);
  }
  // Bytes of a contiguous tensor of this shape.
  [[nodiscard]] constexpr std::size_t bytes() const noexcept {
    return shape.elements() * bytes_of(dtype);
  }
  // Batch n, 0 <= n < shape.n (unchecked), as an N = 1 view with the same strides.
  [[nodiscard]] constexpr TensorView slice(int n) const noexcept {
    const TensorStrides s = layout();
    auto* base = static_cast<unsigned char*>(data);
    return {base == nullptr ? nullptr
                            : base + static_cast<std::ptrdiff_t>(n) * s.n *
                                         static_cast<std::ptrdiff_t>(bytes_of(dtype)),
            TensorShape{1, shape.c, shape.h, shape.w}, dtype, s};
  }
};

}  // namespace pyn
