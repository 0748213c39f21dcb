#pragma once
// Which engine a command runs: a model file (-m) through the torch engine, or the synthetic one.

#include <memory>
#include <string>
#include <vector>

#include "args.hpp"
#include "pynference/device/device.hpp"
#include "pynference/engine/engine.hpp"
#include "pynference/engine/synthetic.hpp"

namespace pyn::cli {

// A command's own options followed by those of every engine-running command: --model,
// --fp32/--fp16/--bf16, --no-channels-last.
[[nodiscard]] std::vector<OptionSpec> with_engine_options(std::vector<OptionSpec> own);

// The tensor type the user asked for (a --fp* flag, else `fallback`).
[[nodiscard]] DType chosen_dtype(const Args& args, DType fallback);

// "synthetic[:xS[:MS]]" (default x2, 0 ms) as SyntheticOptions; throws UsageError.
[[nodiscard]] SyntheticOptions parse_synthetic_model(const std::string& spec, DType dtype);

// With --model: the torch engine on that file, or the synthetic engine for "synthetic[:...]";
// without it, the synthetic engine with `synthetic`. A state dict or .onnx file is compiled first
// for frames of width x height (model_compile.hpp), and padded to the size it was compiled for.
[[nodiscard]] std::unique_ptr<Engine> make_engine(const Device& device, const Args& args,
                                                  const SyntheticOptions& synthetic, int width,
                                                  int height);

}  // namespace pyn::cli
