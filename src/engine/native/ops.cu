// The native engine's pointwise, resize, concat and layout kernels: one thread per output element,
// a grid-stride loop, the arithmetic of the CPU references in ops_cpu.cpp (expf for the sigmoid,
// as accurate as the host's exp to an ulp or so of fp32).

#include <cstddef>

#include "element.cuh"
#include "ops.hpp"

namespace pyn::native {

namespace {

using namespace detail;  // element.cuh

__device__ float sigmoid(float x) { return 1.0F / (1.0F + expf(-x)); }

template <class T>
__global__ void pointwise_kernel(const T* a, const T* b, T* out,  // out may be a: in place
                                 PointwiseArgs p) {
  const std::size_t total = p.pixels * static_cast<std::size_t>(p.cp);
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    const auto k = static_cast<int>(i % static_cast<std::size_t>(p.cp));
    const float x = load(a, i);
    float y = 0.0F;
    switch (p.kind) {
      case Pointwise::act:
        y = p.activation == Activation::silu ? x * sigmoid(x) : (x > 0.0F ? x : x * p.slopes[k]);
        break;
      case Pointwise::affine:
        y = fmaf(x, p.scale[k], p.shift[k]);  // one rounding, as ops_cpu.cpp
        break;
      case Pointwise::add:
        y = x + load(b, i);
        break;
      case Pointwise::axpy:
        y = fmaf(x, p.scalar, load(b, i));
        break;
      case Pointwise::gate:
        y = (x + load(b, i)) * (sigmoid(x) - 0.5F);
        break;
    }
    store(out, i, y);
  }
}

template <class T>
__global__ void resize_kernel(const T* __restrict__ in, T* __restrict__ out, ResizeArgs r) {
  const int f = r.factor;
  const int oh = r.h * f;
  const int ow = r.w * f;
  const std::size_t total = static_cast<std::size_t>(r.n) * oh * ow * r.out_cp;
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    const int k = static_cast<int>(i % r.out_cp);
    const std::size_t pixel = i / r.out_cp;
    const int x = static_cast<int>(pixel % ow);
    const std::size_t rest = pixel / ow;
    const int y = static_cast<int>(rest % oh);
    const std::size_t image = rest / oh;
    if (k >= r.out_c) {
      out[i] = T(0.0F);
      continue;
    }
    const int from = r.shuffle ? k * f * f + (y % f) * f + x % f : k;
    out[i] = in[((image * r.h + y / f) * r.w + x / f) * r.in_cp + from];
  }
}

template <class T>
__global__ void concat_kernel(const T* __restrict__ in, T* __restrict__ out, ConcatArgs c) {
  const std::size_t total = c.pixels * static_cast<std::size_t>(c.in_cp);
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    const std::size_t p = i / c.in_cp;
    out[p * c.out_cp + c.offset + i % c.in_cp] = in[i];
  }
}

template <class T>
__global__ void to_nchw_kernel(const T* __restrict__ in, T* __restrict__ out, ToNchwArgs t) {
  const std::size_t pixels = static_cast<std::size_t>(t.h) * t.w;
  const std::size_t total = static_cast<std::size_t>(t.n) * t.c * pixels;
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    const std::size_t p = i % pixels;
    const std::size_t plane = i / pixels;
    const std::size_t c = plane % t.c;
    const std::size_t image = plane / t.c;
    out[i] = in[(image * pixels + p) * t.cp + c];
  }
}

// Runs `launch` with the dtype's element type.

}  // namespace

void pointwise_cuda(const PointwiseArgs& p, cudaStream_t stream) {
  const std::size_t total = p.pixels * static_cast<std::size_t>(p.cp);
  if (total == 0) {
    return;
  }
  with_type(p.dtype, [&]<class T>(T*) {
    pointwise_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(
        static_cast<const T*>(p.a), static_cast<const T*>(p.b), static_cast<T*>(p.out), p);
  });
}

void resize_cuda(const ResizeArgs& r, cudaStream_t stream) {
  const std::size_t total =
      static_cast<std::size_t>(r.n) * r.h * r.factor * r.w * r.factor * r.out_cp;
  if (total == 0) {
    return;
  }
  with_type(r.dtype, [&]<class T>(T*) {
    resize_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(static_cast<const T*>(r.in),
                                                                 static_cast<T*>(r.out), r);
  });
}

void concat_cuda(const ConcatArgs& c, cudaStream_t stream) {
  const std::size_t total = c.pixels * static_cast<std::size_t>(c.in_cp);
  if (total == 0) {
    return;
  }
  with_type(c.dtype, [&]<class T>(T*) {
    concat_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(static_cast<const T*>(c.in),
                                                                 static_cast<T*>(c.out), c);
  });
}

void to_nchw_cuda(const ToNchwArgs& t, cudaStream_t stream) {
  const std::size_t total = static_cast<std::size_t>(t.n) * t.c * t.h * t.w;
  if (total == 0) {
    return;
  }
  with_type(t.dtype, [&]<class T>(T*) {
    to_nchw_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(static_cast<const T*>(t.in),
                                                                  static_cast<T*>(t.out), t);
  });
}

}  // namespace pyn::native
