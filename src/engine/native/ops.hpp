#pragma once
// The native engine's operators besides the convolutions, on its NHWC fp16 or bf16 tensors whose
// channels are padded to a multiple of 8 (`cp` channels stored, the padding zero): each has a CPU
// reference on host memory. Every value is computed in fp32 and rounded once.
//
// pointwise: act (an activation; `slopes` per stored channel, 1 for none), affine (x * scale +
//            shift), add (a + b), axpy (a * scalar + b), gate ((a + b) * (sigmoid(a) - 0.5)). The
//            per-channel vectors hold a value for every stored channel (padding: slope 1, scale 0,
//            shift 0), so padded channels stay zero.
// resize:    upsample (nearest) or pixel shuffle by `factor` of [n][h][w][in_cp] into
//            [n][h*f][w*f][out_cp]: out channel k < out_c from upsample's k or shuffle's
//            k * f^2 + i * f + j; channels from out_c on zero.
// concat:    copies all in_cp channels of `in` into `out`'s channels [offset, offset + in_cp).
// to_nchw:   the first c channels of [n][h][w][cp] into NCHW [n][c][h][w].

#include <cuda_runtime_api.h>

#include <cstddef>

#include "plan.hpp"
#include "pynference/kernels/image.hpp"

namespace pyn::native {

enum class Pointwise { act, affine, add, axpy, gate };

struct PointwiseArgs {
  Pointwise kind = Pointwise::act;
  const void* a = nullptr;
  const void* b = nullptr;  // add, axpy, gate
  void* out = nullptr;
  std::size_t pixels = 0;  // n * h * w
  int cp = 0;
  Activation activation = Activation::none;
  const float* slopes = nullptr;  // act (not silu)
  const float* scale = nullptr;   // affine
  const float* shift = nullptr;   // affine
  float scalar = 0.0F;            // axpy
  DType dtype = DType::f16;
};

struct ResizeArgs {
  bool shuffle = false;
  const void* in = nullptr;
  void* out = nullptr;
  int n = 0, h = 0, w = 0;  // the input's size
  int in_cp = 0, out_c = 0, out_cp = 0, factor = 1;
  DType dtype = DType::f16;
};

struct ConcatArgs {
  const void* in = nullptr;
  void* out = nullptr;
  std::size_t pixels = 0;
  int in_cp = 0, out_cp = 0, offset = 0;
  DType dtype = DType::f16;
};

struct ToNchwArgs {
  const void* in = nullptr;
  void* out = nullptr;
  int n = 0, c = 0, h = 0, w = 0, cp = 0;
  DType dtype = DType::f16;
};

void pointwise_cuda(const PointwiseArgs& args, cudaStream_t stream);
void resize_cuda(const ResizeArgs& args, cudaStream_t stream);
void concat_cuda(const ConcatArgs& args, cudaStream_t stream);
void to_nchw_cuda(const ToNchwArgs& args, cudaStream_t stream);

// The references; the per-channel vectors in host memory too.
void pointwise_cpu(const PointwiseArgs& args);
void resize_cpu(const ResizeArgs& args);
void concat_cpu(const ConcatArgs& args);
void to_nchw_cpu(const ToNchwArgs& args);

}  // namespace pyn::native
