#include "planes.hpp"

#include <cstring>
#include <string>

#include "pynference/core/error.hpp"
#include "pynference/core/view.hpp"

namespace pyn::vs {
namespace {

void check(const FrameFormat& format, std::size_t bytes) {
  if (plane_count(format) != 3) {
    throw Error("VapourSynth's frames are planar, not " + to_string(format));
  }
  if (bytes != bytes_of(format)) {
    throw Error("a packed frame of " + to_string(format) + " is " +
                std::to_string(bytes_of(format)) + " bytes, not " + std::to_string(bytes));
  }
}

}  // namespace

void pack(const FrameFormat& format, const std::array<ConstPlane, 3>& planes,
          std::span<std::byte> packed) {
  check(format, packed.size());
  std::byte* out = packed.data();
  for (int p = 0; p < 3; ++p) {
    const ConstPlane& plane = planes[static_cast<std::size_t>(p)];
    const std::size_t row = plane_row_bytes(format, p);
    for (int y = 0; y < plane_rows(format, p); ++y) {
      std::memcpy(out, plane.data + static_cast<std::ptrdiff_t>(y) * plane.stride, row);
      out += row;
    }
  }
}

void unpack(const FrameFormat& format, std::span<const std::byte> packed,
            const std::array<Plane, 3>& planes) {
  check(format, packed.size());
  const std::byte* in = packed.data();
  for (int p = 0; p < 3; ++p) {
    const Plane& plane = planes[static_cast<std::size_t>(p)];
    const std::size_t row = plane_row_bytes(format, p);
    for (int y = 0; y < plane_rows(format, p); ++y) {
      std::memcpy(plane.data + static_cast<std::ptrdiff_t>(y) * plane.stride, in, row);
      in += row;
    }
  }
}

}  // namespace pyn::vs
