#include "pynference/kernels/frame.hpp"

#include "pynference/core/error.hpp"
#include "pynference/device/device.hpp"
#include "pynference/device/stream.hpp"
#include "pynference/kernels/prepost.hpp"

namespace pyn {

void frame_to_tensor_cpu(const FrameFormat& format, const void* frame, DType dtype, void* nchw) {
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    pre_cpu(*image, frame, dtype, nchw);
  } else {
    yuv_to_tensor_cpu(std::get<YuvDesc>(format), frame, dtype, nchw);
  }
}

void tensor_to_frame_cpu(DType dtype, const void* nchw, const FrameFormat& format, void* frame) {
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    post_cpu(dtype, nchw, *image, frame);
  } else {
    tensor_to_yuv_cpu(dtype, nchw, std::get<YuvDesc>(format), frame);
  }
}

void frame_to_tensor(Stream& stream, const FrameFormat& format, const void* frame,
                     const TensorView& out) {
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    pre(stream, *image, frame, out);
  } else {
    yuv_to_tensor(stream, std::get<YuvDesc>(format), frame, out);
  }
}

void tensor_to_frame(Stream& stream, const TensorView& in, const FrameFormat& format, void* frame) {
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    post(stream, in, *image, frame);
  } else {
    tensor_to_yuv(stream, in, std::get<YuvDesc>(format), frame);
  }
}

void frame_to_tensor(Stream& stream, const FrameView& src, Rect roi, const TensorView& dst, int n) {
  if (!stream) {
    throw UsageError("frame_to_tensor: the stream is empty (moved from or default-constructed)");
  }
  FrameToTensor(stream.backend(), src.format, roi, dst)(stream, src.planes, dst.data, n);
}

void tensor_to_frame(Stream& stream, const TensorView& src, int n, Rect crop, const FrameView& dst,
                     int x, int y) {
  if (!stream) {
    throw UsageError("tensor_to_frame: the stream is empty (moved from or default-constructed)");
  }
  TensorToFrame(stream.backend(), src, crop, dst.format, x, y)(stream, src.data, n, dst.planes);
}

void frame_to_tensor_cpu(const FrameView& src, Rect roi, const TensorView& dst, int n) {
  FrameToTensor(Backend::host, src.format, roi, dst).run_cpu(src.planes, dst.data, n);
}

void tensor_to_frame_cpu(const TensorView& src, int n, Rect crop, const FrameView& dst, int x,
                         int y) {
  TensorToFrame(Backend::host, src, crop, dst.format, x, y).run_cpu(src.data, n, dst.planes);
}

}  // namespace pyn
