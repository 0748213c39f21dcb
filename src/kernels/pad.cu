// The pad and crop CUDA kernels: one thread per output element, a grid-stride loop; the index
// arithmetic is the CPU reference's (pad_source in pad.hpp).

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "pynference/device/cuda_check.hpp"
#include "pynference/kernels/pad.hpp"

namespace pyn {

namespace {

constexpr int kThreads = 256;
constexpr std::size_t kMaxBlocks = 1U << 16;

struct Geometry {
  std::size_t total;  // output elements
  int in_h, in_w, out_h, out_w;
};

template <class T, bool Pad>
__global__ void remap_kernel(const T* __restrict__ in, T* __restrict__ out, Geometry g) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < g.total;
       i += stride) {
    const int x = static_cast<int>(i % static_cast<std::size_t>(g.out_w));
    const std::size_t rest = i / static_cast<std::size_t>(g.out_w);
    const int y = static_cast<int>(rest % static_cast<std::size_t>(g.out_h));
    const std::size_t plane = rest / static_cast<std::size_t>(g.out_h);
    const int sy = Pad ? pad_source(y, g.in_h, g.out_h) : y;
    const int sx = Pad ? pad_source(x, g.in_w, g.out_w) : x;
    out[i] = in[(plane * static_cast<std::size_t>(g.in_h) + static_cast<std::size_t>(sy)) *
                    static_cast<std::size_t>(g.in_w) +
                static_cast<std::size_t>(sx)];
  }
}

template <bool Pad>
void launch(const TensorView& in, const TensorView& out, cudaStream_t stream) {
  const Geometry g{out.shape.elements(), in.shape.h, in.shape.w, out.shape.h, out.shape.w};
  if (g.total == 0) {
    return;
  }
  const std::size_t blocks = std::min<std::size_t>((g.total + kThreads - 1) / kThreads, kMaxBlocks);
  if (bytes_of(in.dtype) == 4) {
    remap_kernel<std::uint32_t, Pad><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
        static_cast<const std::uint32_t*>(in.data), static_cast<std::uint32_t*>(out.data), g);
  } else {
    remap_kernel<std::uint16_t, Pad><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
        static_cast<const std::uint16_t*>(in.data), static_cast<std::uint16_t*>(out.data), g);
  }
  PYN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void pad_cuda(const TensorView& in, const TensorView& out, cudaStream_t stream) {
  launch<true>(in, out, stream);
}

void crop_cuda(const TensorView& in, const TensorView& out, cudaStream_t stream) {
  launch<false>(in, out, stream);
}

}  // namespace pyn
