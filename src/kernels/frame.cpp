#include "pynference/kernels/frame.hpp"

#include "pynference/kernels/prepost.hpp"

namespace pyn {

int width_of(const FrameFormat& format) noexcept {
  return std::visit([](const auto& desc) { return desc.width; }, format);
}

int height_of(const FrameFormat& format) noexcept {
  return std::visit([](const auto& desc) { return desc.height; }, format);
}

std::size_t bytes_of(const FrameFormat& format) noexcept {
  return std::visit([](const auto& desc) { return desc.bytes(); }, format);
}

TensorShape tensor_shape_of(const FrameFormat& format) noexcept {
  return std::visit([](const auto& desc) { return tensor_shape_of(desc); }, format);
}

FrameFormat with_size(const FrameFormat& format, int width, int height) noexcept {
  return std::visit(
      [&](auto desc) -> FrameFormat {
        desc.width = width;
        desc.height = height;
        return desc;
      },
      format);
}

std::string to_string(const FrameFormat& format) {
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    return std::to_string(image->width) + "x" + std::to_string(image->height) + " " +
           std::string(to_string(image->order)) + " " + std::string(to_string(image->pixel));
  }
  return to_string(std::get<YuvDesc>(format));
}

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
