#pragma once
// Planar YUV frames as decoders give them: layout, bit depth, colour matrix and range (no CUDA
// here; the conversions are in kernels/yuv.hpp, which documents the arithmetic).

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
  [[nodiscard]] constexpr std::size_t u_offset() const noexcept { return y_bytes(); }
  [[nodiscard]] constexpr std::size_t v_offset() const noexcept {
    return y_bytes() + chroma_bytes();
  }
  [[nodiscard]] constexpr std::size_t bytes() const noexcept {
    return y_bytes() + 2 * chroma_bytes();
  }
  friend constexpr bool operator==(const YuvDesc&, const YuvDesc&) = default;
};

// "1920x1080 yuv420 10-bit bt709 limited", for messages.
[[nodiscard]] std::string to_string(const YuvDesc& desc);

[[nodiscard]] constexpr TensorShape tensor_shape_of(const YuvDesc& desc) noexcept {
  return TensorShape{1, 3, desc.height, desc.width};
}

}  // namespace pyn
