#pragma once
// The network behind core.pyn.Model(model=...): what `pynference -m` takes (engine/model.hpp) — a
// TorchScript .pt, an AOTInductor .pt2, a state dict or .onnx file (compiled for the clip's size
// first, as the CLI does) where the plugin was built with the torch engine, or
// "synthetic[:xS[:MS]]".

#include <memory>
#include <optional>
#include <string>

#include "pynference/device/device.hpp"
#include "pynference/engine/engine.hpp"

namespace pyn::vs {

// For frames of width x height. Throws UsageError, in the plugin's words (its argument names),
// for what it cannot open.
[[nodiscard]] std::unique_ptr<Engine> open_model(const Device& device, const std::string& model,
                                                 std::optional<DType> dtype, int width,
                                                 int height);

}  // namespace pyn::vs
