#pragma once
// Planar YUV frames, as video decoders give them, to and from the network's planar RGB tensor, on
// the GPU and on the CPU with bit-identical results. Uploading 4:2:0 YUV instead of interleaved RGB
// halves the bytes over PCIe, and the colour conversion leaves the CPU.
//
// Frame layout: the Y plane (width x height), then U (Cb), then V (Cr), rows packed, no padding.
// 4:2:0 chroma planes are ceil(width / 2) x ceil(height / 2). 8-bit samples take one byte; 10-bit
// samples take two, little endian, in the low bits (yuv420p10le, yuv444p10le). The top six bits of
// a 10-bit sample are ignored on input and written as zero on output.
//
// YUV -> RGB (yuv_to_tensor):
//   Y' = (Y - y_offset) / y_range, Cb = (U - c_offset) / c_range, Cr likewise from V, with
//   limited range y_offset 16, y_range 219, c_offset 128, c_range 224 (all times 4 for 10 bit) and
//   full range y_offset 0, y_range = c_range = 255 (1023), c_offset 128 (512); then
//   R = Y' + 2(1-Kr) Cr, B = Y' + 2(1-Kb) Cb, G = (Y' - Kr R - Kb B) / Kg, each clamped to [0, 1]
//   and rounded to the dtype to nearest even. BT.601: Kr 0.299, Kb 0.114; BT.709: Kr 0.2126,
//   Kb 0.0722; BT.2020 (non-constant luminance): Kr 0.2627, Kb 0.0593; SMPTE 240M: Kr 0.212,
//   Kb 0.087; Kg = 1 - Kr - Kb.
//   4:2:0 pixel (x, y) takes the chroma sample (x / 2, y / 2): no interpolation, the nearest
//   sample for MPEG-2 "left" siting (chroma on the even columns, between the two rows).
// RGB -> YUV (tensor_to_yuv):
//   each tensor value is clamped like post() does (NaN -> 1), then Y' = Kr R + Kg G + Kb B,
//   Cb = (B - Y') / (2(1-Kb)), Cr = (R - Y') / (2(1-Kr)), scaled and offset as above, rounded to
//   the nearest integer (ties to even) and clamped to the legal codes: limited 16..235 luma and
//   16..240 chroma (x4 for 10 bit), full 0..255 (0..1023). A 4:2:0 chroma sample is the mean of the
//   Cb (Cr) of its 2x2 block -- of its 2 or 1 pixels at the right and bottom edges of odd sizes.
//
// Arithmetic: both backends evaluate the formulas above as the same fp32 operations in the same
// order, with the coefficients below folded once in double and rounded to fp32 (see
// YuvToRgbCoefficients and RgbToYuvCoefficients). Against an exact (float64) evaluation:
//   - an f32 tensor value is within 1e-5 (in practice a few 1e-7); f16 and bf16 values are that f32
//     value rounded to nearest even;
//   - a code is within 0.5 + 1e-5 * (2^bits - 1) of the exact value clamped to the legal range
//     (in practice 0.5 + 1e-4), i.e. it is the exactly rounded code unless the exact value lies
//     that close to a tie.
// Round trips YUV -> tensor -> YUV, for samples whose exact RGB lies inside [0, 1] (for 4:2:0, all
// pixels of a chroma block), give back every code exactly through f32 and f16, 8 and 10 bit, and
// through bf16 at 8 bit; through bf16 at 10 bit within 2 codes. (A code moves by at most its range
// times the largest rounding error of a tensor value: f16 2^-12, bf16 2^-9; 1023 * 2^-12 and
// 255 * 2^-9 stay below half a code.) Codes outside the RGB cube, e.g. limited-range luma below 16
// or extreme chroma, cannot come back: the tensor holds RGB clamped to [0, 1].
//
// Pointers: frames and tensors must not overlap, and each must be aligned to its element size.
// The GPU is fastest with 16-byte aligned bases (cudaMalloc gives 256) and a width that is a
// multiple of 8; other layouts take a slower path with the same results.

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pynference/core/yuv_format.hpp"
#include "pynference/kernels/image.hpp"

namespace pyn {

class Stream;

// The CPU reference, also the host backend's implementation. Runs on the calling thread.
void yuv_to_tensor_cpu(const YuvDesc& desc, const void* yuv, DType dtype, void* nchw);
void tensor_to_yuv_cpu(DType dtype, const void* nchw, const YuvDesc& desc, void* yuv);

// Enqueue the kernel on `stream` and return; launch errors throw DeviceError.
void yuv_to_tensor_cuda(const YuvDesc& desc, const void* yuv, DType dtype, void* nchw,
                        cudaStream_t stream);
void tensor_to_yuv_cuda(DType dtype, const void* nchw, const YuvDesc& desc, void* yuv,
                        cudaStream_t stream);

// On the stream's backend, in stream order. `out` (`in`) must have the shape
// tensor_shape_of(desc). Bad arguments throw UsageError before anything is enqueued.
void yuv_to_tensor(Stream& stream, const YuvDesc& desc, const void* yuv, const TensorView& out);
void tensor_to_yuv(Stream& stream, const TensorView& in, const YuvDesc& desc, void* yuv);

// The code levels of a format.
struct YuvLevels {
  int y_offset;                    // luma code of black
  int y_range;                     // white minus black
  int c_offset;                    // chroma code of zero colour difference
  int c_range;                     // chroma codes spanning a colour difference of 1
  int y_min, y_max, c_min, c_max;  // legal codes
};

[[nodiscard]] constexpr YuvLevels yuv_levels(const YuvDesc& desc) noexcept {
  const int scale = desc.bits > 8 ? 1 << (desc.bits - 8) : 1;
  const int top = (1 << desc.bits) - 1;
  if (desc.range == ColorRange::full) {
    return {0, top, 128 * scale, top, 0, top, 0, top};
  }
  return {16 * scale, 219 * scale, 128 * scale, 224 * scale,
          16 * scale, 235 * scale, 16 * scale,  240 * scale};
}

struct LumaWeights {
  double kr, kg, kb;
};

[[nodiscard]] constexpr LumaWeights luma_weights(ColorMatrix matrix) noexcept {
  double kr = 0.2126;
  double kb = 0.0722;
  switch (matrix) {
    case ColorMatrix::bt601:
      kr = 0.299;
      kb = 0.114;
      break;
    case ColorMatrix::bt2020:
      kr = 0.2627;
      kb = 0.0593;
      break;
    case ColorMatrix::smpte240m:
      kr = 0.212;
      kb = 0.087;
      break;
    case ColorMatrix::bt709:
      break;
  }
  return {kr, 1.0 - kr - kb, kb};
}

// The fp32 factors both backends compute with. With y = Y - y_offset, u = U - c_offset and
// v = V - c_offset (exact in fp32), each step rounded to fp32:
//   luma = y_scale * y
//   R = sat(luma + r_v * v)
//   G = sat(luma + (g_u * u + g_v * v))
//   B = sat(luma + b_u * u)
// The chroma terms are computed once per chroma sample. This is the header's formula with G
// expanded, which is better conditioned than dividing by Kg.
struct YuvToRgbCoefficients {
  int y_offset, c_offset;
  float y_scale, r_v, g_u, g_v, b_u;
};

[[nodiscard]] constexpr YuvToRgbCoefficients yuv_to_rgb_coefficients(const YuvDesc& desc) noexcept {
  const YuvLevels l = yuv_levels(desc);
  const auto [kr, kg, kb] = luma_weights(desc.matrix);
  const double c_range = l.c_range;
  return {l.y_offset,
          l.c_offset,
          static_cast<float>(1.0 / l.y_range),
          static_cast<float>(2.0 * (1.0 - kr) / c_range),
          static_cast<float>(-2.0 * kb * (1.0 - kb) / (kg * c_range)),
          static_cast<float>(-2.0 * kr * (1.0 - kr) / (kg * c_range)),
          static_cast<float>(2.0 * (1.0 - kb) / c_range)};
}

// With R, G, B the clamped tensor values, each step rounded to fp32:
//   Y = ((y_r * R + y_g * G) + y_b * B) + y_offset
//   U = ((u_r * R + u_g * G) + u_b * B) + c_offset, V likewise with v_*,
// then rounded to nearest even and clamped to the legal codes. For 4:2:0, R, G and B in U and V
// are the block means: (row 0 sum + row 1 sum) * (1/n), each row sum left + right, where present;
// n is 4, 2 or 1, so the scaling is exact.
struct RgbToYuvCoefficients {
  float y_r, y_g, y_b, y_offset;
  float u_r, u_g, u_b;
  float v_r, v_g, v_b, c_offset;
  int y_min, y_max, c_min, c_max;
};

[[nodiscard]] constexpr RgbToYuvCoefficients rgb_to_yuv_coefficients(const YuvDesc& desc) noexcept {
  const YuvLevels l = yuv_levels(desc);
  const auto [kr, kg, kb] = luma_weights(desc.matrix);
  const double y_range = l.y_range;
  const double c_range = l.c_range;
  const double cb_scale = c_range / (2.0 * (1.0 - kb));
  const double cr_scale = c_range / (2.0 * (1.0 - kr));
  return {static_cast<float>(y_range * kr),
          static_cast<float>(y_range * kg),
          static_cast<float>(y_range * kb),
          static_cast<float>(l.y_offset),
          static_cast<float>(-cb_scale * kr),
          static_cast<float>(-cb_scale * kg),
          static_cast<float>(cb_scale * (1.0 - kb)),
          static_cast<float>(cr_scale * (1.0 - kr)),
          static_cast<float>(-cr_scale * kg),
          static_cast<float>(-cr_scale * kb),
          static_cast<float>(l.c_offset),
          l.y_min,
          l.y_max,
          l.c_min,
          l.c_max};
}

}  // namespace pyn
