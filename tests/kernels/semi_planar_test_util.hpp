#pragma once
// What the semi-planar tests share: a random planar frame and the same samples laid out as a
// hardware decoder gives them (NV12, P010, yuv444p16: interleaved chroma, values in the high bits,
// garbage in the low bits and in the padding of pitched rows).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/view_test_util.hpp"
#include "pynference/core/view.hpp"

namespace pyn::test {

// The decoder layouts NVDEC gives, each with matrix and range taking turns.
inline std::vector<YuvDesc> decoder_formats(int width, int height) {
  std::vector<YuvDesc> formats;
  const auto add = [&](ChromaLayout chroma, int bits, bool interleaved, bool msb, ColorMatrix m,
                       ColorRange r) {
    YuvDesc d{width, height, chroma, bits, m, r};
    d.interleaved_chroma = interleaved;
    d.msb_aligned = msb;
    formats.push_back(d);
  };
  add(ChromaLayout::yuv420, 8, true, false, ColorMatrix::bt709, ColorRange::limited);    // NV12
  add(ChromaLayout::yuv420, 10, true, true, ColorMatrix::bt2020, ColorRange::limited);   // P010
  add(ChromaLayout::yuv420, 10, true, true, ColorMatrix::bt601, ColorRange::full);       // P010
  add(ChromaLayout::yuv444, 10, false, true, ColorMatrix::bt709, ColorRange::full);      // 444p16
  add(ChromaLayout::yuv444, 8, true, false, ColorMatrix::smpte240m, ColorRange::limited);  // NV24
  return formats;
}

struct DecoderFrame {
  std::vector<unsigned char> planar;  // packed, planar_of(format)
  std::vector<unsigned char> bytes;   // the decoder's layout, pitched
  PlaneLayout layout;
};

// Random codes of planar_of(format) and the same codes in `format`'s layout with pitched planes.
inline DecoderFrame decoder_frame(const YuvDesc& format, Rng& rng) {
  const YuvDesc planar = planar_of(format);
  DecoderFrame f;
  f.planar.resize(planar.bytes());
  const FramePlanes from = packed_planes(planar, f.planar.data());
  const std::size_t sample = planar.sample_bytes();
  const int top = (1 << planar.bits) - 1;
  for (int p = 0; p < 3; ++p) {
    auto* base = from[static_cast<std::size_t>(p)].data;
    const std::size_t count = plane_row_bytes(planar, p) / sample * plane_rows(planar, p);
    for (std::size_t i = 0; i < count; ++i) {
      const auto code = static_cast<std::uint16_t>(rng.uniform_int(0, top));
      std::memcpy(base + i * sample, &code, sample);
    }
  }
  f.layout = plane_layout(format, rng);
  f.bytes = random_bytes(f.layout.bytes, rng);
  const FramePlanes to = f.layout.on(f.bytes.data());
  const unsigned shift = format.msb_aligned ? static_cast<unsigned>(16 - format.bits) : 0U;
  const auto put = [&](std::byte* at, const std::byte* code_at) {
    std::uint16_t code = 0;
    std::memcpy(&code, code_at, sample);
    if (shift != 0) {  // the low bits are the decoder's to fill: garbage
      code = static_cast<std::uint16_t>(code << shift |
                                        (rng.next() & ((1U << shift) - 1U)));
    }
    std::memcpy(at, &code, sample);
  };
  for (int p = 0; p < 3; ++p) {
    const auto i = static_cast<std::size_t>(p);
    const std::size_t columns = plane_row_bytes(planar, p) / sample;
    for (int row = 0; row < plane_rows(planar, p); ++row) {
      const auto r = static_cast<std::size_t>(row);
      const std::byte* src = from[i].data + r * from[i].pitch;
      for (std::size_t x = 0; x < columns; ++x) {
        std::byte* dst = nullptr;
        if (p == 0 || !format.interleaved_chroma) {
          dst = to[i].data + r * to[i].pitch + x * sample;
        } else {
          dst = to[1].data + r * to[1].pitch + (2 * x + (p == 2 ? 1 : 0)) * sample;
        }
        put(dst, src + x * sample);
      }
    }
  }
  return f;
}

}  // namespace pyn::test
