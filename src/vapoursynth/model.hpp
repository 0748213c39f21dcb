#pragma once
// The network behind core.pyn.Model(model=...): "synthetic[:xS[:MS]]" (the synthetic engine, as
// `pynference -m` names it), or a TorchScript .pt / AOTInductor .pt2 file for the torch engine
// where the plugin was built with it.

#include <memory>
#include <optional>
#include <string>

#include "pynference/device/device.hpp"
#include "pynference/engine/engine.hpp"

namespace pyn::vs {

// Throws UsageError, in the plugin's words (its argument names), for what it cannot open.
[[nodiscard]] std::unique_ptr<Engine> open_model(const Device& device, const std::string& model,
                                                 std::optional<DType> dtype);

}  // namespace pyn::vs
