#pragma once
// A frame of either format (core/frame_format.hpp) to and from the network's planar RGB tensor:
// pre/post for interleaved RGB, the YUV kernels for planar YUV, on the GPU or the CPU reference.
// Over views: a region of a frame with pitched planes into slice n of a tensor with strides, and a
// crop of slice n back into a frame at (x, y); kernels/convert.hpp holds the contract and the
// prepared objects a run builds once. The packed whole-frame calls are those with an empty region
// of a packed frame into slice 0 of an N = 1 tensor.

#include "pynference/core/frame_format.hpp"
#include "pynference/core/view.hpp"
#include "pynference/kernels/convert.hpp"
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

// The roi of `src` (empty: the whole frame) into slice n of `dst`; `roi` is dst's W x H. Checks
// and dispatch every call: a run should build a FrameToTensor once instead.
void frame_to_tensor(Stream& stream, const FrameView& src, Rect roi, const TensorView& dst, int n);
// The crop of slice n of `src` (empty: the whole slice) into `dst` with its top-left at (x, y).
void tensor_to_frame(Stream& stream, const TensorView& src, int n, Rect crop, const FrameView& dst,
                     int x, int y);
// The same on the calling thread with the CPU reference.
void frame_to_tensor_cpu(const FrameView& src, Rect roi, const TensorView& dst, int n);
void tensor_to_frame_cpu(const TensorView& src, int n, Rect crop, const FrameView& dst, int x,
                         int y);

}  // namespace pyn
