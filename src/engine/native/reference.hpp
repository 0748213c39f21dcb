#pragma once
// The native engine's CPU reference: the plan run in fp32, operator by operator, the way PyTorch
// runs the network it came from. The host backend runs it as the engine, and the GPU tests hold the
// CUDA path to it.

#include "plan.hpp"

namespace pyn::native {

// `in` is NCHW [n][input channels][h][w]; `out` is NCHW [n][output channels][h * scale][w * scale].
// Each tensor is dropped after its last reader.
void forward_cpu(const Plan& plan, const float* in, int n, int h, int w, float* out);

}  // namespace pyn::native
