// The pad and crop CPU reference: element copies, sized by the dtype.

#include <cstddef>
#include <cstring>

#include "pynference/kernels/pad.hpp"

namespace pyn {

namespace {

// Copies out's rows from in, row y of out reading row source_row(y) and column x column
// source_col(x) of the same plane.
template <class RowMap, class ColMap>
void remap(const TensorView& in, const TensorView& out, RowMap source_row, ColMap source_col) {
  const std::size_t element = bytes_of(in.dtype);
  const auto* src = static_cast<const unsigned char*>(in.data);
  auto* dst = static_cast<unsigned char*>(out.data);
  const std::size_t planes =
      static_cast<std::size_t>(in.shape.n) * static_cast<std::size_t>(in.shape.c);
  const auto in_w = static_cast<std::size_t>(in.shape.w);
  const auto in_plane = static_cast<std::size_t>(in.shape.h) * in_w;
  const auto out_w = static_cast<std::size_t>(out.shape.w);
  const auto out_plane = static_cast<std::size_t>(out.shape.h) * out_w;
  for (std::size_t p = 0; p < planes; ++p) {
    for (int y = 0; y < out.shape.h; ++y) {
      const unsigned char* row =
          src + (p * in_plane + static_cast<std::size_t>(source_row(y)) * in_w) * element;
      unsigned char* to = dst + (p * out_plane + static_cast<std::size_t>(y) * out_w) * element;
      for (int x = 0; x < out.shape.w; ++x) {
        std::memcpy(to + static_cast<std::size_t>(x) * element,
                    row + static_cast<std::size_t>(source_col(x)) * element, element);
      }
    }
  }
}

}  // namespace

void pad_cpu(const TensorView& in, const TensorView& out) {
  const int h = in.shape.h;
  const int w = in.shape.w;
  const int ph = out.shape.h;
  const int pw = out.shape.w;
  remap(
      in, out, [=](int y) { return pad_source(y, h, ph); },
      [=](int x) { return pad_source(x, w, pw); });
}

void crop_cpu(const TensorView& in, const TensorView& out) {
  remap(
      in, out, [](int y) { return y; }, [](int x) { return x; });
}

}  // namespace pyn
