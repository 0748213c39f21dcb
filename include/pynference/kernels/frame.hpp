#pragma once
// A host frame as sources give it and sinks take it: interleaved RGB/BGR (ImageDesc, e.g. image
// files) or planar YUV (YuvDesc, e.g. video decoders). The pipeline moves either over PCIe and
// converts it to and from the network's planar RGB tensor on the GPU.

#include <cstddef>
#include <string>
#include <variant>

#include "pynference/kernels/image.hpp"
#include "pynference/kernels/yuv.hpp"

namespace pyn {

class Stream;

using FrameFormat = std::variant<ImageDesc, YuvDesc>;

[[nodiscard]] int width_of(const FrameFormat& format) noexcept;
[[nodiscard]] int height_of(const FrameFormat& format) noexcept;
// Bytes of one frame in host memory, rows and planes packed.
[[nodiscard]] std::size_t bytes_of(const FrameFormat& format) noexcept;
[[nodiscard]] TensorShape tensor_shape_of(const FrameFormat& format) noexcept;
// The same layout, sample type and colour at another size (the network's output).
[[nodiscard]] FrameFormat with_size(const FrameFormat& format, int width, int height) noexcept;
// "1920x1080 rgb u8", "1920x1080 yuv420 10-bit bt709 limited", for messages.
[[nodiscard]] std::string to_string(const FrameFormat& format);

// The CPU references: pre_cpu() or yuv_to_tensor_cpu(), post_cpu() or tensor_to_yuv_cpu().
void frame_to_tensor_cpu(const FrameFormat& format, const void* frame, DType dtype, void* nchw);
void tensor_to_frame_cpu(DType dtype, const void* nchw, const FrameFormat& format, void* frame);

// pre() or yuv_to_tensor(), post() or tensor_to_yuv(), as the format asks; in stream order.
void frame_to_tensor(Stream& stream, const FrameFormat& format, const void* frame,
                     const TensorView& out);
void tensor_to_frame(Stream& stream, const TensorView& in, const FrameFormat& format, void* frame);

}  // namespace pyn
