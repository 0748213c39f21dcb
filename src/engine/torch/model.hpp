#pragma once
// Inside the torch engine: the two kinds of model file behind one small face, and the helpers that
// turn LibTorch's multi-line errors into our one-line ones.

#include <ATen/core/Tensor.h>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pynference/device/device.hpp"

namespace pyn::torch_engine {

enum class Format { torchscript, aoti };

// Tells the format from the file's content; throws UsageError naming what the file is instead
// (missing, empty, a state dict, an exported program without code, not a model at all).
[[nodiscard]] Format detect_format(const std::string& path);

// What a loader needs to know.
struct LoadRequest {
  std::string path;
  std::string file_name;  // for messages
  Backend backend = Backend::host;
  int device_index = 0;
  int compute_capability = 0;  // 10 * major + minor of the GPU; 0 on the host backend
  std::string device_name;
  at::ScalarType dtype = at::kFloat;  // what the network should compute in
  bool channels_last = false;
};

// The one input size a model takes, where it was exported for one size only.
struct FixedSize {
  int width = 0;
  int height = 0;
};

class Model {
 public:
  Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  Model(Model&&) = delete;
  Model& operator=(Model&&) = delete;
  virtual ~Model() = default;

  [[nodiscard]] virtual std::string_view format_name() const = 0;
  // The dtype the network takes; the caller converts to it.
  [[nodiscard]] virtual at::ScalarType input_dtype() const = 0;
  // One inference of a contiguous NCHW tensor on the model's device. On CUDA the work goes to
  // `cuda_stream`, which the caller has also made torch's current stream. Safe to call from
  // several threads at once.
  virtual at::Tensor forward(const at::Tensor& input, void* cuda_stream) = 0;
  // Empty where forward() on a CUDA stream can be captured into a CUDA graph and replayed; else
  // why not, as the end of a sentence that starts with the model's file name.
  [[nodiscard]] virtual std::string capture_refusal() const { return {}; }
  // Set where the model takes one input size only (an AOTInductor package exported with --size).
  [[nodiscard]] virtual std::optional<FixedSize> fixed_size() const { return std::nullopt; }
  // The one N it takes, where it was made for one batch (an AOTInductor package); 0: any N.
  [[nodiscard]] virtual int fixed_batch() const { return 0; }
  // Inferences a stream runs before its first frame: `first_of_shape` where no stream has run
  // this input shape yet (what is learnt then and shared, such as TorchScript's optimised graph);
  // what each stream and thread needs of its own (cuDNN's plans, which LibTorch keeps per thread,
  // the allocator's blocks) is met by one run.
  [[nodiscard]] virtual int warmups(bool /*first_of_shape*/) const { return 1; }
};

[[nodiscard]] std::unique_ptr<Model> load_torchscript(const LoadRequest& request);
[[nodiscard]] std::unique_ptr<Model> load_aoti(const LoadRequest& request);

// The line of a LibTorch error message that says what went wrong (no backtrace, no TorchScript
// traceback), at most a few hundred characters.
[[nodiscard]] std::string one_line(std::string_view message);
// one_line() of any exception, c10::Error without its backtrace.
[[nodiscard]] std::string message_of(const std::exception& error);

}  // namespace pyn::torch_engine
