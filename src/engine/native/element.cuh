#pragma once
// What the native engine's elementwise kernels (layout.cu, ops.cu) share: loads and stores of
// fp16/bf16 elements through fp32, the launch shape of their grid-stride loops, and the dispatch
// of a launch on the tensor's dtype.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstddef>

#include "pynference/device/cuda_check.hpp"
#include "pynference/kernels/image.hpp"

namespace pyn::native::detail {

constexpr int kThreads = 256;
constexpr std::size_t kMaxBlocks = 1U << 16;

__device__ inline float load(const __half* p, std::size_t i) { return __half2float(p[i]); }
__device__ inline float load(const __nv_bfloat16* p, std::size_t i) { return __bfloat162float(p[i]); }
__device__ inline void store(__half* p, std::size_t i, float v) { p[i] = __float2half_rn(v); }
__device__ inline void store(__nv_bfloat16* p, std::size_t i, float v) { p[i] = __float2bfloat16_rn(v); }

inline unsigned blocks_for(std::size_t total) {
  return static_cast<unsigned>(std::min<std::size_t>((total + kThreads - 1) / kThreads, kMaxBlocks));
}

// Calls launch with a null pointer of the element type (bf16, else fp16), then checks the launch.
template <class F>
void with_type(DType dtype, F&& launch) {
  if (dtype == DType::bf16) {
    launch(static_cast<__nv_bfloat16*>(nullptr));
  } else {
    launch(static_cast<__half*>(nullptr));
  }
  PYN_CUDA_CHECK_LAUNCH();
}

}  // namespace pyn::native::detail
