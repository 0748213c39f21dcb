// The head and tail layout kernels: one thread per output element, a grid-stride loop, the index
// arithmetic of the CPU references in layout_cpu.cpp.

#include <cstddef>

#include "element.cuh"
#include "layout.hpp"

namespace pyn::native {

namespace {

using namespace detail;  // element.cuh

template <class T>
__global__ void head_kernel(const T* __restrict__ in, T* __restrict__ out, HeadArgs a) {
  const std::size_t pixels = static_cast<std::size_t>(a.h) * a.w;
  const std::size_t total = static_cast<std::size_t>(a.n) * pixels * a.padded_c;
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    const int c = static_cast<int>(i % a.padded_c);
    const std::size_t pixel = i / a.padded_c;  // image * pixels + p
    const std::size_t image = pixel / pixels;
    const std::size_t p = pixel % pixels;
    out[i] = c < a.c ? in[(image * a.c + c) * pixels + p] : T(0.0F);
  }
}

template <class T>
__global__ void tail_kernel(const T* __restrict__ features, const T* __restrict__ skip,
                            T* __restrict__ out, TailArgs a) {
  const int s = a.scale;
  const int oh = a.h * s;
  const int ow = a.w * s;
  const std::size_t pixels = static_cast<std::size_t>(a.h) * a.w;
  const std::size_t total = static_cast<std::size_t>(a.n) * a.c * oh * ow;
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    const int x = static_cast<int>(i % ow);
    const std::size_t rest = i / ow;
    const int y = static_cast<int>(rest % oh);
    const std::size_t plane = rest / oh;  // image * c + channel
    const int c = static_cast<int>(plane % a.c);
    const std::size_t image = plane / a.c;
    const std::size_t p = static_cast<std::size_t>(y / s) * a.w + x / s;
    const int k = c * s * s + (y % s) * s + x % s;
    float v = load(features, (image * pixels + p) * a.feature_c + k);
    if (skip != nullptr) {
      v += load(skip, plane * pixels + p);
    }
    store(out, i, v);
  }
}

}  // namespace

void head_cuda(const HeadArgs& a, cudaStream_t stream) {
  const std::size_t total = static_cast<std::size_t>(a.n) * a.h * a.w * a.padded_c;
  if (total == 0) {
    return;
  }
  with_type(a.dtype, [&]<class T>(T*) {
    head_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(static_cast<const T*>(a.in),
                                                               static_cast<T*>(a.out), a);
  });
}

void tail_cuda(const TailArgs& a, cudaStream_t stream) {
  const std::size_t total = static_cast<std::size_t>(a.n) * a.c * a.h * a.scale * a.w * a.scale;
  if (total == 0) {
    return;
  }
  with_type(a.dtype, [&]<class T>(T*) {
    tail_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(
        static_cast<const T*>(a.features), static_cast<const T*>(a.skip), static_cast<T*>(a.out), a);
  });
}

}  // namespace pyn::native
