#pragma once
// VapourSynth's frames to and from the Processor's packed frames. VapourSynth keeps every format
// planar with a stride per plane (RGB too: planes R, G, B), while a slot holds one frame packed
// (core/frame_format.hpp): interleaved RGB, or Y, U, V planes with no row padding.
//
// These copies run on the VapourSynth thread that asked for the frame. The YUV ones exist only for
// the stride: once the Processor takes frames with a pitch per plane, a YUV frame's planes can be
// lent to the slot as they are (and uploaded from there), and this copy goes away. Planar RGB still
// needs the interleave, or a pre/post kernel that reads and writes planar RGB.

#include <array>
#include <cstddef>
#include <span>

#include "pynference/core/frame_format.hpp"

namespace pyn::vs {

// A plane's rows start `stride` bytes apart; for 16-bit samples both the data and the stride must be
// even (VapourSynth aligns planes and strides to 32 bytes or more).
struct ConstPlane {
  const std::byte* data = nullptr;
  std::ptrdiff_t stride = 0;
};

struct Plane {
  std::byte* data = nullptr;
  std::ptrdiff_t stride = 0;
};

// Planes R, G, B (an ImageDesc, which must be in RGB order) or Y, U, V (a YuvDesc) into `packed`,
// bytes_of(format) long.
void pack(const FrameFormat& format, const std::array<ConstPlane, 3>& planes,
          std::span<std::byte> packed);
// The other way.
void unpack(const FrameFormat& format, std::span<const std::byte> packed,
            const std::array<Plane, 3>& planes);

}  // namespace pyn::vs
