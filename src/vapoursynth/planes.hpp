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
#include <cstdint>
#include <span>

#include "pynference/core/frame_format.hpp"

namespace pyn::vs {

// A plane's rows start `stride` bytes apart; the data and the stride must be multiples of the
// sample size (VapourSynth aligns planes and strides to 32 bytes or more).
struct ConstPlane {
  const std::byte* data = nullptr;
  std::ptrdiff_t stride = 0;
};

struct Plane {
  std::byte* data = nullptr;
  std::ptrdiff_t stride = 0;
};

// What VapourSynth's samples are. The Processor's frames hold integers only, so float RGB (RGBH,
// RGBS) travels as 16-bit RGB: a sample x becomes round(clamp(x, 0, 1) * 65535) (NaN: 0, ties to
// even) on the way in, and a code v becomes v / 65535 (rounded to the float type) on the way out.
// Against the network's fp16 tensors (steps of 2^-11 near 1) the 2^-16 steps lose nothing that
// matters; with fp32 tensors they are the precision limit.
enum class Samples : std::uint8_t { integer, f16, f32 };

// Planes R, G, B (an ImageDesc, which must be in RGB order; u16 for float samples) or Y, U, V (a
// YuvDesc) into `packed`, bytes_of(format) long.
void pack(const FrameFormat& format, const std::array<ConstPlane, 3>& planes,
          std::span<std::byte> packed, Samples samples = Samples::integer);
// The other way.
void unpack(const FrameFormat& format, std::span<const std::byte> packed,
            const std::array<Plane, 3>& planes, Samples samples = Samples::integer);

}  // namespace pyn::vs
