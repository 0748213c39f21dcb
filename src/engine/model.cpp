#include "pynference/engine/model.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "pynference/core/error.hpp"
#include "pynference/engine/model_compile.hpp"
#include "pynference/engine/native_engine.hpp"
#include "pynference/engine/padded.hpp"
#ifdef PYN_HAVE_TORCH
#include "pynference/engine/torch_engine.hpp"
#endif

namespace pyn {

bool is_synthetic_model(std::string_view model) noexcept {
  return model == "synthetic" || model.starts_with("synthetic:");
}

SyntheticOptions parse_synthetic_model(const std::string& spec, DType dtype) {
  const std::string usage =
      "expected synthetic[:xSCALE[:MS]], e.g. synthetic:x2:1.5, got '" + spec + "'";
  if (!is_synthetic_model(spec)) {
    throw UsageError(usage);
  }
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

namespace {

#ifdef PYN_HAVE_TORCH
bool is_source(const std::string& path) { return is_model_source(path); }
#else
// Without LibTorch a zip archive's records cannot be read, and only state dicts can run (through
// the native engine): a file named as one is taken for one, and compile_model.py says in one line
// where it is not.
bool is_source(const std::string& path) {
  namespace fs = std::filesystem;
  std::string extension = fs::path(path).extension().string();
  for (char& c : extension) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  std::error_code ec;
  return fs::is_regular_file(path, ec) &&
         (extension == ".pth" || extension == ".pt" || extension == ".ckpt" || extension == ".safetensors" ||
          extension == ".onnx");
}
#endif

}  // namespace

bool model_needs_frame_size(const std::string& model) {
  return !is_synthetic_model(model) && is_source(model);
}

namespace {

// What tools/compile_model.py is asked for: `auto` becomes torch where the device cannot run the
// native engine, and `native` is refused there at once, before any Python starts.
std::string engine_to_ask(const Device& device, const std::string& engine) {
  if (engine != "torch" && engine != "native" && engine != "auto") {
    throw UsageError("the engine is torch, native or auto, not '" + engine + "'");
  }
  if (engine == "torch") {
    return engine;
  }
  std::string why;
  if (!native_engine_runs_on(device, &why)) {
    if (engine == "native") {
      throw UsageError(why);
    }
    return "torch";
  }
  // The host backend runs the native engine's fp32 reference, slower than LibTorch's CPU kernels:
  // only where asked by name.
  return engine == "auto" && device.backend() == Backend::host ? "torch" : engine;
}

#ifndef PYN_HAVE_TORCH
std::string no_torch_engine(const std::string& model) {
  return "this build of pynference has no torch engine (LibTorch was not found when it was "
         "built), so it cannot load " +
         model;
}
#endif

}  // namespace

std::unique_ptr<Engine> open_model(const Device& device, const ModelRequest& request, int width, int height) {
  const std::string engine = engine_to_ask(device, request.engine);
  if (engine == "native" && (is_synthetic_model(request.model) || !model_needs_frame_size(request.model))) {
    throw UsageError("the native engine runs state dicts (.pth/.pt/.ckpt/.safetensors), not " +
                     request.model);
  }
  if (is_synthetic_model(request.model)) {
    if (request.noise_level) {
      throw UsageError("noise_level is for state dicts that take one (DRUNet, FDnCNN), not " +
                       request.model);
    }
    return std::make_unique<SyntheticEngine>(
        device, parse_synthetic_model(request.model, request.dtype.value_or(DType::f16)));
  }
  const std::string& path = request.model;
  if (!is_source(path)) {
    if (request.noise_level) {
      throw UsageError("noise_level is for state dicts that take one (DRUNet, FDnCNN), not " +
                       path);
    }
#ifdef PYN_HAVE_TORCH
    TorchOptions options;
    options.dtype = request.dtype.value_or(DType::f16);
    options.channels_last = request.channels_last;
    options.cudnn_benchmark = request.cudnn_benchmark;
    return open_torch_engine(device, path, options);
#else
    throw UsageError(no_torch_engine(path));
#endif
  }
  if (width < 1 || height < 1) {
    throw UsageError(path + " is compiled for the frames' size, which was not given (width " +
                     std::to_string(width) + ", height " + std::to_string(height) + ")");
  }
  const CompiledModel compiled = compile_model(
      device, CompileRequest{path, width, height, request.dtype, request.noise_level, engine});
  const std::string display_name =
      compiled.arch + " from " + std::filesystem::path(path).filename().string();
  std::unique_ptr<Engine> engine_opened;
  if (compiled.format == "native") {
    engine_opened = open_native_engine(device, compiled.artifact, NativeOptions{compiled.dtype, display_name});
  } else {
#ifdef PYN_HAVE_TORCH
    TorchOptions options;
    options.channels_last = request.channels_last;
    options.cudnn_benchmark = request.cudnn_benchmark;
    options.dtype = compiled.dtype;
    options.input_width = compiled.padded_width;
    options.input_height = compiled.padded_height;
    options.display_name = display_name;
    engine_opened = open_torch_engine(device, compiled.artifact, options);
#else
    throw UsageError(no_torch_engine(path) + " (use --engine native where it runs the network)");
#endif
  }
  if (compiled.padded_width == width && compiled.padded_height == height) {
    return engine_opened;
  }
  return make_padded_engine(device, std::move(engine_opened), compiled.padded_width,
                            compiled.padded_height);
}

}  // namespace pyn
