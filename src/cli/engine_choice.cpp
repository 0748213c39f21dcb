#include "engine_choice.hpp"

#include <cstdlib>
#include <string>

#include "pynference/device/error.hpp"
#ifdef PYN_HAVE_TORCH
#include "pynference/engine/torch_engine.hpp"
#endif

namespace pyn::cli {

std::vector<OptionSpec> with_engine_options(std::vector<OptionSpec> own) {
  std::vector<OptionSpec> engine = {
      {"model", "FILE", "network to run (-m): TorchScript .pt/.ts, AOTInductor .pt2, or "
                        "synthetic[:xS[:MS]] (the synthetic engine, which bench uses without -m)", ""},
      {"fp32", "", "run the network in fp32", ""},
      {"fp16", "", "run the network in fp16 (the default)", ""},
      {"bf16", "", "run the network in bf16", ""},
      {"no-channels-last", "", "keep TorchScript weights in NCHW (channels_last is usually faster)", ""},
  };
  own.insert(own.end(), engine.begin(), engine.end());
  return own;
}

SyntheticOptions parse_synthetic_model(const std::string& spec, DType dtype) {
  // synthetic[:xS[:MS]]
  const std::string usage = "expected -m synthetic[:xSCALE[:MS]], e.g. synthetic:x2:1.5, got '" + spec + "'";
  SyntheticOptions options{0.0, 2, dtype};
  std::string rest = spec.size() > 10 ? spec.substr(10) : "";
  if (rest.empty()) {
    return options;
  }
  std::string ms;
  if (const std::size_t colon = rest.find(':'); colon != std::string::npos) {
    ms = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  char* end = nullptr;
  const long scale = rest.size() > 1 && rest[0] == 'x' ? std::strtol(rest.c_str() + 1, &end, 10) : 0;
  if (scale < 1 || scale > 16 || *end != '\0') {
    throw UsageError(usage);
  }
  options.scale = static_cast<int>(scale);
  if (!ms.empty()) {
    options.compute_ms = std::strtod(ms.c_str(), &end);
    if (*end != '\0' || !(options.compute_ms >= 0) || options.compute_ms > 10'000) {
      throw UsageError(usage);
    }
  }
  return options;
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
  if (const std::string model = args.str("model"); model == "synthetic" || model.starts_with("synthetic:")) {
    return std::make_unique<SyntheticEngine>(device, parse_synthetic_model(model, synthetic.dtype));
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
