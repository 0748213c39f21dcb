#include "pynference/core/view.hpp"

#include <cstdint>
#include <string>

#include "pynference/core/error.hpp"

namespace pyn {

int plane_count(const FrameFormat& format) noexcept {
  if (const auto* yuv = std::get_if<YuvDesc>(&format)) {
    return yuv->interleaved_chroma ? 2 : 3;
  }
  const auto* image = std::get_if<ImageDesc>(&format);
  return image != nullptr && !image->planar() ? 1 : 3;
}

int plane_rows(const FrameFormat& format, int p) noexcept {
  if (p < 0 || p >= plane_count(format)) {
    return 0;
  }
  if (const auto* yuv = std::get_if<YuvDesc>(&format); yuv != nullptr && p > 0) {
    return static_cast<int>(yuv->chroma_height());
  }
  return height_of(format);
}

std::size_t plane_row_bytes(const FrameFormat& format, int p) noexcept {
  if (p < 0 || p >= plane_count(format)) {
    return 0;
  }
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    return image->planar() ? static_cast<std::size_t>(image->width) * bytes_of(image->pixel)
                           : image->row_bytes();
  }
  const auto& yuv = std::get<YuvDesc>(format);
  const std::size_t chroma = yuv.chroma_width() * (yuv.interleaved_chroma ? 2 : 1);
  const std::size_t samples = p == 0 ? static_cast<std::size_t>(yuv.width) : chroma;
  return samples * yuv.sample_bytes();
}

std::size_t sample_bytes_of(const FrameFormat& format) noexcept {
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    return bytes_of(image->pixel);
  }
  return std::get<YuvDesc>(format).sample_bytes();
}

FramePlanes packed_planes(const FrameFormat& format, const void* data) noexcept {
  auto* base = static_cast<std::byte*>(const_cast<void*>(data));
  FramePlanes planes{};
  std::size_t offset = 0;
  for (int p = 0; p < plane_count(format); ++p) {
    const std::size_t row = plane_row_bytes(format, p);
    planes[static_cast<std::size_t>(p)] = {base == nullptr ? nullptr : base + offset, row};
    offset += row * static_cast<std::size_t>(plane_rows(format, p));
  }
  return planes;
}

FrameView packed_view(const FrameFormat& format, void* data, Memory memory) noexcept {
  return {format, packed_planes(format, data), memory};
}

FrameView packed_view(const FrameFormat& format, const void* data, Memory memory) noexcept {
  return {format, packed_planes(format, data), memory};
}

bool is_packed(const FrameFormat& format, const FramePlanes& planes) noexcept {
  const FramePlanes packed = packed_planes(format, planes[0].data);
  for (int p = 0; p < plane_count(format); ++p) {
    if (planes[static_cast<std::size_t>(p)] != packed[static_cast<std::size_t>(p)]) {
      return false;
    }
  }
  return true;
}

bool is_packed(const FrameView& view) noexcept { return is_packed(view.format, view.planes); }

void check_planes(const FrameFormat& format, const FramePlanes& planes) {
  const std::size_t sample = sample_bytes_of(format);
  for (int p = 0; p < plane_count(format); ++p) {
    const Plane& plane = planes[static_cast<std::size_t>(p)];
    const std::string name = "FrameView plane " + std::to_string(p);
    if (plane.data == nullptr) {
      throw UsageError(name + " pointer is null");
    }
    if (reinterpret_cast<std::uintptr_t>(plane.data) % sample != 0) {
      throw UsageError(name + " pointer is not aligned to its " + std::to_string(sample) +
                       "-byte samples");
    }
    const std::size_t row = plane_row_bytes(format, p);
    if (plane.pitch < row) {
      throw UsageError(name + " pitch " + std::to_string(plane.pitch) + " is under its row of " +
                       std::to_string(row) + " bytes");
    }
    if (plane.pitch % sample != 0) {
      throw UsageError(name + " pitch " + std::to_string(plane.pitch) +
                       " is not a multiple of its " + std::to_string(sample) + "-byte samples");
    }
  }
}

void check_view(const FrameView& view) { check_planes(view.format, view.planes); }

std::string to_string(const Rect& rect) {
  std::string text(1, '{');
  for (const int v : {rect.x, rect.y, rect.width, rect.height}) {
    text += std::to_string(v);
    text += ',';
  }
  text.back() = '}';
  return text;
}

}  // namespace pyn
