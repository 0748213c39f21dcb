// AOTInductor packages (.pt2): compiled ahead of time for one device kind, GPU architecture, dtype
// and torch version. The package says which in its metadata, so a mismatch is refused before its
// native code is loaded.

#include <dlfcn.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include <cstdio>
#include <optional>
#include <string>
#include <unordered_map>

#include "model.hpp"
#include "pynference/device/error.hpp"

#ifndef TORCH_VERSION
#include <torch/headeronly/version.h>
#endif

namespace pyn::torch_engine {

namespace {

// Model instances in the package's container. Each run holds one until its work on the stream is
// done; with all of them busy the next run waits on the host for the oldest. The weights are
// shared, and each instance is small (its activations come from torch's allocator per run), so
// enough to cover every frame in flight costs little.
constexpr std::size_t kRunners = 8;

using Metadata = std::unordered_map<std::string, std::string>;

// A package's native code is a shared object built by the compiler of the machine that made it,
// and a compiler that links libstdc++ statically (a GPU machine's does) leaves a copy of libstdc++
// in it, exported. In a process whose shared libstdc++ is not in the global scope (Python and
// vspipe load their modules and plugins locally), that object's references bind to its own copy
// while LibTorch's bind to the shared one, and its first regex crashed there. Made global before
// the first package loads (if loaded at all: nothing is loaded here), the shared libstdc++ is the
// one both bind to, as in the pynference program, whose own libstdc++ symbols come first.
void share_libstdcxx() {
  static const bool shared =
      ::dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) != nullptr;
  (void)shared;
}

std::string lookup(const Metadata& metadata, const std::string& key) {
  const auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : it->second;
}

at::ScalarType parse_dtype(const std::string& name, const std::string& file_name) {
  if (name == "fp32" || name == "f32") {
    return at::kFloat;
  }
  if (name == "fp16" || name == "f16") {
    return at::kHalf;
  }
  if (name == "bf16") {
    return at::kBFloat16;
  }
  throw UsageError("model " + file_name + " names an unknown dtype '" + name + "' in its metadata");
}

std::string dtype_name(at::ScalarType dtype) {
  switch (dtype) {
    case at::kHalf:
      return "fp16";
    case at::kBFloat16:
      return "bf16";
    default:
      return "fp32";
  }
}

// What a CPU package's kernels were compiled for, against this CPU.
void check_cpu_isa(const std::string& isa, const std::string& file_name) {
  const auto has = [&](const char* token) {
    return (" " + isa + " ").find(std::string(" ") + token + " ") != std::string::npos;
  };
  __builtin_cpu_init();
  const char* missing = nullptr;
  if (has("AVX2") && !__builtin_cpu_supports("avx2")) {
    missing = "AVX2";
  } else if (has("AVX512") && !__builtin_cpu_supports("avx512f")) {
    missing = "AVX512";
  } else if (has("AVX512_VNNI") && !__builtin_cpu_supports("avx512vnni")) {
    missing = "AVX512_VNNI";
  }
  if (missing != nullptr) {
    throw UsageError(
        "model " + file_name + " was compiled for a CPU with " + missing +
        ", which this CPU lacks: rebuild the package here (tools/export_model.py --pt2 cpu)");
  }
}

void check(const Metadata& metadata, const LoadRequest& request) {
  const std::string& file = request.file_name;
  const bool cuda = request.backend == Backend::cuda;
  const std::string device = lookup(metadata, "AOTI_DEVICE_KEY");
  if (cuda && device != "cuda") {
    throw UsageError(
        "model " + file + " was compiled for " + (device.empty() ? "an unknown device" : device) +
        ", not a CUDA GPU: build the package on this machine (tools/export_model.py --pt2 cuda)");
  }
  if (!cuda && device != "cpu") {
    throw UsageError(
        "model " + file + " was compiled for " + (device.empty() ? "an unknown device" : device) +
        "; the cpu device needs a package compiled for the CPU (tools/export_model.py --pt2 cpu) "
        "or a TorchScript file");
  }
  const std::string torch_version = lookup(metadata, "pyn.torch");
  if (!torch_version.empty() && torch_version != TORCH_VERSION) {
    throw UsageError("model " + file + " was built with torch " + torch_version +
                     ", this program with LibTorch " + TORCH_VERSION +
                     ": rebuild the package with torch " + TORCH_VERSION);
  }
  if (cuda) {
    const std::string capability = lookup(metadata, "AOTI_COMPUTE_CAPABILITY");
    if (!capability.empty() && capability != std::to_string(request.compute_capability)) {
      throw UsageError("model " + file + " was compiled for GPUs of compute capability " +
                       capability + ", this GPU (" + request.device_name + ") is " +
                       std::to_string(request.compute_capability) +
                       ": rebuild the package on this GPU");
    }
  } else {
    check_cpu_isa(lookup(metadata, "AOTI_CPU_ISA"), file);
  }
}

class AotiModel final : public Model {
 public:
  AotiModel(std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader, at::ScalarType dtype,
            std::string file_name, std::optional<FixedSize> size, int batch)
      : loader_(std::move(loader)),
        dtype_(dtype),
        file_name_(std::move(file_name)),
        size_(size),
        batch_(batch) {}

  [[nodiscard]] std::string_view format_name() const override { return "AOTInductor"; }
  [[nodiscard]] at::ScalarType input_dtype() const override { return dtype_; }

  at::Tensor forward(const at::Tensor& input, void* cuda_stream) override {
    // The package reads its input with the strides it was exported with (contiguous NCHW),
    // unchecked. The container picks a free model instance under its own lock: concurrent calls are
    // safe.
    std::vector<at::Tensor> outputs = loader_->run({input.contiguous()}, cuda_stream);
    if (outputs.size() != 1) {
      throw UsageError("model " + file_name_ + " gives " + std::to_string(outputs.size()) +
                       " outputs, not one image tensor");
    }
    return std::move(outputs.front());
  }

  // What a replay would skip: each run takes a free model instance from the container, and the
  // container records an event per run and queries it to know when an instance is free again.
  // Captured, those records and queries fail or go stale, and every replay would share one
  // instance's state unseen by the container.
  [[nodiscard]] std::string capture_refusal() const override {
    return "is an AOTInductor package, which --cuda-graph does not capture (its runtime hands out "
           "model instances per run, tracked by CUDA events a graph replay would skip): use a "
           "TorchScript file, or run without --cuda-graph";
  }

  [[nodiscard]] std::optional<FixedSize> fixed_size() const override { return size_; }
  [[nodiscard]] int fixed_batch() const override { return batch_; }

 private:
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader_;
  at::ScalarType dtype_;
  std::string file_name_;
  std::optional<FixedSize> size_;
  int batch_ = 1;
};

// "pyn.size" (WxH), which tools/export_model.py --size writes: the package takes that size only.
std::optional<FixedSize> parse_size(const std::string& text, const std::string& file_name) {
  if (text.empty()) {
    return std::nullopt;
  }
  FixedSize size;
  char x = 0;
  char rest = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &size.width, &x, &size.height, &rest) != 3 ||
      x != 'x' || size.width < 1 || size.height < 1) {
    throw UsageError("model " + file_name + " names an input size that is not WxH: '" + text + "'");
  }
  return size;
}

// "pyn.batch" (N), which tools/export_model.py writes: the package takes that N only. A package
// without it was exported before the key, always for N = 1.
int parse_batch(const std::string& text, const std::string& file_name) {
  if (text.empty()) {
    return 1;
  }
  int batch = 0;
  char rest = 0;
  if (std::sscanf(text.c_str(), "%d%c", &batch, &rest) != 1 || batch < 1) {
    throw UsageError("model " + file_name + " names a batch that is not a whole number from 1: '" +
                     text + "'");
  }
  return batch;
}

}  // namespace

std::unique_ptr<Model> load_aoti(const LoadRequest& request) {
  Metadata metadata;
  try {
    metadata =
        torch::inductor::AOTIModelPackageLoader::load_metadata_from_package(request.path, "model");
  } catch (const std::exception& e) {
    throw UsageError("cannot read AOTInductor package " + request.file_name + ": " + message_of(e));
  }
  check(metadata, request);

  // A CPU package computes in the dtype it was compiled for (the engine converts around it); a
  // GPU package must match the run's dtype, which sizes the pipeline's buffers.
  const std::string declared = lookup(metadata, "pyn.dtype");
  at::ScalarType dtype = request.dtype;
  if (!declared.empty()) {
    dtype = parse_dtype(declared, request.file_name);
    if (request.backend == Backend::cuda && dtype != request.dtype) {
      throw UsageError("model " + request.file_name + " was compiled for " + declared +
                       " input; run with --" + declared + " or export an " +
                       dtype_name(request.dtype) + " package");
    }
  }

  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader;
  share_libstdcxx();
  try {
    const auto device_index =
        static_cast<c10::DeviceIndex>(request.backend == Backend::cuda ? request.device_index : -1);
    loader = std::make_unique<torch::inductor::AOTIModelPackageLoader>(request.path, "model", false,
                                                                       kRunners, device_index);
  } catch (const std::exception& e) {
    throw UsageError("cannot load AOTInductor package " + request.file_name + ": " + message_of(e));
  }
  return std::make_unique<AotiModel>(std::move(loader), dtype, request.file_name,
                                     parse_size(lookup(metadata, "pyn.size"), request.file_name),
                                     parse_batch(lookup(metadata, "pyn.batch"), request.file_name));
}

}  // namespace pyn::torch_engine
