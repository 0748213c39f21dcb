// KxK convolution (K 3 or 1, stride 1, zero padding K/2) with a fused per-channel bias + PReLU epilogue, run on
// Hopper (sm_90a) tensor cores through CUTLASS's implicit-GEMM conv. This header is plain C++ so
// that callers need neither CUTLASS nor nvcc; conv_sm90.cu holds the kernels.
#pragma once

#include <cstddef>
#include <string>

#include <cuda_runtime_api.h>

namespace pyn::native {

enum class ConvElement { f16, bf16 };

// What follows acc + bias[c] in the epilogue: x > 0 ? x : alpha[c] * x (none, ReLU, LeakyReLU and
// PReLU), silu, or SPAN's gate with the source tensor s: (x + s) * (sigmoid(x) - 0.5).
enum class ConvEpilogue { prelu, silu, gate };

struct ConvArgs {
  const void* input;   // NHWC [n][h][w][cin], contiguous
  const void* weight;  // KRSC [cout][K][K][cin], contiguous, same element type as input
  const float* bias;   // [cout], 16-byte aligned
  const float* alpha;  // [cout], 16-byte aligned; 1 = identity, 0 = ReLU, slope = (P)LeakyReLU
  void* output;        // NHWC [n][h][w][cout], contiguous, same element type as input
  int n, h, w, cin, cout;
  ConvElement element;
  int kernel = 3;  // K: 3 or 1
  ConvEpilogue epilogue = ConvEpilogue::prelu;
  const void* source = nullptr;  // gate: NHWC [n][h][w][cout], as the output
};

// Whether this build holds the sm_90a kernels at all (false for the CUTLASS-less conv_none.cpp).
// The device may still lack them at run time; conv_sm90 then returns cudaErrorNotSupported.
bool conv_sm90_built();

// The kernel conv_sm90 runs, by name ("128x64": 128-pixel tiles of 64 channels, as many pipeline
// stages as fit); a tuning build (-DPYN_NATIVE_TUNING=ON) also has fp16 variants that
// PYN_NATIVE_CONV=NAME picks, e.g. "128x64s3". Empty, with *why saying so, where PYN_NATIVE_CONV
// names none of this build's.
std::string conv_sm90_variant(std::string* why);

// Whether the kernel conv_sm90 runs has the silu and gate epilogues (and bf16): the default does,
// a tuning variant does not.
bool conv_sm90_fuses();

// Whether conv_sm90 takes these channel counts; says why not in *why if given. TMA needs rows of
// 16 bytes, so cin and cout must be positive multiples of 8 (fp16/bf16).
bool conv_sm90_supports(int cin, int cout, std::string* why);

// Device workspace bytes the launch needs for these args (0 for the current kernel).
std::size_t conv_sm90_workspace(const ConvArgs& args);

// Enqueues out = epilogue(conv(input, weight) + bias) on `stream`. No host sync, no allocation,
// no default stream, so it can be captured in a CUDA graph. Returns cudaErrorInvalidValue when the
// problem is rejected (see conv_sm90_supports), cudaErrorNotSupported when this build or device
// has no sm_90a kernel, else the launch's error.
cudaError_t conv_sm90(const ConvArgs& args, void* workspace, cudaStream_t stream);

}  // namespace pyn::native
