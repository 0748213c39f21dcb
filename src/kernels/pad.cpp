// The typed entry points of pad and crop: check the two tensors, then run on the stream's backend.

#include "pynference/kernels/pad.hpp"

#include <string>

#include "pynference/device/device.hpp"
#include "pynference/device/error.hpp"
#include "pynference/device/stream.hpp"

namespace pyn {

namespace {

std::string str(const TensorShape& s) {
  return std::to_string(s.n) + "x" + std::to_string(s.c) + "x" + std::to_string(s.h) + "x" +
         std::to_string(s.w);
}

// `large` must hold `small` in its top-left corner.
void check(const char* op, Stream& stream, const TensorView& small, const TensorView& large) {
  if (!stream) {
    throw UsageError(std::string(op) + ": the stream is empty (moved from or default-constructed)");
  }
  if (small.data == nullptr || large.data == nullptr) {
    throw UsageError(std::string(op) + ": a tensor has no data");
  }
  if (small.dtype != large.dtype) {
    throw UsageError(std::string(op) + ": the tensors' dtypes differ (" +
                     std::string(to_string(small.dtype)) + ", " +
                     std::string(to_string(large.dtype)) + ")");
  }
  if (!small.contiguous() || !large.contiguous()) {
    throw UsageError(std::string(op) + ": takes contiguous NCHW tensors, not views with strides");
  }
  const TensorShape& s = small.shape;
  const TensorShape& l = large.shape;
  if (s.n < 1 || s.c < 1 || s.h < 1 || s.w < 1 || s.n != l.n || s.c != l.c || l.h < s.h ||
      l.w < s.w) {
    throw UsageError(std::string(op) + ": cannot go between " + str(s) + " and " + str(l) +
                     " (same N and C, the larger H and W on the padded side)");
  }
}

}  // namespace

void pad(Stream& stream, const TensorView& in, const TensorView& out) {
  check("pad", stream, in, out);
  if (stream.backend() == Backend::cuda) {
    pad_cuda(in, out, static_cast<cudaStream_t>(stream.native()));
  } else {
    stream.enqueue([in, out] { pad_cpu(in, out); });
  }
}

void crop(Stream& stream, const TensorView& in, const TensorView& out) {
  check("crop", stream, out, in);
  if (stream.backend() == Backend::cuda) {
    crop_cuda(in, out, static_cast<cudaStream_t>(stream.native()));
  } else {
    stream.enqueue([in, out] { crop_cpu(in, out); });
  }
}

}  // namespace pyn
