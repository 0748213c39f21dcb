#include "pynference/kernels/frame.hpp"

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

}  // namespace pyn
