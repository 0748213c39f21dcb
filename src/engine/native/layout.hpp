#pragma once
// The native engine's two layout passes around its NHWC convolutions, on fp16 or bf16 tensors:
//
// head: the pipeline's NCHW input [n][c][h][w] -> NHWC [n][h][w][padded_c], the channels from c
//       on zero (the convolutions take channel counts in multiples of 8).
// tail: the last convolution's NHWC output [n][h][w][feature_c] -> pixel shuffle by `scale` (its
//       first c * scale^2 channels: channel k * scale^2 + i * scale + j lands on output channel k,
//       row y * scale + i, column x * scale + j, as PyTorch's PixelShuffle does) -> plus the NCHW
//       `skip` [n][c][h][w] upsampled by `scale` (nearest) where it is not null -> NCHW
//       [n][c][h * scale][w * scale]. The sum is taken in fp32 and rounded once.
//
// Each has a CPU reference that gives the same bits.

#include <cuda_runtime_api.h>

#include <cstdint>

#include "pynference/kernels/image.hpp"

namespace pyn::native {

struct HeadArgs {
  const void* in;
  void* out;
  int n, c, h, w, padded_c;
  DType dtype;  // f16 or bf16
};

struct TailArgs {
  const void* features;
  const void* skip;  // null: no skip
  void* out;
  int n, c, h, w, feature_c, scale;
  DType dtype;  // f16 or bf16
};

void head_cuda(const HeadArgs& args, cudaStream_t stream);
void tail_cuda(const TailArgs& args, cudaStream_t stream);

// The references, on the same pointers in host memory.
void head_cpu(const HeadArgs& args);
void tail_cpu(const TailArgs& args);

}  // namespace pyn::native
