#pragma once
// A frame of either format (core/frame_format.hpp) to and from the network's planar RGB tensor:
// pre/post for interleaved RGB, the YUV kernels for planar YUV, on the GPU or the CPU reference.

#include "pynference/core/frame_format.hpp"
#include "pynference/kernels/image.hpp"
#include "pynference/kernels/yuv.hpp"

namespace pyn {

class Stream;

// The CPU references: pre_cpu() or yuv_to_tensor_cpu(), post_cpu() or tensor_to_yuv_cpu().
void frame_to_tensor_cpu(const FrameFormat& format, const void* frame, DType dtype, void* nchw);
void tensor_to_frame_cpu(DType dtype, const void* nchw, const FrameFormat& format, void* frame);

// pre() or yuv_to_tensor(), post() or tensor_to_yuv(), as the format asks; in stream order.
void frame_to_tensor(Stream& stream, const FrameFormat& format, const void* frame,
                     const TensorView& out);
void tensor_to_frame(Stream& stream, const TensorView& in, const FrameFormat& format, void* frame);

}  // namespace pyn
