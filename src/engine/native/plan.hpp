#pragma once
// The native engine's plan: a network as the list of operators that engine runs, read from the
// native.plan and native.bin files that tools/native_plan.py writes (that file says the format).
// It holds fp32 weights in PyTorch's layout; the engine converts them for its device.

#include <string>
#include <vector>

namespace pyn::native {

enum class Activation { none, relu, leaky, prelu };

struct ConvLayer {
  int cin = 0;
  int cout = 0;
  Activation activation = Activation::none;
  float slope = 0.0F;         // leaky's negative slope
  std::vector<float> weight;  // [cout][cin][3][3]
  std::vector<float> bias;    // [cout]
  std::vector<float> alpha;   // [cout], prelu only
};

struct Plan {
  std::string arch;
  int input = 3;   // channels in
  int output = 3;  // channels out
  int scale = 1;   // the network's upscale factor
  std::vector<ConvLayer> convs;
  int shuffle = 1;            // pixel shuffle factor after the last conv
  bool skip_nearest = false;  // plus the input upsampled by `scale` (nearest)
};

// Reads the plan at `plan_path` and the native.bin beside it. Throws UsageError, one line naming
// the file (and line) and what is wrong: an unknown operator, channels that do not chain, weights
// that are short or too long.
[[nodiscard]] Plan load_plan(const std::string& plan_path);

// The per-channel factor applied to negative values after a layer: 1 (none), 0 (relu), the slope
// (leaky) or the PReLU's slopes, so one fused epilogue serves every activation.
[[nodiscard]] std::vector<float> negative_slopes(const ConvLayer& layer);

// Multiply-adds of one frame of width x height, times 2: the network's FLOP per frame.
[[nodiscard]] double flop_per_frame(const Plan& plan, int width, int height);

}  // namespace pyn::native
