#pragma once
// The argument checks every pre/post entry point shares, so the CPU and GPU paths refuse exactly
// the same calls.

#include <cstdint>
#include <string>

#include "pynference/device/error.hpp"
#include "pynference/kernels/image.hpp"

namespace pyn::detail {

// The checks that do not look at pointers: what a prepared conversion checks once.
inline void check_prepost_format(const char* op, const ImageDesc& image) {
  const auto fail = [op](const std::string& why) {
    throw UsageError(std::string(op) + ": " + why);
  };
  if (image.width <= 0 || image.height <= 0) {
    fail("image size " + std::to_string(image.width) + "x" + std::to_string(image.height) +
         " is empty");
  }
  if (image.order != ChannelOrder::rgb && image.order != ChannelOrder::bgr) {
    fail("unknown channel order " + std::to_string(static_cast<int>(image.order)));
  }
  if (image.layout != ImageLayout::interleaved && image.layout != ImageLayout::planar) {
    fail("unknown image layout " + std::to_string(static_cast<int>(image.layout)));
  }
  if (image.pixel != PixelType::u8 && image.pixel != PixelType::u16 && !is_float(image.pixel)) {
    fail("unknown pixel type " + std::to_string(static_cast<int>(image.pixel)));
  }
  if (image.bits != 0 &&
      (image.bits < 9 || image.bits > 15 || image.pixel != PixelType::u16 || !image.planar())) {
    fail("bits " + std::to_string(image.bits) + " of " + std::string(to_string(image.pixel)) +
         (image.planar() ? " planar" : " interleaved") +
         " samples: only planar u16 frames have 9 to 15 bits (0: all 16)");
  }
  if (is_float(image.pixel) && !image.planar()) {
    fail(std::string(to_string(image.pixel)) +
         " samples come in planar frames only, not interleaved ones");
  }
}

inline void check_prepost_args(const char* op, const ImageDesc& image, const void* hwc, DType dtype,
                               const void* nchw) {
  const auto fail = [op](const std::string& why) {
    throw UsageError(std::string(op) + ": " + why);
  };
  check_prepost_format(op, image);
  if (hwc == nullptr) {
    fail("frame pointer is null");
  }
  if (nchw == nullptr) {
    fail("tensor pointer is null");
  }
  if (reinterpret_cast<std::uintptr_t>(hwc) % bytes_of(image.pixel) != 0) {
    fail("frame pointer is not aligned to its " + std::to_string(bytes_of(image.pixel)) +
         "-byte samples");
  }
  if (reinterpret_cast<std::uintptr_t>(nchw) % bytes_of(dtype) != 0) {
    fail("tensor pointer is not aligned to its " + std::to_string(bytes_of(dtype)) +
         "-byte elements");
  }
}

}  // namespace pyn::detail
