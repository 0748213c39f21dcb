// The native engine: a plan's convolutions, in NHWC, between the head and tail layout passes.
// Per stream it keeps two feature buffers that the layers write in turn and the convolutions'
// workspace, made in prepare(), so run() allocates nothing and a stream capture of it is safe.

#include "pynference/engine/native_engine.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "conv3x3.hpp"
#include "layout.hpp"
#include "plan.hpp"
#include "pynference/device/error.hpp"
#include "pynference/kernels/float16.hpp"
#include "reference.hpp"

namespace pyn {

namespace {

using native::ConvLayer;
using native::Plan;

constexpr int kChannelMultiple = 8;  // what the tensor-core convolutions take

int padded_channels(int c) { return (c + kChannelMultiple - 1) / kChannelMultiple * kChannelMultiple; }

float decode(const void* data, std::size_t i, DType dtype) {
  switch (dtype) {
    case DType::f32:
      return static_cast<const float*>(data)[i];
    case DType::f16:
      return half_bits_to_float(static_cast<const std::uint16_t*>(data)[i]);
    case DType::bf16:
      return bf16_bits_to_float(static_cast<const std::uint16_t*>(data)[i]);
  }
  return 0.0F;
}

void encode(void* data, std::size_t i, float value, DType dtype) {
  switch (dtype) {
    case DType::f32:
      static_cast<float*>(data)[i] = value;
      return;
    case DType::f16:
      static_cast<std::uint16_t*>(data)[i] = float_to_half_bits(value);
      return;
    case DType::bf16:
      static_cast<std::uint16_t*>(data)[i] = float_to_bf16_bits(value);
      return;
  }
}

// One layer's weights on the device: KRSC [cout_p][3][3][cin_p] in the engine's dtype, channels
// padded to multiples of 8 with zeros (a padded output channel stays 0 through bias 0 and any
// activation, and padded input channels meet zero weights, so the padding changes no result).
struct DeviceLayer {
  int cin = 0;
  int cout = 0;
  DeviceBuffer weight;
  DeviceBuffer bias;
  DeviceBuffer slopes;
};

DeviceBuffer upload(const Device& device, Stream& stream, const void* data, std::size_t bytes) {
  DeviceBuffer buffer = device.alloc(bytes);
  stream.copy_async(buffer.data(), data, bytes);
  return buffer;
}

DeviceLayer upload_layer(const Device& device, Stream& stream, const ConvLayer& layer, DType dtype) {
  DeviceLayer out;
  out.cin = padded_channels(layer.cin);
  out.cout = padded_channels(layer.cout);
  std::vector<std::uint16_t> weight(static_cast<std::size_t>(out.cout) * 9 * out.cin, 0);
  for (int co = 0; co < layer.cout; ++co) {
    for (int ci = 0; ci < layer.cin; ++ci) {
      for (int k = 0; k < 9; ++k) {
        const float w = layer.weight[(static_cast<std::size_t>(co) * layer.cin + ci) * 9 + k];
        weight[(static_cast<std::size_t>(co) * 9 + k) * out.cin + ci] =
            dtype == DType::bf16 ? float_to_bf16_bits(w) : float_to_half_bits(w);
      }
    }
  }
  std::vector<float> bias(static_cast<std::size_t>(out.cout), 0.0F);
  std::vector<float> slopes(static_cast<std::size_t>(out.cout), 1.0F);
  const std::vector<float> own = native::negative_slopes(layer);
  std::copy(layer.bias.begin(), layer.bias.end(), bias.begin());
  std::copy(own.begin(), own.end(), slopes.begin());
  out.weight = upload(device, stream, weight.data(), weight.size() * sizeof(std::uint16_t));
  out.bias = upload(device, stream, bias.data(), bias.size() * sizeof(float));
  out.slopes = upload(device, stream, slopes.data(), slopes.size() * sizeof(float));
  stream.synchronize();  // the host vectors go out of scope
  return out;
}

class NativeEngine final : public Engine {
 public:
  NativeEngine(Device device, Plan plan, const NativeOptions& options)
      : device_(std::move(device)), plan_(std::move(plan)), dtype_(options.dtype),
        name_(options.display_name.empty() ? plan_.arch : options.display_name) {
    if (device_.backend() == Backend::host) {
      return;
    }
    if (dtype_ == DType::f32) {
      throw UsageError("the native engine runs fp16 or bf16 on a GPU, not fp32");
    }
    std::string why;
    if (!native_engine_runs_on(device_, &why)) {
      throw UsageError(why);
    }
    Stream stream = device_.make_stream();
    for (const ConvLayer& layer : plan_.convs) {
      DeviceLayer uploaded = upload_layer(device_, stream, layer, dtype_);
      if (!native::conv3x3_sm90_supports(uploaded.cin, uploaded.cout, &why)) {
        throw UsageError("the native engine cannot run a " + std::to_string(layer.cin) + "->" +
                         std::to_string(layer.cout) + " convolution: " + why);
      }
      weight_bytes_ += uploaded.weight.size() + uploaded.bias.size() + uploaded.slopes.size();
      widest_ = std::max(widest_, uploaded.cout);
      layers_.push_back(std::move(uploaded));
    }
    widest_ = std::max(widest_, padded_channels(plan_.input));
  }

  [[nodiscard]] std::string name() const override {
    return "native " + name_ + " (" + std::string(to_string(dtype_)) + ")";
  }
  [[nodiscard]] DType dtype() const override { return dtype_; }

  [[nodiscard]] TensorShape output_shape(const TensorShape& input) const override {
    if (input.c != plan_.input || input.n < 1 || input.h < 1 || input.w < 1) {
      throw UsageError("the native engine's " + plan_.arch + " takes N x " +
                       std::to_string(plan_.input) + " x H x W, not " + std::to_string(input.n) +
                       " x " + std::to_string(input.c) + " x " + std::to_string(input.h) + " x " +
                       std::to_string(input.w));
    }
    return {input.n, plan_.output, input.h * plan_.scale, input.w * plan_.scale};
  }

  void prepare(Stream& stream, const TensorShape& input) override {
    (void)output_shape(input);
    if (stream.backend() == Backend::host) {
      return;
    }
    const std::size_t pixels = static_cast<std::size_t>(input.n) * input.h * input.w;
    const std::size_t feature_bytes = pixels * static_cast<std::size_t>(widest_) * bytes_of(dtype_);
    std::size_t workspace = 0;
    for (const DeviceLayer& layer : layers_) {
      workspace = std::max(workspace, native::conv3x3_sm90_workspace(conv_args(layer, input)));
    }
    Buffers buffers{input, device_.alloc(feature_bytes), device_.alloc(feature_bytes),
                    device_.alloc(std::max<std::size_t>(workspace, 1))};
    const std::lock_guard lock(mutex_);
    buffers_bytes_ += buffers.a.size() + buffers.b.size() + buffers.workspace.size();
    buffers_.insert_or_assign(&stream, std::move(buffers));
  }

  void run(Stream& stream, const TensorView& in, const TensorView& out) override {
    if (!in.contiguous() || !out.contiguous()) {
      throw UsageError("the native engine takes contiguous tensors");
    }
    if (stream.backend() == Backend::host) {
      stream.enqueue([this, in, out] { run_cpu(in, out); });
      return;
    }
    const Buffers& b = buffers_for(stream, in.shape);
    const auto native_stream = static_cast<cudaStream_t>(stream.native());
    const TensorShape& s = in.shape;
    native::head_cuda({in.data, b.b.data(), s.n, s.c, s.h, s.w, layers_.front().cin, dtype_},
                      native_stream);
    const void* source = b.b.data();
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      void* target = i % 2 == 0 ? b.a.data() : b.b.data();
      native::Conv3x3Args args = conv_args(layers_[i], s);
      args.input = source;
      args.output = target;
      const cudaError_t status = native::conv3x3_sm90(args, b.workspace.data(), native_stream);
      if (status != cudaSuccess) {
        throw DeviceError("conv3x3_sm90 (layer " + std::to_string(i) + ")", cudaGetErrorString(status),
                          __FILE__, __LINE__, device_.info().index, static_cast<int>(status));
      }
      source = target;
    }
    native::tail_cuda({source, plan_.skip_nearest ? in.data : nullptr, out.data, s.n, plan_.output,
                       s.h, s.w, layers_.back().cout, plan_.scale, dtype_},
                      native_stream);
  }

  [[nodiscard]] std::size_t workspace_bytes() const override {
    const std::lock_guard lock(mutex_);
    return weight_bytes_ + buffers_bytes_;
  }

 private:
  struct Buffers {
    TensorShape input;
    DeviceBuffer a;
    DeviceBuffer b;
    DeviceBuffer workspace;
  };

  [[nodiscard]] native::Conv3x3Args conv_args(const DeviceLayer& layer, const TensorShape& s) const {
    return {nullptr,
            layer.weight.data(),
            layer.bias.as<float>(),
            layer.slopes.as<float>(),
            nullptr,
            s.n,
            s.h,
            s.w,
            layer.cin,
            layer.cout,
            dtype_ == DType::bf16 ? native::ConvElement::bf16 : native::ConvElement::f16};
  }

  const Buffers& buffers_for(Stream& stream, const TensorShape& input) const {
    const std::lock_guard lock(mutex_);
    const auto found = buffers_.find(&stream);
    if (found == buffers_.end() || !(found->second.input == input)) {
      throw UsageError("the native engine ran on a stream it was not prepared for with this input");
    }
    return found->second;
  }

  void run_cpu(const TensorView& in, const TensorView& out) const {
    std::vector<float> input(in.shape.elements());
    for (std::size_t i = 0; i < input.size(); ++i) {
      input[i] = decode(in.data, i, in.dtype);
    }
    std::vector<float> output(out.shape.elements());
    native::forward_cpu(plan_, input.data(), in.shape.n, in.shape.h, in.shape.w, output.data());
    for (std::size_t i = 0; i < output.size(); ++i) {
      encode(out.data, i, output[i], out.dtype);
    }
  }

  Device device_;
  Plan plan_;
  DType dtype_;
  std::string name_;
  std::vector<DeviceLayer> layers_;
  int widest_ = 0;
  std::size_t weight_bytes_ = 0;
  mutable std::mutex mutex_;
  std::map<const Stream*, Buffers> buffers_;
  std::size_t buffers_bytes_ = 0;
};

}  // namespace

bool native_engine_runs_on(const Device& device, std::string* why) {
  if (device.backend() == Backend::host) {
    return true;
  }
  const DeviceInfo& info = device.info();
  std::string reason;
  if (!native::conv3x3_sm90_built()) {
    reason = "this build of pynference has no native convolution kernels (CUTLASS was not found "
             "when it was built)";
  } else if (info.compute_major != 9 || info.compute_minor != 0) {
    reason = "the native engine's convolutions are built for Hopper (sm_90), not " + info.name +
             " (sm_" + std::to_string(info.compute_major) + std::to_string(info.compute_minor) + ")";
  }
  if (why != nullptr) {
    *why = reason;
  }
  return reason.empty();
}

std::unique_ptr<Engine> open_native_engine(const Device& device, const std::string& plan_path,
                                           const NativeOptions& options) {
  return std::make_unique<NativeEngine>(device, native::load_plan(plan_path), options);
}

}  // namespace pyn
