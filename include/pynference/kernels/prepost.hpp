#pragma once
// Pre-processing (8/16-bit or float frame -> planar RGB tensor in [0, 1]) and post-processing
// (planar RGB tensor -> frame), on the GPU and on the CPU with bit-identical results. Frames are
// interleaved (u8, u16) or planar (ImageDesc::planar(): u8, u16, f16, f32); a planar frame gives
// exactly the tensor the interleaved frame of the same samples gives, and back.
//
// pre:  t = float(x) * (1/255 or 1/65535), one fp32 multiply, then rounded to the dtype to nearest
//       even. Planar u16 frames of fewer bits (ImageDesc::bits, e.g. 10) take 1/(2^bits - 1) and
//       ignore the bits above them, and post writes codes up to 2^bits - 1. The tensor is always RGB; a BGR frame has its channels swapped on the way. Float
//       samples are taken as they are (f16 widened exactly), then rounded to the dtype; a NaN
//       becomes the dtype's quiet NaN (0x7fc00000, 0x7e00, 0x7fc0).
// post: v = fmaxf(fminf(float(t), 1), 0) as CUDA defines them (any NaN, signaling too, becomes 1),
//       then x = round-half-even(v * (255 or 65535)), written in the frame's channel order. Float
//       samples get float(t) unclamped (rounded to nearest even for f16); a NaN becomes the quiet
//       NaN 0x7fc00000 (f32) or 0x7e00 (f16).
//
// u8 frames survive pre + post exactly through f32 and f16; through bf16 they may move one level.
//
// Pointers: frames and tensors must not overlap, and each must be aligned to its element size.
// The GPU is fastest with 16-byte aligned bases (cudaMalloc gives 256) and a plane size that is a
// multiple of 16 bytes (width * height a multiple of 8 for f16/bf16, of 4 for f32); other layouts
// take a slower per-pixel path with the same results. Planar frames take one kernel of a pixel per
// thread in every layout.

#include <cuda_runtime_api.h>

#include "pynference/kernels/image.hpp"

namespace pyn {

class Stream;

// The CPU reference, also the host backend's implementation. Runs on the calling thread.
void pre_cpu(const ImageDesc& image, const void* hwc, DType dtype, void* nchw);
void post_cpu(DType dtype, const void* nchw, const ImageDesc& image, void* hwc);

// Enqueue the kernel on `stream` and return; launch errors throw DeviceError.
void pre_cuda(const ImageDesc& image, const void* hwc, DType dtype, void* nchw,
              cudaStream_t stream);
void post_cuda(DType dtype, const void* nchw, const ImageDesc& image, void* hwc,
               cudaStream_t stream);

// On the stream's backend, in stream order. `out` must have the shape tensor_shape_of(image);
// `in` likewise. Bad arguments throw UsageError before anything is enqueued.
void pre(Stream& stream, const ImageDesc& image, const void* hwc, const TensorView& out);
void post(Stream& stream, const TensorView& in, const ImageDesc& image, void* hwc);

// The fp32 factors both backends multiply integer samples by (1 for float samples, which are not
// scaled).
[[nodiscard]] constexpr float unit_scale(PixelType pixel) noexcept {
  return pixel == PixelType::u8 ? 1.0F / 255.0F : pixel == PixelType::u16 ? 1.0F / 65535.0F : 1.0F;
}
[[nodiscard]] constexpr float full_scale(PixelType pixel) noexcept {
  return pixel == PixelType::u8 ? 255.0F : pixel == PixelType::u16 ? 65535.0F : 1.0F;
}
// Of a frame whose u16 samples have `bits` significant bits (ImageDesc::bits): 1 / (2^bits - 1)
// and 2^bits - 1, the code of 1.
[[nodiscard]] constexpr float unit_scale(const ImageDesc& image) noexcept {
  return image.bits == 0 ? unit_scale(image.pixel)
                         : 1.0F / static_cast<float>((1 << image.bits) - 1);
}
[[nodiscard]] constexpr float full_scale(const ImageDesc& image) noexcept {
  return image.bits == 0 ? full_scale(image.pixel) : static_cast<float>((1 << image.bits) - 1);
}
// The bits of an integer sample that count: the rest are ignored on the way in.
[[nodiscard]] constexpr unsigned sample_mask(const ImageDesc& image) noexcept {
  return image.bits != 0 ? (1U << image.bits) - 1 : image.pixel == PixelType::u8 ? 0xffU : 0xffffU;
}

}  // namespace pyn
