#include "model.hpp"

#include "pynference/core/error.hpp"
#include "pynference/engine/model.hpp"
#include "pynference/engine/synthetic.hpp"

namespace pyn::vs {

std::unique_ptr<Engine> open_model(const Device& device, const std::string& model,
                                   std::optional<DType> dtype, int width, int height) {
  if (model.empty()) {
    throw UsageError(
        "model=\"\" names no network: give a model file (.pt, .pt2, a state dict, .onnx) or "
        "\"synthetic:x2\"");
  }
  if (is_synthetic_model(model)) {
    try {
      return std::make_unique<SyntheticEngine>(
          device, parse_synthetic_model(model, dtype.value_or(DType::f16)));
    } catch (const UsageError&) {  // the CLI's words name -m; these name the argument
      throw UsageError("model=\"synthetic[:xSCALE[:MS]]\", e.g. \"synthetic:x2\", not \"" + model +
                       "\"");
    }
  }
  ModelRequest request;
  request.model = model;
  request.dtype = dtype;
  return pyn::open_model(device, request, width, height);
}

}  // namespace pyn::vs
