#pragma once
// A frame's format as sources give it and sinks take it: RGB/BGR (ImageDesc), interleaved (e.g.
// image files) or planar (e.g. VapourSynth's clips), or planar YUV (YuvDesc, e.g. video decoders).

#include <cstddef>
#include <string>
#include <variant>

#include "pynference/core/types.hpp"
#include "pynference/core/yuv_format.hpp"

namespace pyn {

using FrameFormat = std::variant<ImageDesc, YuvDesc>;

[[nodiscard]] int width_of(const FrameFormat& format) noexcept;
[[nodiscard]] int height_of(const FrameFormat& format) noexcept;
// Bytes of one frame in host memory, rows and planes packed.
[[nodiscard]] std::size_t bytes_of(const FrameFormat& format) noexcept;
[[nodiscard]] TensorShape tensor_shape_of(const FrameFormat& format) noexcept;
// The same layout, sample type and colour at another size (the network's output).
[[nodiscard]] FrameFormat with_size(const FrameFormat& format, int width, int height) noexcept;
// The planar layout of a YUV format (core/yuv_format.hpp), an RGB one as it is.
[[nodiscard]] FrameFormat planar_of(const FrameFormat& format) noexcept;
// "1920x1080 rgb u8", "1920x1080 rgb f32 planar", "1920x1080 rgb u16 10-bit planar",
// "1920x1080 yuv420 10-bit bt709 limited", for messages.
[[nodiscard]] std::string to_string(const FrameFormat& format);

}  // namespace pyn
