#include "engine_choice.hpp"

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "model_compile.hpp"
#include "pynference/device/error.hpp"
#include "pynference/engine/padded.hpp"
#ifdef PYN_HAVE_TORCH
#include "pynference/engine/torch_engine.hpp"
#endif

namespace pyn::cli {

std::vector<OptionSpec> with_engine_options(std::vector<OptionSpec> own) {
  std::vector<OptionSpec> engine = {
      {"model", "FILE",
       "network to run (-m): a state dict (.pth/.pt/.ckpt/.safetensors, compiled once "
       "into the cache: docs/models.md), .onnx, TorchScript .pt/.ts, AOTInductor .pt2, or "
       "synthetic[:xS[:MS]] (the synthetic engine, which bench uses without -m)",
       ""},
      {"fp32", "", "run the network in fp32", ""},
      {"fp16", "",
       "run the network in fp16 (the default, but for state dicts: their fastest safe dtype)", ""},
      {"bf16", "", "run the network in bf16", ""},
      {"noise-level", "L",
       "DRUNet (state dicts): the noise level the network removes, 0-255 (default 15)", ""},
      {"no-channels-last", "", "keep TorchScript weights in NCHW (channels_last is usually faster)",
       ""},
  };
  own.insert(own.end(), engine.begin(), engine.end());
  return own;
}

SyntheticOptions parse_synthetic_model(const std::string& spec, DType dtype) {
  // synthetic[:xS[:MS]]
  const std::string usage =
      "expected -m synthetic[:xSCALE[:MS]], e.g. synthetic:x2:1.5, got '" + spec + "'";
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
  const long scale =
      rest.size() > 1 && rest[0] == 'x' ? std::strtol(rest.c_str() + 1, &end, 10) : 0;
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

[[maybe_unused]] std::optional<DType> asked_dtype(const Args& args) {
  if (!args.flag("fp32") && !args.flag("fp16") && !args.flag("bf16")) {
    return std::nullopt;
  }
  return chosen_dtype(args, DType::f16);
}

}  // namespace

std::unique_ptr<Engine> make_engine(const Device& device, const Args& args,
                                    const SyntheticOptions& synthetic, [[maybe_unused]] int width,
                                    [[maybe_unused]] int height) {
  if (args.has("noise-level") && !args.has("model")) {
    throw UsageError("--noise-level is for a model (-m) that takes one");
  }
  if (!args.has("model")) {
    return std::make_unique<SyntheticEngine>(device, synthetic);
  }
  if (const std::string model = args.str("model");
      model == "synthetic" || model.starts_with("synthetic:")) {
    return std::make_unique<SyntheticEngine>(device, parse_synthetic_model(model, synthetic.dtype));
  }
#ifdef PYN_HAVE_TORCH
  TorchOptions options;
  options.dtype = chosen_dtype(args, DType::f16);
  options.channels_last = !args.flag("no-channels-last");
  const std::string path = args.str("model");
  if (!is_model_source(path)) {
    if (args.has("noise-level")) {
      throw UsageError("--noise-level is for state dicts that take one (DRUNet), not " + path);
    }
    return open_torch_engine(device, path, options);
  }
  if (width < 1 || height < 1) {
    throw UsageError(path +
                     " is compiled for the frames' size, which this command does not know: use it "
                     "with run, bench or info");
  }
  CompileRequest request{path, width, height, asked_dtype(args), std::nullopt};
  if (args.has("noise-level")) {
    request.noise_level = args.number("noise-level", 0.0, 255.0);
  }
  const CompiledModel compiled = compile_model(device, request);
  options.dtype = compiled.dtype;
  options.input_width = compiled.padded_width;
  options.input_height = compiled.padded_height;
  options.display_name = compiled.arch + " from " + std::filesystem::path(path).filename().string();
  std::unique_ptr<Engine> engine = open_torch_engine(device, compiled.artifact, options);
  if (compiled.padded_width == width && compiled.padded_height == height) {
    return engine;
  }
  return make_padded_engine(device, std::move(engine), compiled.padded_width,
                            compiled.padded_height);
#else
  throw UsageError(
      "this build of pynference has no torch engine (LibTorch was not found when it was "
      "built), so it cannot load " +
      args.str("model"));
#endif
}

}  // namespace pyn::cli
