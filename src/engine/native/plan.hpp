#pragma once
// The native engine's plan: a network as the list of operators that engine runs, read from the
// native.plan and native.bin files that tools/native_plan.py writes (that file says the format).
// Tensor 0 is the input; every operator makes the next tensor. Weights are fp32 in PyTorch's
// layout; the engine converts them for its device.

#include <string>
#include <vector>

namespace pyn::native {

enum class Activation { none, relu, leaky, prelu, silu };

enum class OpKind { conv, act, affine, add, axpy, gate, upsample, shuffle };

struct Op {
  OpKind kind = OpKind::conv;
  std::vector<int> inputs;  // tensor indices: conv concatenates them along the channels
  int channels = 0;         // of the tensor it makes
  int factor = 1;           // upsample, shuffle
  float scalar = 0.0F;      // axpy's factor
  // conv: K (3 or 1), weight [channels][cin][K][K], bias [channels]; act and conv: the activation,
  // leaky's slope, prelu's slopes [channels]; affine: scale and shift [channels] (in alpha, bias).
  int kernel = 3;
  Activation activation = Activation::none;
  float slope = 0.0F;
  std::vector<float> weight;
  std::vector<float> bias;
  std::vector<float> alpha;
};

struct TensorInfo {
  int channels = 0;
  int factor = 1;  // its size is the input's times this
};

struct Plan {
  std::string arch;
  int scale = 1;
  std::vector<TensorInfo> tensors;  // [0] is the input
  std::vector<Op> ops;              // ops[i] makes tensors[i + 1]
  int output = 0;                   // the tensor the network gives

  [[nodiscard]] int input_channels() const { return tensors.front().channels; }
  [[nodiscard]] int output_channels() const { return tensors[static_cast<std::size_t>(output)].channels; }
  [[nodiscard]] int cin(const Op& op) const;  // a conv's input channels, all inputs together
};

// Reads the plan at `plan_path` and the native.bin beside it. Throws UsageError, one line naming
// the file (and line) and what is wrong: an unknown operator, a tensor used before it is made,
// channels or sizes that do not match, weights that are short or too long.
[[nodiscard]] Plan load_plan(const std::string& plan_path);

// The per-channel factor applied to negative values after an activation that is linear for
// negative inputs: 1 (none), 0 (relu), the slope (leaky) or the PReLU's slopes, so one fused
// epilogue serves them all. Not for silu.
[[nodiscard]] std::vector<float> negative_slopes(const Op& op);

// For each tensor, the index of the last operator that reads it; -1 where none does, and the
// operator count for the output (which outlives them all).
[[nodiscard]] std::vector<int> last_uses(const Plan& plan);

// Multiply-adds of the convolutions on one frame of width x height, times 2.
[[nodiscard]] double flop_per_frame(const Plan& plan, int width, int height);

}  // namespace pyn::native
