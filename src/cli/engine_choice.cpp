#include "engine_choice.hpp"

#include <optional>
#include <string>

#include "pynference/device/error.hpp"
#include "pynference/engine/model.hpp"

namespace pyn::cli {

std::vector<OptionSpec> with_engine_options(std::vector<OptionSpec> own) {
  std::vector<OptionSpec> engine = {
      {"model", "FILE",
       "network to run (-m): a state dict (.pth/.pt/.ckpt/.safetensors, compiled once "
       "into the cache: docs/models.md), .onnx, TorchScript .pt/.ts, AOTInductor .pt2, or "
       "synthetic[:xS[:MS]] (the synthetic engine, which bench uses without -m)",
       ""},
      {"engine", "E",
       "which engine runs a state dict (-m): torch (LibTorch: AOTInductor or a trace), native "
       "(pynference's own convolutions: Real-ESRGAN Compact, SPAN and ESRGAN; fp16/bf16 on "
       "Hopper GPUs, fp32 on the CPU: docs/engine.md) or auto (native where it runs the "
       "network and the GPU, else torch)",
       "torch"},
      {"fp32", "", "run the network in fp32", ""},
      {"fp16", "",
       "run the network in fp16 (the default, but for state dicts: their fastest safe dtype)", ""},
      {"bf16", "", "run the network in bf16", ""},
      {"noise-level", "L",
       "DRUNet, FDnCNN (state dicts): the noise level the network removes, 0-255 (default 15)", ""},
      {"no-channels-last", "", "keep TorchScript weights in NCHW (channels_last is usually faster)",
       ""},
      {"cudnn-benchmark", "",
       "let cuDNN time its algorithms before the first frame and keep the fastest (a slower "
       "start, frames a few percent faster)",
       ""},
  };
  own.insert(own.end(), engine.begin(), engine.end());
  return own;
}

SyntheticOptions parse_synthetic_model(const std::string& spec, DType dtype) {
  try {
    return pyn::parse_synthetic_model(spec, dtype);
  } catch (const UsageError&) {
    throw UsageError("expected -m synthetic[:xSCALE[:MS]], e.g. synthetic:x2:1.5, got '" + spec +
                     "'");
  }
}

DType chosen_dtype(const Args& args, DType fallback) {
  const int flags =
      (args.flag("fp32") ? 1 : 0) + (args.flag("fp16") ? 1 : 0) + (args.flag("bf16") ? 1 : 0);
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

namespace {

std::optional<DType> asked_dtype(const Args& args) {
  if (!args.flag("fp32") && !args.flag("fp16") && !args.flag("bf16")) {
    return std::nullopt;
  }
  return chosen_dtype(args, DType::f16);
}

}  // namespace

std::unique_ptr<Engine> make_engine(const Device& device, const Args& args,
                                    const SyntheticOptions& synthetic, int width, int height) {
  if (args.has("noise-level") && !args.has("model")) {
    throw UsageError("--noise-level is for a model (-m) that takes one");
  }
  if (!args.has("model")) {
    if (args.has("engine") && args.str("engine") == "native") {
      throw UsageError("--engine native runs a state dict given with -m");
    }
    return std::make_unique<SyntheticEngine>(device, synthetic);
  }
  const std::string model = args.str("model");
  if (is_synthetic_model(model)) {
    if (args.str("engine") == "native") {
      throw UsageError("--engine native runs a state dict, not " + model);
    }
    return std::make_unique<SyntheticEngine>(device,
                                             cli::parse_synthetic_model(model, synthetic.dtype));
  }
  ModelRequest request{model, asked_dtype(args), !args.flag("no-channels-last"), std::nullopt,
                       args.flag("cudnn-benchmark"), args.str("engine")};
  if (model_needs_frame_size(model)) {
    if (width < 1 || height < 1) {
      throw UsageError(model +
                       " is compiled for the frames' size, which this command does not know: use "
                       "it with run, bench or info");
    }
    if (args.has("noise-level")) {
      request.noise_level = args.number("noise-level", 0.0, 255.0);
    }
  }
#ifdef PYN_HAVE_TORCH
  else if (args.has("noise-level")) {
    throw UsageError("--noise-level is for state dicts that take one (DRUNet, FDnCNN), not " +
                     model);
  }
#endif
  return open_model(device, request, width, height);
}

}  // namespace pyn::cli
