// The native engine: a plan's operators on NHWC tensors whose channels are padded to multiples of
// 8, between the head (NCHW input -> NHWC) and the tail (NHWC -> NCHW output). Where the plan ends
// as Compact does (pixel shuffle of the last convolution plus the nearest-upsampled input), the
// tail does all three in one pass. Tensors share buffers by lifetime: the slots and their sizes are
// worked out once from the plan, and each stream gets its own set in prepare(), so run() allocates
// nothing and a stream capture of it is safe.

#include "pynference/engine/native_engine.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "conv.hpp"
#include "element.hpp"
#include "layout.hpp"
#include "ops.hpp"
#include "plan.hpp"
#include "pynference/device/error.hpp"
#include "reference.hpp"

namespace pyn {

namespace {

using native::Op;
using native::OpKind;
using native::Plan;

constexpr int kChannelMultiple = 8;  // what the tensor-core convolutions take

int padded_channels(int c) { return (c + kChannelMultiple - 1) / kChannelMultiple * kChannelMultiple; }

// The host backend's tensors: fp32, or fp16/bf16 bits (element.hpp).
float decode(const void* data, std::size_t i, DType dtype) {
  return dtype == DType::f32 ? static_cast<const float*>(data)[i]
                             : native::decode(static_cast<const std::uint16_t*>(data)[i], dtype);
}

void encode(void* data, std::size_t i, float value, DType dtype) {
  if (dtype == DType::f32) {
    static_cast<float*>(data)[i] = value;
  } else {
    static_cast<std::uint16_t*>(data)[i] = native::encode(value, dtype);
  }
}

DeviceBuffer upload(const Device& device, Stream& stream, const void* data, std::size_t bytes) {
  DeviceBuffer buffer = device.alloc(std::max<std::size_t>(bytes, 1));
  stream.copy_async(buffer.data(), data, bytes);
  stream.synchronize();  // the caller's host vector goes out of scope
  return buffer;
}

DeviceBuffer upload_floats(const Device& device, Stream& stream, const std::vector<float>& values) {
  return upload(device, stream, values.data(), values.size() * sizeof(float));
}

// Where a plan's tensors live and what each operator needs on the device.
struct Step {
  const Op* op = nullptr;
  bool skipped = false;  // folded into the tail
  int out_slot = -1;
  // conv: KRSC [cout_p][K][K][cin_p] weights in the engine's dtype, the concatenation's padded
  // channels in order (zero weights where a piece is padded, and for padded output channels);
  // bias and negative slopes per padded output channel (padding: 0 and 1).
  DeviceBuffer weight;
  DeviceBuffer bias;
  DeviceBuffer slopes;  // conv and act; affine: its scale
  DeviceBuffer shift;   // affine
  int cin_p = 0;
  bool silu_after = false;  // conv followed by silu, where the kernel has no silu epilogue
  // conv: its epilogue; gate: the tensor it writes is the gate's that follows (skipped), whose
  // block input is the epilogue's source.
  native::ConvEpilogue epilogue = native::ConvEpilogue::prelu;
  int out_tensor = -1;  // the tensor the step writes: its op's, or the fused gate's
  int source = -1;
};

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
    conv_variant_ = native::conv_sm90_variant(&why);
    if (conv_variant_.empty()) {
      throw UsageError(why);
    }
    for (const native::TensorInfo& t : plan_.tensors) {
      cp_.push_back(padded_channels(t.channels));
    }
    fuse_tail();
    Stream stream = device_.make_stream();
    steps_.resize(plan_.ops.size());
    for (std::size_t i = 0; i < plan_.ops.size(); ++i) {
      steps_[i].op = &plan_.ops[i];
      steps_[i].out_tensor = static_cast<int>(i + 1);
    }
    fuse_epilogues();
    for (std::size_t i = 0; i < plan_.ops.size(); ++i) {
      Step& step = steps_[i];
      step.skipped = skipped_[i];
      if (!step.skipped) {
        upload_step(stream, step);
      }
    }
    assign_slots();
  }

  [[nodiscard]] std::string name() const override {
    // A convolution kernel other than the default (a tuning build's PYN_NATIVE_CONV) is named too.
    const bool named = !conv_variant_.empty() && conv_variant_ != "128x64";
    return "native " + name_ + " (" + std::string(to_string(dtype_)) + (named ? ", conv " + conv_variant_ : "") + ")";
  }
  [[nodiscard]] DType dtype() const override { return dtype_; }

  [[nodiscard]] TensorShape output_shape(const TensorShape& input) const override {
    if (input.c != plan_.input_channels() || input.n < 1 || input.h < 1 || input.w < 1) {
      throw UsageError("the native engine's " + plan_.arch + " takes N x " +
                       std::to_string(plan_.input_channels()) + " x H x W, not " +
                       std::to_string(input.n) + " x " + std::to_string(input.c) + " x " +
                       std::to_string(input.h) + " x " + std::to_string(input.w));
    }
    return {input.n, plan_.output_channels(), input.h * plan_.scale, input.w * plan_.scale};
  }

  void prepare(Stream& stream, const TensorShape& input) override {
    (void)output_shape(input);
    if (stream.backend() == Backend::host) {
      return;
    }
    const std::size_t pixels = static_cast<std::size_t>(input.n) * input.h * input.w;
    Buffers buffers;
    buffers.input = input;
    std::size_t bytes = 0;
    for (const std::size_t units : slot_units_) {
      buffers.slots.push_back(device_.alloc(std::max<std::size_t>(units * pixels * bytes_of(dtype_), 1)));
      bytes += buffers.slots.back().size();
    }
    buffers.scratch = device_.alloc(std::max<std::size_t>(scratch_units_ * pixels * bytes_of(dtype_), 1));
    std::size_t workspace = 0;
    for (const Step& step : steps_) {
      if (!step.skipped && step.op->kind == OpKind::conv) {
        workspace = std::max(workspace, native::conv_sm90_workspace(conv_args(step, input)));
      }
    }
    buffers.workspace = device_.alloc(std::max<std::size_t>(workspace, 1));
    bytes += buffers.scratch.size() + buffers.workspace.size();
    const std::lock_guard lock(mutex_);
    buffers_bytes_ += bytes;
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
    const auto s = static_cast<cudaStream_t>(stream.native());
    const TensorShape& shape = in.shape;
    const auto data = [&](int tensor) { return b.slots[static_cast<std::size_t>(slot_of_[static_cast<std::size_t>(tensor)])].data(); };
    if (slot_of_.front() >= 0) {
      native::head_cuda({in.data, data(0), shape.n, shape.c, shape.h, shape.w, cp_.front(), dtype_}, s);
    }
    for (const Step& step : steps_) {
      if (!step.skipped) {
        run_step(step, b, shape, s);
      }
    }
    if (tail_source_ >= 0) {
      native::tail_cuda({data(tail_source_), in.data, out.data, shape.n, plan_.output_channels(),
                         shape.h, shape.w, cp_[static_cast<std::size_t>(tail_source_)], plan_.scale, dtype_},
                        s);
    } else {
      native::to_nchw_cuda({data(plan_.output), out.data, shape.n, plan_.output_channels(),
                            shape.h * plan_.scale, shape.w * plan_.scale,
                            cp_[static_cast<std::size_t>(plan_.output)], dtype_},
                           s);
    }
  }

  [[nodiscard]] std::size_t workspace_bytes() const override {
    const std::lock_guard lock(mutex_);
    return weight_bytes_ + buffers_bytes_;
  }

 private:
  struct Buffers {
    TensorShape input;
    std::vector<DeviceBuffer> slots;
    DeviceBuffer scratch;  // a convolution's concatenated input
    DeviceBuffer workspace;
  };

  [[nodiscard]] int factor(int tensor) const {
    return plan_.tensors[static_cast<std::size_t>(tensor)].factor;
  }

  // output = add(shuffle(X, scale), upsample(%0, scale)), the shuffle's and upsample's results read
  // by the add alone: the tail kernel does the three from X and the NCHW input.
  void fuse_tail() {
    skipped_.assign(plan_.ops.size(), false);
    const std::vector<int> last = native::last_uses(plan_);
    const auto op_of = [&](int tensor) -> const Op* {
      return tensor > 0 ? &plan_.ops[static_cast<std::size_t>(tensor - 1)] : nullptr;
    };
    const Op* add = op_of(plan_.output);
    if (add == nullptr || add->kind != OpKind::add) {
      return;
    }
    for (int order = 0; order < 2; ++order) {
      const int shuffled = add->inputs[static_cast<std::size_t>(order)];
      const int upsampled = add->inputs[static_cast<std::size_t>(1 - order)];
      const Op* shuffle = op_of(shuffled);
      const Op* upsample = op_of(upsampled);
      const int final_op = plan_.output - 1;
      if (shuffle != nullptr && upsample != nullptr && shuffle->kind == OpKind::shuffle &&
          upsample->kind == OpKind::upsample && upsample->inputs.front() == 0 &&
          shuffle->factor == plan_.scale && upsample->factor == plan_.scale &&
          factor(shuffle->inputs.front()) == 1 && last[static_cast<std::size_t>(shuffled)] == final_op &&
          last[static_cast<std::size_t>(upsampled)] == final_op) {
        tail_source_ = shuffle->inputs.front();
        skipped_[static_cast<std::size_t>(shuffled - 1)] = true;
        skipped_[static_cast<std::size_t>(upsampled - 1)] = true;
        skipped_[static_cast<std::size_t>(final_op)] = true;
        return;
      }
    }
  }

  // SiLU after a convolution, and SPAN's gate on a convolution's output read by nothing else, go
  // into that convolution's epilogue where its kernel has them (native::conv_sm90_fuses; a tuning
  // variant has not, and PYN_NATIVE_FUSE=0 turns fusing off to compare): the gate is then skipped
  // and the convolution writes the gate's tensor.
  void fuse_epilogues() {
    const char* env = std::getenv("PYN_NATIVE_FUSE");
    if (!native::conv_sm90_fuses() || (env != nullptr && std::string(env) == "0")) {
      return;
    }
    std::vector<int> readers(plan_.tensors.size(), 0);
    for (const Op& op : plan_.ops) {
      for (const int input : op.inputs) {
        ++readers[static_cast<std::size_t>(input)];
      }
    }
    for (std::size_t i = 0; i < plan_.ops.size(); ++i) {
      const Op& op = plan_.ops[i];
      if (skipped_[i]) {
        continue;
      }
      if (op.kind == OpKind::conv && op.activation == native::Activation::silu) {
        steps_[i].epilogue = native::ConvEpilogue::silu;
      }
      if (op.kind != OpKind::gate) {
        continue;
      }
      const int a = op.inputs[0];
      const int x = op.inputs[1];
      if (a == 0 || a == x || a == plan_.output || readers[static_cast<std::size_t>(a)] != 1) {
        continue;
      }
      const auto conv = static_cast<std::size_t>(a - 1);
      const Op& producer = plan_.ops[conv];
      if (producer.kind != OpKind::conv || producer.activation != native::Activation::none || skipped_[conv] ||
          factor(x) != factor(a) || cp_[static_cast<std::size_t>(x)] != cp_[static_cast<std::size_t>(a)]) {
        continue;
      }
      steps_[conv].epilogue = native::ConvEpilogue::gate;
      steps_[conv].source = x;
      steps_[conv].out_tensor = static_cast<int>(i + 1);
      skipped_[i] = true;
    }
  }

  void upload_step(Stream& stream, Step& step) {
    const Op& op = *step.op;
    const auto cout_p = static_cast<std::size_t>(padded_channels(op.channels));
    if (op.kind == OpKind::conv) {
      const int k2 = op.kernel * op.kernel;
      std::vector<int> position;  // logical input channel -> padded concatenation channel
      int offset = 0;
      for (const int input : op.inputs) {
        const int c = plan_.tensors[static_cast<std::size_t>(input)].channels;
        for (int ci = 0; ci < c; ++ci) {
          position.push_back(offset + ci);
        }
        offset += cp_[static_cast<std::size_t>(input)];
      }
      step.cin_p = offset;
      std::string why;
      if (!native::conv_sm90_supports(step.cin_p, static_cast<int>(cout_p), &why)) {
        throw UsageError("the native engine cannot run a " + std::to_string(position.size()) + "->" +
                         std::to_string(op.channels) + " convolution: " + why);
      }
      const auto cin = position.size();
      std::vector<std::uint16_t> weight(cout_p * static_cast<std::size_t>(k2) * static_cast<std::size_t>(step.cin_p), 0);
      for (std::size_t co = 0; co < static_cast<std::size_t>(op.channels); ++co) {
        for (std::size_t ci = 0; ci < cin; ++ci) {
          for (std::size_t t = 0; t < static_cast<std::size_t>(k2); ++t) {
            const float w = op.weight[(co * cin + ci) * static_cast<std::size_t>(k2) + t];
            weight[(co * static_cast<std::size_t>(k2) + t) * static_cast<std::size_t>(step.cin_p) +
                   static_cast<std::size_t>(position[ci])] =
                native::encode(w, dtype_);
          }
        }
      }
      step.weight = upload(device_, stream, weight.data(), weight.size() * sizeof(std::uint16_t));
      std::vector<float> bias(cout_p, 0.0F);
      std::copy(op.bias.begin(), op.bias.end(), bias.begin());
      step.bias = upload_floats(device_, stream, bias);
      step.silu_after = op.activation == native::Activation::silu && step.epilogue != native::ConvEpilogue::silu;
      std::vector<float> slopes(cout_p, 1.0F);
      if (!step.silu_after) {
        const std::vector<float> own = native::negative_slopes(op);
        std::copy(own.begin(), own.end(), slopes.begin());
      }
      step.slopes = upload_floats(device_, stream, slopes);
    } else if (op.kind == OpKind::act && op.activation != native::Activation::silu) {
      std::vector<float> slopes(cout_p, 1.0F);
      const std::vector<float> own = native::negative_slopes(op);
      std::copy(own.begin(), own.end(), slopes.begin());
      step.slopes = upload_floats(device_, stream, slopes);
    } else if (op.kind == OpKind::affine) {
      std::vector<float> scale(cout_p, 0.0F);
      std::vector<float> shift(cout_p, 0.0F);
      std::copy(op.alpha.begin(), op.alpha.end(), scale.begin());
      std::copy(op.bias.begin(), op.bias.end(), shift.begin());
      step.slopes = upload_floats(device_, stream, scale);
      step.shift = upload_floats(device_, stream, shift);
    }
    weight_bytes_ += step.weight.size() + step.bias.size() + step.slopes.size() + step.shift.size();
  }

  // Slots by lifetime, in units of elements per input pixel (padded channels x factor^2): a tensor
  // takes the smallest free slot that holds it, or a new one, and gives it back after its last
  // reader. An operator's output never shares a slot with its inputs.
  void assign_slots() {
    // The last operator run that reads each tensor; the output, or what the fused tail reads, lives
    // to the end.
    std::vector<int> last(plan_.tensors.size(), -1);
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      if (!steps_[i].skipped) {
        for (const int input : plan_.ops[i].inputs) {
          last[static_cast<std::size_t>(input)] = static_cast<int>(i);
        }
        if (steps_[i].source >= 0) {
          last[static_cast<std::size_t>(steps_[i].source)] = static_cast<int>(i);
        }
      }
    }
    last[static_cast<std::size_t>(tail_source_ >= 0 ? tail_source_ : plan_.output)] =
        static_cast<int>(steps_.size());
    slot_of_.assign(plan_.tensors.size(), -1);
    std::vector<int> free_slots;
    const auto units = [&](int t) {
      const auto f = static_cast<std::size_t>(factor(t));
      return static_cast<std::size_t>(cp_[static_cast<std::size_t>(t)]) * f * f;
    };
    const auto take = [&](int t) {
      const std::size_t need = units(t);
      auto best = free_slots.end();
      for (auto it = free_slots.begin(); it != free_slots.end(); ++it) {
        if (slot_units_[static_cast<std::size_t>(*it)] >= need &&
            (best == free_slots.end() || slot_units_[static_cast<std::size_t>(*it)] < slot_units_[static_cast<std::size_t>(*best)])) {
          best = it;
        }
      }
      if (best != free_slots.end()) {
        slot_of_[static_cast<std::size_t>(t)] = *best;
        free_slots.erase(best);
      } else {
        slot_of_[static_cast<std::size_t>(t)] = static_cast<int>(slot_units_.size());
        slot_units_.push_back(need);
      }
    };
    if (last.front() >= 0) {
      take(0);
    }
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      const int made = steps_[i].out_tensor;
      if (!steps_[i].skipped) {
        take(made);
        steps_[i].out_slot = slot_of_[static_cast<std::size_t>(made)];
        const Op& op = plan_.ops[i];
        if (op.kind == OpKind::conv && op.inputs.size() > 1) {
          const auto f = static_cast<std::size_t>(factor(op.inputs.front()));
          scratch_units_ = std::max(scratch_units_, static_cast<std::size_t>(steps_[i].cin_p) * f * f);
        }
      }
      for (std::size_t t = 0; t < last.size(); ++t) {
        if (last[t] == static_cast<int>(i) && slot_of_[t] >= 0) {
          free_slots.push_back(slot_of_[t]);
        }
      }
    }
  }

  [[nodiscard]] native::ConvArgs conv_args(const Step& step, const TensorShape& s) const {
    const Op& op = *step.op;
    const int f = factor(op.inputs.front());
    native::ConvArgs args{nullptr,
                          step.weight.data(),
                          step.bias.as<float>(),
                          step.slopes.as<float>(),
                          nullptr,
                          s.n,
                          s.h * f,
                          s.w * f,
                          step.cin_p,
                          padded_channels(op.channels),
                          dtype_ == DType::bf16 ? native::ConvElement::bf16 : native::ConvElement::f16};
    args.kernel = op.kernel;
    return args;
  }

  void run_step(const Step& step, const Buffers& b, const TensorShape& shape, cudaStream_t s) const {
    const Op& op = *step.op;
    const auto data = [&](int tensor) { return b.slots[static_cast<std::size_t>(slot_of_[static_cast<std::size_t>(tensor)])].data(); };
    void* out = b.slots[static_cast<std::size_t>(step.out_slot)].data();
    const int f = factor(op.inputs.front());
    const std::size_t pixels = static_cast<std::size_t>(shape.n) * shape.h * f * shape.w * f;
    const int a = op.inputs.front();
    const int cp = cp_[static_cast<std::size_t>(a)];
    switch (op.kind) {
      case OpKind::conv: {
        native::ConvArgs args = conv_args(step, shape);
        if (op.inputs.size() == 1) {
          args.input = data(a);
        } else {
          int offset = 0;
          for (const int input : op.inputs) {
            const int piece = cp_[static_cast<std::size_t>(input)];
            native::concat_cuda({data(input), b.scratch.data(), pixels, piece, step.cin_p, offset, dtype_}, s);
            offset += piece;
          }
          args.input = b.scratch.data();
        }
        args.output = out;
        args.epilogue = step.epilogue;
        args.source = step.source >= 0 ? data(step.source) : nullptr;
        const cudaError_t status = native::conv_sm90(args, b.workspace.data(), s);
        if (status != cudaSuccess) {
          throw DeviceError("conv_sm90 (" + std::to_string(step.cin_p) + "->" + std::to_string(args.cout) + ")",
                            cudaGetErrorString(status), __FILE__, __LINE__, device_.info().index,
                            static_cast<int>(status));
        }
        if (step.silu_after) {
          native::PointwiseArgs silu;
          silu.kind = native::Pointwise::act;
          silu.a = out;
          silu.out = out;
          silu.pixels = pixels;
          silu.cp = args.cout;
          silu.activation = native::Activation::silu;
          silu.dtype = dtype_;
          native::pointwise_cuda(silu, s);
        }
        return;
      }
      case OpKind::upsample:
      case OpKind::shuffle:
        native::resize_cuda({op.kind == OpKind::shuffle, data(a), out, shape.n, shape.h * f, shape.w * f, cp,
                             op.channels, padded_channels(op.channels), op.factor, dtype_},
                            s);
        return;
      default:
        break;
    }
    native::PointwiseArgs p;
    p.a = data(a);
    p.b = op.inputs.size() > 1 ? data(op.inputs[1]) : nullptr;
    p.out = out;
    p.pixels = pixels;
    p.cp = cp;
    p.activation = op.activation;
    p.scalar = op.scalar;
    p.dtype = dtype_;
    p.slopes = step.slopes.as<float>();
    p.scale = step.slopes.as<float>();
    p.shift = step.shift.as<float>();
    p.kind = op.kind == OpKind::act      ? native::Pointwise::act
             : op.kind == OpKind::affine ? native::Pointwise::affine
             : op.kind == OpKind::add    ? native::Pointwise::add
             : op.kind == OpKind::axpy   ? native::Pointwise::axpy
                                         : native::Pointwise::gate;
    native::pointwise_cuda(p, s);
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
  std::string conv_variant_;  // GPU: the convolution kernel's name (native::conv_sm90_variant)
  std::vector<int> cp_;  // per tensor: padded channels
  std::vector<bool> skipped_;
  int tail_source_ = -1;  // the tensor the fused tail shuffles, or -1: to_nchw of the output
  std::vector<Step> steps_;
  std::vector<int> slot_of_;  // per tensor, -1 for none
  std::vector<std::size_t> slot_units_;
  std::size_t scratch_units_ = 0;
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
  if (!native::conv_sm90_built()) {
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
