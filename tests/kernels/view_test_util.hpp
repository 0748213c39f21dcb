#pragma once
// What the view tests share: frames with a pitch and garbage in the padding, regions that keep to
// the 4:2:0 rules, tensors with strides, and copies of a region or slice to and from the packed
// layouts the packed CPU reference takes.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/prepost_test_util.hpp"
#include "pynference/core/view.hpp"

namespace pyn::test {

constexpr PixelType all_planar_pixels[] = {PixelType::u8, PixelType::u16, PixelType::f16,
                                           PixelType::f32};

// Every interleaved format, every planar RGB one and a 10-bit one, and four YUV formats (layouts and depths, matrix
// and range taking turns).
inline std::vector<FrameFormat> view_formats(int width, int height) {
  std::vector<FrameFormat> formats;
  for (const auto pixel : all_pixels) {
    for (const auto order : all_orders) {
      formats.emplace_back(ImageDesc{width, height, pixel, order});
    }
  }
  for (const auto pixel : all_planar_pixels) {
    for (const auto order : all_orders) {
      formats.emplace_back(ImageDesc{width, height, pixel, order, ImageLayout::planar});
    }
  }
  formats.emplace_back(
      ImageDesc{width, height, PixelType::u16, ChannelOrder::rgb, ImageLayout::planar, 10});
  int turn = 0;
  for (const auto chroma : {ChromaLayout::yuv420, ChromaLayout::yuv444}) {
    for (const int bits : {8, 10}) {
      constexpr ColorMatrix matrices[] = {ColorMatrix::bt601, ColorMatrix::bt709,
                                          ColorMatrix::bt2020, ColorMatrix::smpte240m};
      formats.emplace_back(YuvDesc{width, height, chroma, bits, matrices[turn],
                                   turn % 2 == 0 ? ColorRange::limited : ColorRange::full});
      ++turn;
    }
  }
  return formats;
}

inline bool is_420(const FrameFormat& format) {
  const auto* yuv = std::get_if<YuvDesc>(&format);
  return yuv != nullptr && yuv->chroma == ChromaLayout::yuv420;
}

inline std::vector<unsigned char> random_bytes(std::size_t n, Rng& rng) {
  std::vector<unsigned char> bytes(n);
  for (auto& b : bytes) {
    b = static_cast<unsigned char>(rng.next());
  }
  return bytes;
}

// Where each plane lies in one buffer: a pitch over its row by a random multiple of the sample
// size (0 when `packed`), and random gaps between planes.
struct PlaneLayout {
  std::array<std::size_t, 3> offset{};
  std::array<std::size_t, 3> pitch{};
  std::size_t bytes = 0;

  [[nodiscard]] FramePlanes on(void* base) const {
    FramePlanes planes{};
    for (std::size_t p = 0; p < 3; ++p) {
      planes[p] = {static_cast<std::byte*>(base) + offset[p], pitch[p]};
    }
    return planes;
  }
};

inline PlaneLayout plane_layout(const FrameFormat& format, Rng& rng, bool packed = false) {
  PlaneLayout layout;
  const std::size_t sample = sample_bytes_of(format);
  std::size_t at = 0;
  for (int p = 0; p < plane_count(format); ++p) {
    const auto i = static_cast<std::size_t>(p);
    const std::size_t row = plane_row_bytes(format, p);
    layout.pitch[i] = packed ? row : row + sample * static_cast<std::size_t>(rng.uniform_int(1, 9));
    if (!packed) {
      at += sample * static_cast<std::size_t>(rng.uniform_int(0, 5));
    }
    layout.offset[i] = at;
    at += layout.pitch[i] * static_cast<std::size_t>(plane_rows(format, p));
  }
  layout.bytes = at;
  return layout;
}

// A random region of a width x height frame; for 4:2:0 at even offsets, of even sizes but where
// it reaches the right or bottom edge.
inline Rect random_region(int width, int height, bool even, Rng& rng) {
  const auto axis = [&](int size, int& at, int& length) {
    at = rng.uniform_int(0, size - 1);
    if (even) {
      at &= ~1;
    }
    length = rng.uniform_int(1, size - at);
    if (rng.uniform_int(0, 3) == 0) {
      length = size - at;  // often up to the edge, odd sizes included
    }
    if (even && length % 2 != 0 && at + length != size) {
      ++length;
    }
  };
  Rect r;
  axis(width, r.x, r.width);
  axis(height, r.y, r.height);
  return r;
}

inline FrameFormat region_format(const FrameFormat& format, const Rect& r) {
  return with_size(format, r.width, r.height);
}

// The region's samples in a packed frame of region_format(format, r), and back.
inline std::vector<unsigned char> extract_region(const FrameFormat& format,
                                                 const FramePlanes& planes, const Rect& r) {
  const FrameFormat small = region_format(format, r);
  std::vector<unsigned char> packed(bytes_of(small));
  const FramePlanes to = packed_planes(small, packed.data());
  const std::size_t sample = sample_bytes_of(format);
  for (int p = 0; p < plane_count(format); ++p) {
    const auto i = static_cast<std::size_t>(p);
    const int div = p > 0 && is_420(format) ? 2 : 1;
    const std::size_t column =
        static_cast<std::size_t>(r.x / div) * sample * (plane_count(format) == 1 ? 3 : 1);
    for (int row = 0; row < plane_rows(small, p); ++row) {
      std::memcpy(
          to[i].data + static_cast<std::size_t>(row) * to[i].pitch,
          planes[i].data + static_cast<std::size_t>(r.y / div + row) * planes[i].pitch + column,
          plane_row_bytes(small, p));
    }
  }
  return packed;
}

inline void paste_region(const FrameFormat& format, const FramePlanes& planes, const Rect& r,
                         const std::vector<unsigned char>& packed) {
  const FrameFormat small = region_format(format, r);
  const FramePlanes from = packed_planes(small, packed.data());
  const std::size_t sample = sample_bytes_of(format);
  for (int p = 0; p < plane_count(format); ++p) {
    const auto i = static_cast<std::size_t>(p);
    const int div = p > 0 && is_420(format) ? 2 : 1;
    const std::size_t column =
        static_cast<std::size_t>(r.x / div) * sample * (plane_count(format) == 1 ? 3 : 1);
    for (int row = 0; row < plane_rows(small, p); ++row) {
      std::memcpy(
          planes[i].data + static_cast<std::size_t>(r.y / div + row) * planes[i].pitch + column,
          from[i].data + static_cast<std::size_t>(row) * from[i].pitch, plane_row_bytes(small, p));
    }
  }
}

// Tensor layouts the tests walk through: contiguous, padded rows, planes and batches, and
// channels last (C stride 1, W stride 3).
enum class StrideKind { contiguous, padded, channels_last };
constexpr StrideKind all_stride_kinds[] = {StrideKind::contiguous, StrideKind::padded,
                                           StrideKind::channels_last};

inline TensorStrides strides_for(const TensorShape& s, StrideKind kind, Rng& rng) {
  switch (kind) {
    case StrideKind::contiguous:
      return {};
    case StrideKind::padded: {
      const std::int64_t h = s.w + rng.uniform_int(1, 7);
      const std::int64_t c = h * s.h + rng.uniform_int(0, 9);
      return {c * s.c + rng.uniform_int(1, 9), c, h, 1};
    }
    case StrideKind::channels_last: {
      const std::int64_t h = std::int64_t{3} * s.w;
      return {h * s.h, 1, h, 3};
    }
  }
  return {};
}

inline const char* name_of(StrideKind kind) {
  return kind == StrideKind::contiguous ? "contiguous"
         : kind == StrideKind::padded   ? "padded"
                                        : "channels-last";
}

// Bytes from a view's base to one past its last element.
inline std::size_t span_bytes(const TensorView& t) {
  const TensorStrides s = t.layout();
  const std::int64_t last =
      (t.shape.n - 1) * s.n + (t.shape.c - 1) * s.c + (t.shape.h - 1) * s.h + (t.shape.w - 1) * s.w;
  return static_cast<std::size_t>(last + 1) * bytes_of(t.dtype);
}

// The crop of slice n as a contiguous 1 x 3 x crop.height x crop.width tensor, and back.
inline std::vector<unsigned char> extract_slice(const TensorView& t, int n, const Rect& crop) {
  const std::size_t e = bytes_of(t.dtype);
  const TensorStrides s = t.layout();
  std::vector<unsigned char> out(3 * static_cast<std::size_t>(crop.width * crop.height) * e);
  std::size_t at = 0;
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < crop.height; ++y) {
      for (int x = 0; x < crop.width; ++x) {
        const std::int64_t i = n * s.n + c * s.c + (crop.y + y) * s.h + (crop.x + x) * s.w;
        std::memcpy(out.data() + at, static_cast<const unsigned char*>(t.data) + i * e, e);
        at += e;
      }
    }
  }
  return out;
}

inline void paste_slice(const TensorView& t, int n, const Rect& crop,
                        const std::vector<unsigned char>& packed) {
  const std::size_t e = bytes_of(t.dtype);
  const TensorStrides s = t.layout();
  std::size_t at = 0;
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < crop.height; ++y) {
      for (int x = 0; x < crop.width; ++x) {
        const std::int64_t i = n * s.n + c * s.c + (crop.y + y) * s.h + (crop.x + x) * s.w;
        std::memcpy(static_cast<unsigned char*>(t.data) + i * e, packed.data() + at, e);
        at += e;
      }
    }
  }
}

inline std::string describe(const FrameFormat& format, const Rect& r, DType dtype, StrideKind kind,
                            int n) {
  return to_string(format) + " region " + to_string(r) + " " + std::string(to_string(dtype)) + " " +
         name_of(kind) + " slice " + std::to_string(n);
}

}  // namespace pyn::test
