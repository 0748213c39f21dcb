#pragma once
// Conversions between frame views (core/view.hpp) and tensor slices, prepared once per run.
//
// FrameToTensor reads a region of interest of a frame into slice n of an NCHW tensor (the roi's
// width x height is the tensor's W x H); TensorToFrame writes a crop of slice n into a frame with
// its top-left at (x, y). RGB/BGR frames, interleaved or planar, go through pre/post
// (kernels/prepost.hpp),
// planar YUV through the YUV kernels (kernels/yuv.hpp), with their arithmetic: a region gives the
// bytes the packed whole-frame kernels give for a frame cut out at that region, on either backend.
// For 4:2:0, a region's chroma are the frame's samples at half its offsets, and a written chroma
// sample is the mean of its block's pixels inside the written region.
// Semi-planar and msb-aligned YUV (NV12, P010, yuv444p16 as NVDEC gives them: core/yuv_format.hpp)
// are read by FrameToTensor with the planar frames' arithmetic on their codes (a P010 code is its
// sample >> 6), through the general path; TensorToFrame refuses them (write planar_of(format)).
//
// Construction checks everything that does not depend on pointers and resolves the kernel for
// (format, dtype, backend); it throws UsageError, one line naming the field and its value:
//   - the format and dtype (as pre/post and the YUV kernels check them), a tensor of C = 3,
//     N, H, W >= 1 and strides >= 1 in elements (TensorView::layout());
//   - FrameToTensor: the roi (empty = the whole frame) inside the frame, of the tensor's H x W;
//   - TensorToFrame: the crop (empty = the whole slice) inside the slice, the destination
//     rectangle (x, y, crop size) inside the frame;
//   - 4:2:0: the frame region's x and y even, its width and height even unless it reaches the
//     frame's right or bottom edge. (A crop's offsets within the tensor may be odd: the tensor is
//     RGB at full resolution.)
// A call per frame takes the planes, the tensor's base and n, checks only what those give (null
// or misaligned pointers, pitches under a row or not a multiple of a sample, n outside 0..N-1)
// and enqueues the kernel on the stream's backend, which must be the prepared one. The whole
// frame, packed, with a contiguous slice takes the vectorised kernels; anything else a general
// path with the same results. A prepared object does not change after construction: several
// threads may call it at once, each with its own stream. Frame and tensor must not overlap, the
// strides must not make written elements overlap, and neither must the pitches. Where the planes
// lie (FrameView::memory) is not looked at: the caller gives memory the backend can reach.

#include <cuda_runtime_api.h>

#include "pynference/core/frame_format.hpp"
#include "pynference/core/types.hpp"
#include "pynference/core/view.hpp"
#include "pynference/device/device.hpp"

namespace pyn {

class Stream;

namespace detail {
struct ConvertJob;
using CpuRun = void (*)(const ConvertJob&);
}  // namespace detail

// What both directions fix once: the frame's format and region, the tensor's layout.
class PreparedConversion {
 public:
  [[nodiscard]] const FrameFormat& format() const noexcept { return format_; }
  [[nodiscard]] Backend backend() const noexcept { return backend_; }
  // The frame's rectangle the conversion reads or writes, never empty.
  [[nodiscard]] Rect region() const noexcept { return region_; }
  [[nodiscard]] DType dtype() const noexcept { return dtype_; }
  [[nodiscard]] const TensorShape& shape() const noexcept { return shape_; }
  [[nodiscard]] const TensorStrides& strides() const noexcept { return strides_; }

 protected:
  PreparedConversion(const char* op, Backend backend, const FrameFormat& format, DType dtype,
                     const TensorShape& shape, const TensorStrides& strides);
  // The checks of one frame and the job they give; (tensor_x, tensor_y) is the slice's element at
  // the region's top-left.
  void fill_job(detail::ConvertJob& job, const FramePlanes& planes, const void* tensor, int n,
                int tensor_x, int tensor_y) const;
  void check_stream(Stream& stream) const;

  const char* op_;
  Backend backend_;
  FrameFormat format_;
  Rect region_;
  DType dtype_;
  TensorShape shape_;
  TensorStrides strides_;
  bool whole_ = false;  // the region is the frame and a slice is contiguous
};

class FrameToTensor : public PreparedConversion {
 public:
  // `layout`'s data is not used: shape, strides and dtype are.
  FrameToTensor(Backend backend, const FrameFormat& format, Rect roi, const TensorView& layout);

  // Enqueue the conversion of one frame into slice n of `tensor` (a base of the prepared layout).
  void operator()(Stream& stream, const FramePlanes& src, void* tensor, int n) const;
  // The CPU reference on the calling thread, whatever the backend.
  void run_cpu(const FramePlanes& src, void* tensor, int n) const;

 private:
  detail::CpuRun cpu_;
  void (*cuda_)(const detail::ConvertJob&, cudaStream_t) = nullptr;
};

class TensorToFrame : public PreparedConversion {
 public:
  // The crop of slice n of a tensor of `layout` into a frame of `format` at (x, y).
  TensorToFrame(Backend backend, const TensorView& layout, Rect crop, const FrameFormat& format,
                int x, int y);

  void operator()(Stream& stream, const void* tensor, int n, const FramePlanes& dst) const;
  void run_cpu(const void* tensor, int n, const FramePlanes& dst) const;

  [[nodiscard]] Rect crop() const noexcept { return crop_; }

 private:
  Rect crop_;
  detail::CpuRun cpu_;
  void (*cuda_)(const detail::ConvertJob&, cudaStream_t) = nullptr;
};

}  // namespace pyn
