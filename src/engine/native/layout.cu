// The head and tail layout kernels: one thread per output element, a grid-stride loop, the index
// arithmetic of the CPU references in layout_cpu.cpp.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstddef>

#include "layout.hpp"
#include "pynference/device/cuda_check.hpp"

namespace pyn::native {

namespace {

constexpr int kThreads = 256;
constexpr std::size_t kMaxBlocks = 1U << 16;

__device__ float load(const __half* p, std::size_t i) { return __half2float(p[i]); }
__device__ float load(const __nv_bfloat16* p, std::size_t i) { return __bfloat162float(p[i]); }
__device__ void store(__half* p, std::size_t i, float v) { p[i] = __float2half_rn(v); }
__device__ void store(__nv_bfloat16* p, std::size_t i, float v) { p[i] = __float2bfloat16_rn(v); }

unsigned blocks_for(std::size_t total) {
  return static_cast<unsigned>(std::min<std::size_t>((total + kThreads - 1) / kThreads, kMaxBlocks));
}

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

template <class T>
void launch_head(const HeadArgs& a, cudaStream_t stream) {
  const std::size_t total = static_cast<std::size_t>(a.n) * a.h * a.w * a.padded_c;
  if (total == 0) {
    return;
  }
  head_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(static_cast<const T*>(a.in),
                                                             static_cast<T*>(a.out), a);
  PYN_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_tail(const TailArgs& a, cudaStream_t stream) {
  const std::size_t total = static_cast<std::size_t>(a.n) * a.c * a.h * a.scale * a.w * a.scale;
  if (total == 0) {
    return;
  }
  tail_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(
      static_cast<const T*>(a.features), static_cast<const T*>(a.skip), static_cast<T*>(a.out), a);
  PYN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void head_cuda(const HeadArgs& args, cudaStream_t stream) {
  if (args.dtype == DType::bf16) {
    launch_head<__nv_bfloat16>(args, stream);
  } else {
    launch_head<__half>(args, stream);
  }
}

void tail_cuda(const TailArgs& args, cudaStream_t stream) {
  if (args.dtype == DType::bf16) {
    launch_tail<__nv_bfloat16>(args, stream);
  } else {
    launch_tail<__half>(args, stream);
  }
}

}  // namespace pyn::native
