#pragma once
// Views of a frame's samples: each plane a pointer and a pitch (bytes from one row to the next), so
// a frame from a hardware decoder, whose rows are padded, is read where it lies. A view does not
// own its samples and does not say whether they may be written: the kernels that take one read or
// write it as their contracts say.
//
// Planes: interleaved RGB/BGR (ImageDesc) uses planes[0], one row of width * 3 samples; planar RGB
// (ImageDesc::planar()) uses planes[0..2], one per channel in the frame's order (R, G, B for rgb),
// width x height samples each; planar YUV
// uses planes[0..2] = Y, U (Cb), V (Cr), the chroma planes chroma_width() x chroma_height() of a
// YuvDesc; semi-planar YUV uses planes[0..1] = Y and the interleaved U,V plane, whose rows hold
// 2 * chroma_width() samples. A packed view is laid out as bytes_of(format) says: rows and planes back to back.

#include <array>
#include <cstddef>
#include <string>

#include "pynference/core/frame.hpp"
#include "pynference/core/frame_format.hpp"

namespace pyn {

struct Plane {
  std::byte* data = nullptr;
  std::size_t pitch = 0;  // bytes from one row to the next
  friend constexpr bool operator==(const Plane&, const Plane&) = default;
};

// A region of a frame or tensor slice in pixels. Where an API says so, an empty Rect (zero width or
// height) stands for the whole frame.
struct Rect {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  [[nodiscard]] constexpr bool empty() const noexcept { return width <= 0 || height <= 0; }
  friend constexpr bool operator==(const Rect&, const Rect&) = default;
};

using FramePlanes = std::array<Plane, 3>;

struct FrameView {
  FrameFormat format;
  FramePlanes planes{};
  Memory memory = Memory::host;
};

// 1 for interleaved formats, 3 for planar RGB and YUV, 2 for semi-planar YUV.
[[nodiscard]] int plane_count(const FrameFormat& format) noexcept;
// Rows of plane p (0 past the last plane).
[[nodiscard]] int plane_rows(const FrameFormat& format, int p) noexcept;
// Bytes of one row of plane p without padding (0 past the last plane).
[[nodiscard]] std::size_t plane_row_bytes(const FrameFormat& format, int p) noexcept;
// Bytes of one sample of the format: the alignment every plane pointer and pitch must have.
[[nodiscard]] std::size_t sample_bytes_of(const FrameFormat& format) noexcept;

// The view of a buffer of bytes_of(format) bytes laid out as it says: rows and planes packed. The
// const overload is for frames that are only read.
[[nodiscard]] FrameView packed_view(const FrameFormat& format, void* data,
                                    Memory memory = Memory::host) noexcept;
[[nodiscard]] FrameView packed_view(const FrameFormat& format, const void* data,
                                    Memory memory = Memory::host) noexcept;
[[nodiscard]] FramePlanes packed_planes(const FrameFormat& format, const void* data) noexcept;
// Whether the planes lie as packed_view lays them out.
[[nodiscard]] bool is_packed(const FrameFormat& format, const FramePlanes& planes) noexcept;
[[nodiscard]] bool is_packed(const FrameView& view) noexcept;

// Throws UsageError, one line naming the plane and values, where a plane the format uses has a
// null pointer, a pointer or pitch not aligned to its samples, or a pitch under its row's bytes:
// "FrameView plane 1 pitch 100 is under its row of 960 bytes".
void check_planes(const FrameFormat& format, const FramePlanes& planes);
void check_view(const FrameView& view);

// "{x,y,width,height}", for messages.
[[nodiscard]] std::string to_string(const Rect& rect);

}  // namespace pyn
