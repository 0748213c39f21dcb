#include "engine_choice.hpp"

#include "pynference/device/error.hpp"
#ifdef PYN_HAVE_TORCH
#include "pynference/engine/torch_engine.hpp"
#endif

namespace pyn::cli {

std::vector<OptionSpec> with_engine_options(std::vector<OptionSpec> own) {
  std::vector<OptionSpec> engine = {
      {"model", "FILE", "network to run (-m): TorchScript .pt/.ts or AOTInductor .pt2; without it, "
                        "the synthetic engine", ""},
      {"fp32", "", "run the network in fp32", ""},
      {"fp16", "", "run the network in fp16 (the default)", ""},
      {"bf16", "", "run the network in bf16", ""},
      {"no-channels-last", "", "keep TorchScript weights in NCHW (channels_last is usually faster)", ""},
  };
  own.insert(own.end(), engine.begin(), engine.end());
  return own;
}

DType chosen_dtype(const Args& args, DType fallback) {
  const int flags = (args.flag("fp32") ? 1 : 0) + (args.flag("fp16") ? 1 : 0) + (args.flag("bf16") ? 1 : 0);
  if (flags > 1) {
    throw UsageError("choose one of --fp32, --fp16 and --bf16");
  }
  if (args.flag("fp32")) {
    return DType::f32;
  }
  if (args.flag("bf16")) {
    return DType::bf16;
  }
  return args.flag("fp16") ? DType::f16 : fallback;
}

std::unique_ptr<Engine> make_engine(const Device& device, const Args& args, const SyntheticOptions& synthetic) {
  if (!args.has("model")) {
    return std::make_unique<SyntheticEngine>(device, synthetic);
  }
#ifdef PYN_HAVE_TORCH
  TorchOptions options;
  options.dtype = chosen_dtype(args, DType::f16);
  options.channels_last = !args.flag("no-channels-last");
  return open_torch_engine(device, args.str("model"), options);
#else
  throw UsageError("this build of pynference has no torch engine (LibTorch was not found when it was "
                   "built), so it cannot load " + args.str("model"));
#endif
}

}  // namespace pyn::cli
