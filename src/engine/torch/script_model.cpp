// TorchScript (.pt, .ts): loaded onto the device, floating-point weights cast to the run's dtype
// and, for convolutions on a GPU, laid out channels-last.

#include <ATen/core/grad_mode.h>
#include <torch/script.h>

#include <filesystem>
#include <string>

#include "model.hpp"
#include "pynference/device/error.hpp"

namespace pyn::torch_engine {

namespace {

class ScriptModel final : public Model {
 public:
  ScriptModel(torch::jit::Module module, at::ScalarType dtype, bool channels_last,
              std::string file_name)
      : module_(std::move(module)),
        dtype_(dtype),
        channels_last_(channels_last),
        file_name_(std::move(file_name)) {}

  [[nodiscard]] std::string_view format_name() const override { return "TorchScript"; }
  // The profiling executor records the first run of a shape and optimises the graph on the
  // second; the third runs what the frames will run. The executor is shared by every thread.
  [[nodiscard]] int warmups(bool first_of_shape) const override { return first_of_shape ? 3 : 1; }
  [[nodiscard]] at::ScalarType input_dtype() const override { return dtype_; }

  at::Tensor forward(const at::Tensor& input,
                     void* /*cuda_stream: torch's current stream*/) override {
    // The conversion is one transpose kernel; cuDNN's NHWC kernels more than pay for it.
    at::Tensor x = channels_last_ ? input.contiguous(at::MemoryFormat::ChannelsLast) : input;
    // Module handles share one object; concurrent forward() calls are safe (the graph executor
    // locks its own compilation), so each calling thread works on a copy of the handle.
    torch::jit::Module module = module_;
    c10::IValue output = module.forward({std::move(x)});
    if (!output.isTensor()) {
      throw UsageError("model " + file_name_ + " returns a " + output.tagKind() +
                       ", not one image tensor");
    }
    return std::move(output).toTensor();
  }

 private:
  torch::jit::Module module_;
  at::ScalarType dtype_;
  bool channels_last_;
  std::string file_name_;
};

// Integer buffers (indices, counters) keep their type; Module::to(dtype) would cast them too.
void convert(const at::Tensor& tensor, const c10::Device& device, at::ScalarType dtype,
             bool channels_last) {
  if (!tensor.is_floating_point()) {
    if (tensor.device() != device) {
      tensor.set_data(tensor.detach().to(device));
    }
    return;
  }
  at::Tensor data = tensor.detach().to(device, dtype);
  if (channels_last && data.dim() == 4) {
    data = data.contiguous(at::MemoryFormat::ChannelsLast);
  }
  tensor.set_data(data);
}

}  // namespace

std::unique_ptr<Model> load_torchscript(const LoadRequest& request) {
  const c10::Device device =
      request.backend == Backend::cuda
          ? c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(request.device_index))
          : c10::Device(c10::kCPU);
  torch::jit::Module module;
  try {
    module = torch::jit::load(request.path, device);
  } catch (const std::exception& e) {
    throw UsageError("cannot load TorchScript model " + request.file_name + ": " + message_of(e));
  }
  module.eval();
  const bool channels_last = request.channels_last && request.backend == Backend::cuda;
  {
    const at::NoGradGuard no_grad;
    for (const at::Tensor& parameter : module.parameters()) {
      convert(parameter, device, request.dtype, channels_last);
    }
    for (const at::Tensor& buffer : module.buffers()) {
      convert(buffer, device, request.dtype, channels_last);
    }
  }
  return std::make_unique<ScriptModel>(std::move(module), request.dtype, channels_last,
                                       request.file_name);
}

}  // namespace pyn::torch_engine
