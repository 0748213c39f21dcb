#include "model.hpp"

#include <cstdlib>

#include "pynference/core/error.hpp"
#include "pynference/engine/synthetic.hpp"
#ifdef PYN_HAVE_TORCH
#include "pynference/engine/torch_engine.hpp"
#endif

namespace pyn::vs {
namespace {

// The CLI's -m synthetic[:xS[:MS]] (src/cli/engine_choice.cpp): a scale of 2 and no compute time
// where they are left out, so both front ends make the same frames of the same name.
SyntheticOptions parse_synthetic(const std::string& model, DType dtype) {
  const std::string usage =
      "model=\"synthetic[:xSCALE[:MS]]\", e.g. \"synthetic:x2\", not \"" + model + "\"";
  SyntheticOptions options{0.0, 2, dtype};
  if (model == "synthetic") {
    return options;
  }
  std::string scale = model.substr(std::string("synthetic:").size());
  std::string ms;
  if (const std::size_t colon = scale.find(':'); colon != std::string::npos) {
    ms = scale.substr(colon + 1);
    scale.resize(colon);
  }
  char* end = nullptr;
  const long factor =
      scale.size() > 1 && scale[0] == 'x' ? std::strtol(scale.c_str() + 1, &end, 10) : 0;
  if (factor < 1 || factor > 16 || *end != '\0') {
    throw UsageError(usage);
  }
  options.scale = static_cast<int>(factor);
  if (!ms.empty()) {
    options.compute_ms = std::strtod(ms.c_str(), &end);
    if (*end != '\0' || !(options.compute_ms >= 0) || options.compute_ms > 10'000) {
      throw UsageError(usage);
    }
  }
  return options;
}

}  // namespace

std::unique_ptr<Engine> open_model(const Device& device, const std::string& model,
                                   std::optional<DType> dtype) {
  if (model.empty()) {
    throw UsageError("model=\"\" names no network: give a .pt or .pt2 file, or \"synthetic:x2\"");
  }
  if (model == "synthetic" || model.starts_with("synthetic:")) {
    return std::make_unique<SyntheticEngine>(device,
                                             parse_synthetic(model, dtype.value_or(DType::f16)));
  }
#ifdef PYN_HAVE_TORCH
  if (is_model_source(model)) {
    // Compiling a state dict needs the CLI's compiler (src/cli/model_compile.cpp), which lives in
    // the CLI today; until it moves into a library, the plugin takes what that compile makes.
    throw UsageError(model +
                     " is a state dict or .onnx file, which the plugin cannot compile yet: run "
                     "`pynference run -m " +
                     model +
                     "` once at the clip's size and give model= the .pt2 it puts in the cache "
                     "(`pynference cache list`)");
  }
  TorchOptions options;
  options.dtype = dtype.value_or(DType::f16);
  return open_torch_engine(device, model, options);
#else
  throw UsageError(
      "this build of the plugin has no torch engine (LibTorch was not found when it "
      "was built), so it cannot load " +
      model);
#endif
}

}  // namespace pyn::vs
