#pragma once
// One frame's work for a prepared conversion (kernels/convert.hpp), in the form every backend's
// launcher takes: the region's size and format, where its rows start in each plane, and where its
// slice starts in the tensor. The prepared object resolves the launcher once; per frame it fills
// the pointers and calls it.

#include <cuda_runtime_api.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "pynference/core/types.hpp"
#include "pynference/core/yuv_format.hpp"

namespace pyn::detail {

struct ConvertJob {
  // The region's size is their width and height; which one counts is the launcher's format.
  ImageDesc image;
  YuvDesc yuv;
  // The region's top-left sample in each plane, and the plane's pitch. A 4:2:0 region starts on an
  // even row and column, so its chroma starts at half its offsets.
  std::array<std::byte*, 3> plane{};
  std::array<std::size_t, 3> pitch{};
  // Samples from one chroma value of a row to the next: 2 for interleaved U,V (plane[2] then points
  // at the first V, one sample after plane[1]'s U), else 1.
  int chroma_step = 1;
  // The slice's element at the region's top-left, and the strides in elements.
  std::byte* tensor = nullptr;
  std::int64_t c_stride = 0;
  std::int64_t h_stride = 0;
  std::int64_t w_stride = 0;
  // The whole frame with packed planes (plane[0] is its base) and a contiguous slice: the case of
  // the vectorised kernels.
  bool packed = false;
};

using CpuRun = void (*)(const ConvertJob&);
using CudaLaunch = void (*)(const ConvertJob&, cudaStream_t);

// Resolve (pixel type or format, dtype) once; unknown values throw UsageError. The CPU launchers
// are in prepost_cpu.cpp and yuv_cpu.cpp, the CUDA ones in prepost.cu and yuv.cu.
CpuRun resolve_pre_cpu(PixelType pixel, DType dtype);
CpuRun resolve_post_cpu(PixelType pixel, DType dtype);
CudaLaunch resolve_pre_cuda(PixelType pixel, DType dtype);
CudaLaunch resolve_post_cuda(PixelType pixel, DType dtype);
// Planar RGB frames (ImageDesc::planar()), in prepost_cpu.cpp and prepost.cu too.
CpuRun resolve_planar_pre_cpu(PixelType pixel, DType dtype);
CpuRun resolve_planar_post_cpu(PixelType pixel, DType dtype);
CudaLaunch resolve_planar_pre_cuda(PixelType pixel, DType dtype);
CudaLaunch resolve_planar_post_cuda(PixelType pixel, DType dtype);
CpuRun resolve_yuv_to_tensor_cpu(const YuvDesc& desc, DType dtype);
CpuRun resolve_tensor_to_yuv_cpu(const YuvDesc& desc, DType dtype);
CudaLaunch resolve_yuv_to_tensor_cuda(const YuvDesc& desc, DType dtype);
CudaLaunch resolve_tensor_to_yuv_cuda(const YuvDesc& desc, DType dtype);

// The job of a packed whole frame and a contiguous N = 1 tensor (the region is the whole frame).
[[nodiscard]] inline ConvertJob packed_job(const ImageDesc& image, const void* hwc,
                                           const void* nchw) noexcept {
  ConvertJob job;
  job.image = image;
  auto* base = static_cast<std::byte*>(const_cast<void*>(hwc));
  if (image.planar()) {
    const std::size_t row = static_cast<std::size_t>(image.width) * bytes_of(image.pixel);
    const std::size_t plane = row * static_cast<std::size_t>(image.height);
    job.plane = {base, base + plane, base + 2 * plane};
    job.pitch = {row, row, row};
  } else {
    job.plane[0] = base;
    job.pitch[0] = image.row_bytes();
  }
  job.tensor = static_cast<std::byte*>(const_cast<void*>(nchw));
  job.c_stride = static_cast<std::int64_t>(image.pixels());
  job.h_stride = image.width;
  job.w_stride = 1;
  job.packed = true;
  return job;
}

[[nodiscard]] inline ConvertJob packed_job(const YuvDesc& desc, const void* yuv,
                                           const void* nchw) noexcept {
  ConvertJob job;
  job.yuv = desc;
  auto* base = static_cast<std::byte*>(const_cast<void*>(yuv));
  job.plane = {base, base + desc.u_offset(), base + desc.v_offset()};
  const std::size_t chroma_row = desc.chroma_width() * desc.sample_bytes();
  job.pitch = {static_cast<std::size_t>(desc.width) * desc.sample_bytes(), chroma_row, chroma_row};
  job.tensor = static_cast<std::byte*>(const_cast<void*>(nchw));
  job.c_stride = static_cast<std::int64_t>(desc.pixels());
  job.h_stride = desc.width;
  job.w_stride = 1;
  job.packed = true;
  return job;
}

}  // namespace pyn::detail
