#pragma once
// VapourSynth's frames to and from the Processor's packed frames. VapourSynth keeps every format
// planar with a stride per plane: RGB as planes R, G, B (a planar ImageDesc, of 8/16-bit integer
// or 16/32-bit float samples), YUV as Y, U, V (a YuvDesc). A slot holds the same planes with no
// row padding, one after the other (core/view.hpp's packed layout), so a copy is a memcpy per row
// and nothing is interleaved or converted: the kernels read the planes as they are. (One memcpy
// for a plane whose stride is its row measured the same on an H200 machine: docs/python.md.)
//
// These copies run on the VapourSynth thread that asked for the frame. They exist only for the
// stride and for the slot's pinned memory, which the upload is fastest from.

#include <array>
#include <cstddef>
#include <span>

#include "pynference/core/frame_format.hpp"

namespace pyn::vs {

// A plane's rows start `stride` bytes apart.
struct ConstPlane {
  const std::byte* data = nullptr;
  std::ptrdiff_t stride = 0;
};

struct Plane {
  std::byte* data = nullptr;
  std::ptrdiff_t stride = 0;
};

// The three planes of `format` (planar RGB or YUV) into `packed`, bytes_of(format) long. An
// interleaved format, or a packed frame of another size, throws Error.
void pack(const FrameFormat& format, const std::array<ConstPlane, 3>& planes,
          std::span<std::byte> packed);
// The other way.
void unpack(const FrameFormat& format, std::span<const std::byte> packed,
            const std::array<Plane, 3>& planes);

}  // namespace pyn::vs
