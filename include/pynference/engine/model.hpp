#pragma once
// A network by the name a front end's user gives it: a model file (TorchScript .pt/.ts, AOTInductor
// .pt2, a state dict or .onnx) through the torch engine, or "synthetic[:xS[:MS]]" for the synthetic
// engine. State dicts and .onnx files are compiled for the frames' size first (model_compile.hpp)
// and padded on the device to the size they were compiled for. The CLI's -m and the Python
// module's `model` both come here.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pynference/device/device.hpp"
#include "pynference/engine/engine.hpp"
#include "pynference/engine/synthetic.hpp"

namespace pyn {

struct ModelRequest {
  std::string model;  // a file, or synthetic[:xS[:MS]]
  // None: fp16 for the synthetic engine, TorchScript and .pt2; a state dict's fastest safe one.
  std::optional<DType> dtype;
  bool channels_last = true;          // TorchScript weights in NHWC
  std::optional<double> noise_level;  // state dicts that take one (DRUNet), 0-255
  bool cudnn_benchmark = false;       // TorchOptions::cudnn_benchmark
  // Which engine runs a state dict: torch, native (native_engine.hpp; refused in one line where it
  // cannot run the network or the device) or auto (native where it runs them both, else torch).
  std::string engine = "torch";
};

[[nodiscard]] bool is_synthetic_model(std::string_view model) noexcept;

// "synthetic[:xS[:MS]]" (default x2, 0 ms); throws UsageError naming what is expected.
[[nodiscard]] SyntheticOptions parse_synthetic_model(const std::string& spec, DType dtype);

// Whether the engine depends on the frames' size: a state dict or .onnx file, compiled for it.
[[nodiscard]] bool model_needs_frame_size(const std::string& model);

// The engine for `request` on `device`, for frames of width x height (used by the models that
// need it; 0 where unknown, which they refuse). Throws UsageError for a bad name, file or value.
[[nodiscard]] std::unique_ptr<Engine> open_model(const Device& device, const ModelRequest& request,
                                                 int width, int height);

}  // namespace pyn
