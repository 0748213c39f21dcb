// The prepared conversions: every check that does not depend on pointers once, then per frame the
// few that do and one call of the resolved launcher.

#include "pynference/kernels/convert.hpp"

#include <cstdint>
#include <string>

#include "convert_job.hpp"
#include "prepost_args.hpp"
#include "pynference/core/error.hpp"
#include "pynference/device/stream.hpp"
#include "yuv_args.hpp"

namespace pyn {
namespace {

[[noreturn]] void fail(const char* op, const std::string& why) {
  throw UsageError(std::string(op) + ": " + why);
}

// RGB, interleaved or planar: the pre/post kernels'.
bool rgb(const FrameFormat& format) { return std::holds_alternative<ImageDesc>(format); }

detail::CpuRun resolve_cpu_of(const ImageDesc& image, DType dtype, bool to_tensor) {
  if (image.planar()) {
    return to_tensor ? detail::resolve_planar_pre_cpu(image.pixel, dtype)
                     : detail::resolve_planar_post_cpu(image.pixel, dtype);
  }
  return to_tensor ? detail::resolve_pre_cpu(image.pixel, dtype)
                   : detail::resolve_post_cpu(image.pixel, dtype);
}

detail::CudaLaunch resolve_cuda_of(const ImageDesc& image, DType dtype, bool to_tensor) {
  if (image.planar()) {
    return to_tensor ? detail::resolve_planar_pre_cuda(image.pixel, dtype)
                     : detail::resolve_planar_post_cuda(image.pixel, dtype);
  }
  return to_tensor ? detail::resolve_pre_cuda(image.pixel, dtype)
                   : detail::resolve_post_cuda(image.pixel, dtype);
}

std::string size_of(int width, int height) {
  return std::to_string(width) + "x" + std::to_string(height);
}

bool inside(const Rect& r, int width, int height) {
  return r.x >= 0 && r.y >= 0 && r.width > 0 && r.height > 0 && r.x <= width - r.width &&
         r.y <= height - r.height;
}

// 4:2:0 regions start on a chroma sample and cover whole ones but at the frame's edges.
void check_even(const char* op, const FrameFormat& format, const Rect& r, const char* what) {
  const auto* yuv = std::get_if<YuvDesc>(&format);
  if (yuv == nullptr || yuv->chroma != ChromaLayout::yuv420) {
    return;
  }
  const std::string name = std::string("4:2:0 ") + what + " " + to_string(r);
  if (r.x % 2 != 0 || r.y % 2 != 0) {
    fail(op, name + " starts at an odd x or y");
  }
  if (r.width % 2 != 0 && r.x + r.width != yuv->width) {
    fail(op, name + " has an odd width and ends before the frame's right edge at " +
                 std::to_string(yuv->width));
  }
  if (r.height % 2 != 0 && r.y + r.height != yuv->height) {
    fail(op, name + " has an odd height and ends before the frame's bottom edge at " +
                 std::to_string(yuv->height));
  }
}

// The format at the region's size: what the launchers convert.
void set_region_format(detail::ConvertJob& job, const FrameFormat& format, const Rect& region) {
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    job.image = *image;
    job.image.width = region.width;
    job.image.height = region.height;
  } else {
    job.yuv = std::get<YuvDesc>(format);
    job.yuv.width = region.width;
    job.yuv.height = region.height;
  }
}

}  // namespace

PreparedConversion::PreparedConversion(const char* op, Backend backend, const FrameFormat& format,
                                       DType dtype, const TensorShape& shape,
                                       const TensorStrides& strides)
    : op_(op), backend_(backend), format_(format), dtype_(dtype), shape_(shape), strides_(strides) {
  if (backend != Backend::cuda && backend != Backend::host) {
    fail(op, "unknown backend " + std::to_string(static_cast<int>(backend)));
  }
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    detail::check_prepost_format(op, *image);
  } else {
    detail::check_yuv_format(op, std::get<YuvDesc>(format), dtype);
  }
  if (shape.c != 3 || shape.n < 1 || shape.h < 1 || shape.w < 1) {
    fail(op, "tensor shape {" + std::to_string(shape.n) + "," + std::to_string(shape.c) + "," +
                 std::to_string(shape.h) + "," + std::to_string(shape.w) +
                 "} is not N x 3 x H x W with N, H, W >= 1");
  }
  if (strides.n < 1 || strides.c < 1 || strides.h < 1 || strides.w < 1) {
    fail(op, "tensor strides {" + std::to_string(strides.n) + "," + std::to_string(strides.c) +
                 "," + std::to_string(strides.h) + "," + std::to_string(strides.w) +
                 "} are not all >= 1");
  }
}

void PreparedConversion::check_stream(Stream& stream) const {
  if (!stream) {
    fail(op_, "the stream is empty (moved from or default-constructed)");
  }
  if (stream.backend() != backend_) {
    fail(op_, std::string("the stream is on the ") +
                  (stream.backend() == Backend::cuda ? "cuda" : "host") +
                  " backend, the conversion was prepared for the " +
                  (backend_ == Backend::cuda ? "cuda" : "host") + " one");
  }
}

void PreparedConversion::fill_job(detail::ConvertJob& job, const FramePlanes& planes,
                                  const void* tensor, int n, int tensor_x, int tensor_y) const {
  if (n < 0 || n >= shape_.n) {
    fail(op_, "slice n " + std::to_string(n) + " is outside the tensor's N of " +
                  std::to_string(shape_.n));
  }
  if (tensor == nullptr) {
    fail(op_, "tensor pointer is null");
  }
  const std::size_t element = bytes_of(dtype_);
  if (reinterpret_cast<std::uintptr_t>(tensor) % element != 0) {
    fail(op_, "tensor pointer is not aligned to its " + std::to_string(element) + "-byte elements");
  }
  try {
    check_planes(format_, planes);
  } catch (const UsageError& e) {
    fail(op_, e.what());
  }
  set_region_format(job, format_, region_);
  const std::size_t sample = sample_bytes_of(format_);
  const auto x = static_cast<std::size_t>(region_.x);
  const auto y = static_cast<std::size_t>(region_.y);
  for (int p = 0; p < plane_count(format_); ++p) {
    const auto i = static_cast<std::size_t>(p);
    std::size_t column = x * sample * (plane_count(format_) == 1 ? 3 : 1);
    std::size_t row = y;
    if (const auto* yuv = std::get_if<YuvDesc>(&format_);
        p > 0 && yuv != nullptr && yuv->chroma == ChromaLayout::yuv420) {
      column = x / 2 * sample;
      row = y / 2;
    }
    job.plane[i] = planes[i].data + row * planes[i].pitch + column;
    job.pitch[i] = planes[i].pitch;
  }
  if (const auto* yuv = std::get_if<YuvDesc>(&format_); yuv != nullptr && yuv->interleaved_chroma) {
    const std::size_t chroma_x = yuv->chroma == ChromaLayout::yuv420 ? x / 2 : x;
    const std::size_t chroma_y = yuv->chroma == ChromaLayout::yuv420 ? y / 2 : y;
    job.plane[1] = planes[1].data + chroma_y * planes[1].pitch + chroma_x * 2 * sample;
    job.plane[2] = job.plane[1] + sample;
    job.pitch[2] = job.pitch[1];
    job.chroma_step = 2;
  }
  const std::int64_t offset = static_cast<std::int64_t>(n) * strides_.n +
                              static_cast<std::int64_t>(tensor_y) * strides_.h +
                              static_cast<std::int64_t>(tensor_x) * strides_.w;
  job.tensor = static_cast<std::byte*>(const_cast<void*>(tensor)) +
               offset * static_cast<std::int64_t>(element);
  job.c_stride = strides_.c;
  job.h_stride = strides_.h;
  job.w_stride = strides_.w;
  // The vectorised kernels read planar frames only.
  const auto* yuv = std::get_if<YuvDesc>(&format_);
  job.packed = whole_ && is_packed(format_, planes) && (yuv == nullptr || yuv->planar());
}

FrameToTensor::FrameToTensor(Backend backend, const FrameFormat& format, Rect roi,
                             const TensorView& layout)
    : PreparedConversion(rgb(format) ? "pre" : "yuv_to_tensor", backend, format,
                         layout.dtype, layout.shape, layout.layout()) {
  const int width = width_of(format);
  const int height = height_of(format);
  region_ = roi.empty() ? Rect{0, 0, width, height} : roi;
  if (!inside(region_, width, height)) {
    fail(op_, "roi " + to_string(region_) + " is outside the " + size_of(width, height) + " frame");
  }
  if (region_.width != shape_.w || region_.height != shape_.h) {
    fail(op_, "roi " + to_string(region_) + " is " + size_of(region_.width, region_.height) +
                  " but the tensor's W x H is " + size_of(shape_.w, shape_.h));
  }
  check_even(op_, format, region_, "roi");
  whole_ = region_ == Rect{0, 0, width, height} &&
           TensorView{nullptr, shape_, dtype_, strides_}.slice(0).contiguous();
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    cpu_ = resolve_cpu_of(*image, dtype_, true);
    cuda_ = resolve_cuda_of(*image, dtype_, true);
  } else {
    cpu_ = detail::resolve_yuv_to_tensor_cpu(std::get<YuvDesc>(format), dtype_);
    cuda_ = detail::resolve_yuv_to_tensor_cuda(std::get<YuvDesc>(format), dtype_);
  }
}

void FrameToTensor::operator()(Stream& stream, const FramePlanes& src, void* tensor, int n) const {
  check_stream(stream);
  detail::ConvertJob job;
  fill_job(job, src, tensor, n, 0, 0);
  if (backend_ == Backend::cuda) {
    cuda_(job, static_cast<cudaStream_t>(stream.native()));
  } else {
    stream.enqueue([run = cpu_, job] { run(job); });
  }
}

void FrameToTensor::run_cpu(const FramePlanes& src, void* tensor, int n) const {
  detail::ConvertJob job;
  fill_job(job, src, tensor, n, 0, 0);
  cpu_(job);
}

TensorToFrame::TensorToFrame(Backend backend, const TensorView& layout, Rect crop,
                             const FrameFormat& format, int x, int y)
    : PreparedConversion(rgb(format) ? "post" : "tensor_to_yuv", backend, format,
                         layout.dtype, layout.shape, layout.layout()) {
  crop_ = crop.empty() ? Rect{0, 0, shape_.w, shape_.h} : crop;
  if (!inside(crop_, shape_.w, shape_.h)) {
    fail(op_, "crop " + to_string(crop_) + " is outside the tensor's " +
                  size_of(shape_.w, shape_.h) + " slice");
  }
  const int width = width_of(format);
  const int height = height_of(format);
  region_ = Rect{x, y, crop_.width, crop_.height};
  if (!inside(region_, width, height)) {
    fail(op_, "destination " + to_string(region_) + " is outside the " + size_of(width, height) +
                  " frame");
  }
  check_even(op_, format, region_, "destination");
  if (const auto* yuv = std::get_if<YuvDesc>(&format); yuv != nullptr && !yuv->planar()) {
    fail(op_, "frames of " + to_string(*yuv) + " are read, not written: write " +
                  to_string(planar_of(*yuv)));
  }
  whole_ = region_ == Rect{0, 0, width, height} && crop_ == Rect{0, 0, shape_.w, shape_.h} &&
           TensorView{nullptr, shape_, dtype_, strides_}.slice(0).contiguous();
  if (const auto* image = std::get_if<ImageDesc>(&format)) {
    cpu_ = resolve_cpu_of(*image, dtype_, false);
    cuda_ = resolve_cuda_of(*image, dtype_, false);
  } else {
    cpu_ = detail::resolve_tensor_to_yuv_cpu(std::get<YuvDesc>(format), dtype_);
    cuda_ = detail::resolve_tensor_to_yuv_cuda(std::get<YuvDesc>(format), dtype_);
  }
}

void TensorToFrame::operator()(Stream& stream, const void* tensor, int n,
                               const FramePlanes& dst) const {
  check_stream(stream);
  detail::ConvertJob job;
  fill_job(job, dst, tensor, n, crop_.x, crop_.y);
  if (backend_ == Backend::cuda) {
    cuda_(job, static_cast<cudaStream_t>(stream.native()));
  } else {
    stream.enqueue([run = cpu_, job] { run(job); });
  }
}

void TensorToFrame::run_cpu(const void* tensor, int n, const FramePlanes& dst) const {
  detail::ConvertJob job;
  fill_job(job, dst, tensor, n, crop_.x, crop_.y);
  cpu_(job);
}

}  // namespace pyn
