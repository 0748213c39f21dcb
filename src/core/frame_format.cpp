#include "pynference/core/frame_format.hpp"

#include <string>

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

FrameFormat planar_of(const FrameFormat& format) noexcept {
  if (const auto* yuv = std::get_if<YuvDesc>(&format)) {
    return planar_of(*yuv);
  }
  return format;
}

std::string to_string(const FrameFormat& format) {
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    std::string text = std::to_string(image->width) + "x" + std::to_string(image->height) + " ";
    text += to_string(image->order);
    text += ' ';
    text += to_string(image->pixel);
    if (image->bits != 0) {
      text += ' ';
      text += std::to_string(image->bits);
      text += "-bit";
    }
    if (image->planar()) {
      text += " planar";
    }
    return text;
  }
  return to_string(std::get<YuvDesc>(format));
}

}  // namespace pyn
