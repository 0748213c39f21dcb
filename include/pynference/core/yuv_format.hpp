#pragma once
// YUV frames as decoders give them: layout, bit depth, colour matrix and range (no CUDA here; the
// conversions are in kernels/yuv.hpp, which documents the arithmetic). Planar by default (Y, U, V
// planes; samples of more than 8 bits in the low bits of 16, yuv420p10le); hardware decoders give
// semi-planar frames (NV12, P010: Y, then one plane of U and V interleaved) and 16-bit samples with
// their value in the high bits (P010, NVDEC's yuv444p16). Sinks take planar frames: planar_of().

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pynference/core/types.hpp"

namespace pyn {

enum class ChromaLayout : std::uint8_t { yuv420, yuv444 };
// BT.2020 is its non-constant-luminance matrix ("bt2020nc"); constant luminance is no matrix.
enum class ColorMatrix : std::uint8_t { bt601, bt709, bt2020, smpte240m };
enum class ColorRange : std::uint8_t { limited, full };

[[nodiscard]] std::string_view to_string(ChromaLayout layout) noexcept;
[[nodiscard]] std::string_view to_string(ColorMatrix matrix) noexcept;
[[nodiscard]] std::string_view to_string(ColorRange range) noexcept;
// Case-insensitive; besides the to_string names they take FFmpeg's: "420"/"444", "601"/"709",
// "bt2020nc"/"2020", "240m", "tv"/"mpeg" and "pc"/"jpeg". Throw UsageError on unknown names.
[[nodiscard]] ChromaLayout parse_chroma_layout(std::string_view name);
[[nodiscard]] ColorMatrix parse_color_matrix(std::string_view name);
[[nodiscard]] ColorRange parse_color_range(std::string_view name);

struct YuvDesc {
  int width = 0;
  int height = 0;
  ChromaLayout chroma = ChromaLayout::yuv420;
  int bits = 8;  // 8 or 10
  ColorMatrix matrix = ColorMatrix::bt709;
  ColorRange range = ColorRange::limited;
  // Semi-planar: planes[1] holds U and V interleaved (U first), chroma_width() pairs a row;
  // planes[2] is not used.
  bool interleaved_chroma = false;
  // Samples of more than 8 bits in the high bits of 16: the value is sample >> (16 - bits).
  bool msb_aligned = false;

  [[nodiscard]] constexpr std::size_t sample_bytes() const noexcept { return bits > 8 ? 2 : 1; }
  [[nodiscard]] constexpr int subsampling() const noexcept {
    return chroma == ChromaLayout::yuv420 ? 2 : 1;
  }
  [[nodiscard]] constexpr std::size_t chroma_width() const noexcept {
    return static_cast<std::size_t>((width + subsampling() - 1) / subsampling());
  }
  [[nodiscard]] constexpr std::size_t chroma_height() const noexcept {
    return static_cast<std::size_t>((height + subsampling() - 1) / subsampling());
  }
  [[nodiscard]] constexpr std::size_t pixels() const noexcept {
    return static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  }
  [[nodiscard]] constexpr std::size_t y_bytes() const noexcept { return pixels() * sample_bytes(); }
  // One chroma plane, U or V.
  [[nodiscard]] constexpr std::size_t chroma_bytes() const noexcept {
    return chroma_width() * chroma_height() * sample_bytes();
  }
  // Packed layout: Y, U, V (semi-planar: Y, then the interleaved plane, whose V starts one sample
  // after its U).
  [[nodiscard]] constexpr std::size_t u_offset() const noexcept { return y_bytes(); }
  [[nodiscard]] constexpr std::size_t v_offset() const noexcept {
    return interleaved_chroma ? y_bytes() + sample_bytes() : y_bytes() + chroma_bytes();
  }
  [[nodiscard]] constexpr bool planar() const noexcept {
    return !interleaved_chroma && !msb_aligned;
  }
  [[nodiscard]] constexpr std::size_t bytes() const noexcept {
    return y_bytes() + 2 * chroma_bytes();
  }
  friend constexpr bool operator==(const YuvDesc&, const YuvDesc&) = default;
};

// "1920x1080 yuv420 10-bit bt709 limited", for messages; semi-planar and high-bit formats add
// "interleaved-chroma" and "msb-aligned".
[[nodiscard]] std::string to_string(const YuvDesc& desc);

// The planar format of the same samples and colour (yuv420p for NV12, yuv420p10le for P010): what
// a sink takes for a frame decoded in `desc`.
[[nodiscard]] constexpr YuvDesc planar_of(YuvDesc desc) noexcept {
  desc.interleaved_chroma = false;
  desc.msb_aligned = false;
  return desc;
}

[[nodiscard]] constexpr TensorShape tensor_shape_of(const YuvDesc& desc) noexcept {
  return TensorShape{1, 3, desc.height, desc.width};
}

}  // namespace pyn
