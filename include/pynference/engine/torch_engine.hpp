#pragma once
// The torch engine: a network from LibTorch, either TorchScript (.pt, .ts) or an AOTInductor
// package (.pt2), run on the pipeline's own streams. Built only where LibTorch was found at
// configure time; PYN_HAVE_TORCH is then defined for whoever links pyn_engine_torch.
//
// On a CUDA device every inference goes to the stream run() is given (torch's current stream is
// set to it for the call), so the pipeline alone decides what overlaps; several streams may run at
// once. On the host backend the network runs on the CPU in fp32, in the stream's order.
//
// A .pt2 package holds native code that runs in this process: load only packages you trust.

#include <memory>
#include <string>

#include "pynference/device/device.hpp"
#include "pynference/engine/engine.hpp"

namespace pyn {

struct TorchOptions {
  DType dtype = DType::f16;   // of the pipeline's tensors, and of the network on a GPU
  bool channels_last = true;  // TorchScript on a GPU: weights and input in NHWC (faster convs)
  // cuDNN times its algorithms on the first run of each shape on each thread and keeps the
  // fastest: 100 ms or more per compute stream before the first frame, for frames a few percent
  // faster than its heuristics give (docs/benchmarks.md). A setting of the process, as LibTorch
  // keeps it: the last engine opened decides.
  bool cudnn_benchmark = false;
  // The one input size the model takes, where the caller knows it (a trace made at one size);
  // 0 x 0: any size, or what a .pt2 package's metadata says.
  int input_width = 0;
  int input_height = 0;
  std::string display_name{};  // in name() instead of the file's name, where not empty
};

// Loads `path` (TorchScript or AOTInductor, told apart by content), converts it to the options'
// dtype and layout, and finds its scale with one test input. Bad input — no such file, not a
// model, a network whose output is no upscaled image, a .pt2 built for another device, GPU, dtype
// or torch version — throws UsageError (or Error for a failure of the runtime) with one line.
// Whether `path` is a file that must be compiled before this engine can load it: a state dict
// (pickled, a zip archive holding data only, safetensors) or an ONNX model (by its .onnx name).
// False for TorchScript, AOTInductor packages, and files that are none of these (open_torch_engine
// then says what they are).
[[nodiscard]] bool is_model_source(const std::string& path);

[[nodiscard]] std::unique_ptr<Engine> open_torch_engine(const Device& device,
                                                        const std::string& path,
                                                        const TorchOptions& options);

}  // namespace pyn
