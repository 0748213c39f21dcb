#pragma once
// Padding an NCHW tensor to the size a network needs, and cropping its output back: what spandrel's
// descriptor does around a network, done on the device by the pipeline.
//
// pad:  `out` is `in` grown at its right and bottom edges to out's H and W, the way spandrel pads
//       (spandrel/__helpers/size_req.py): first reflect, whose mirror does not repeat the edge and
//       reaches at most size - 1 samples, then replicate the last of those for what is left. Along
//       one axis of n samples padded to m: index i reads pad_source(i, n, m).
// crop: `out` is the top-left out.H x out.W corner of `in`.
//
// Both only move elements: the dtypes must match and the results are exact. N and C must match;
// `out` must not overlap `in`. Bad arguments throw UsageError before anything is enqueued.

#include <cuda_runtime_api.h>

#include "pynference/kernels/image.hpp"

// pad_source runs in the CUDA kernel too.
#ifdef __CUDACC__
#define PYN_HOST_DEVICE __host__ __device__
#else
#define PYN_HOST_DEVICE
#endif

namespace pyn {

class Stream;

// The source index of padded index i, 0 <= i < padded, along an axis of `size` >= 1 samples.
[[nodiscard]] PYN_HOST_DEVICE constexpr int pad_source(int i, int size, int padded) noexcept {
  const int reflected = padded - size < size - 1 ? padded - size : size - 1;
  const int last = size + reflected - 1;
  const int j = i < last ? i : last;  // replicate beyond the reflected part
  return j < size ? j : 2 * (size - 1) - j;
}

// The CPU reference, also the host backend's implementation. Runs on the calling thread.
void pad_cpu(const TensorView& in, const TensorView& out);
void crop_cpu(const TensorView& in, const TensorView& out);

// Enqueue the kernel on `stream` and return; launch errors throw DeviceError.
void pad_cuda(const TensorView& in, const TensorView& out, cudaStream_t stream);
void crop_cuda(const TensorView& in, const TensorView& out, cudaStream_t stream);

// On the stream's backend, in stream order.
void pad(Stream& stream, const TensorView& in, const TensorView& out);
void crop(Stream& stream, const TensorView& in, const TensorView& out);

}  // namespace pyn
