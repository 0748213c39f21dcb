// The torch engine: wraps the pipeline's tensors for LibTorch without copying, runs the network on
// the stream it is given (CUDA) or on the CPU inside the stream's order (host backend), and copies
// the network's output into the pipeline's output tensor on that same stream.

#include "pynference/engine/torch_engine.hpp"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/core/CachingHostAllocator.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/core/InferenceMode.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "model.hpp"
#include "pynference/device/error.hpp"

namespace pyn {

namespace {

using torch_engine::FixedSize;
using torch_engine::Format;
using torch_engine::LoadRequest;
using torch_engine::message_of;
using torch_engine::Model;

// Side of the square test input that finds the scale at open.
constexpr int kProbe = 64;

at::ScalarType scalar_type(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return at::kFloat;
    case DType::f16:
      return at::kHalf;
    case DType::bf16:
      return at::kBFloat16;
  }
  return at::kFloat;
}

std::string size_text(const FixedSize& size) {
  return std::to_string(size.width) + "x" + std::to_string(size.height);
}

std::string shape_text(at::IntArrayRef sizes) {
  std::ostringstream text;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    text << (i == 0 ? "" : "x") << sizes[i];
  }
  return text.str();
}

at::Tensor wrap(const TensorView& view, const c10::Device& device) {
  const TensorShape& s = view.shape;
  // target_device: we know where the memory is, so torch need not ask the driver each frame.
  return at::for_blob(view.data, {s.n, s.c, s.h, s.w})
      .options(at::TensorOptions().dtype(scalar_type(view.dtype)).device(device))
      .target_device(device)
      .make_tensor();
}

// A private memory pool of torch's caching allocator for the CUDA graphs of one stream. What a
// capture allocates (activations, cuDNN workspaces) comes from it and stays reserved for the graph:
// every replay writes the same addresses, so the allocator must never hand them to anyone else.
// The graphs of one stream share the pool, since their replays never overlap; graphs of two
// streams could run at once, so each stream has its own. When the last graph of the pool is gone,
// its memory goes back to the device.
class GraphPool {
 public:
  GraphPool() : id_(at::cuda::graph_pool_handle()) {}
  GraphPool(const GraphPool&) = delete;
  GraphPool& operator=(const GraphPool&) = delete;
  ~GraphPool() {
    try {
      c10::cuda::CUDACachingAllocator::emptyCache(id_);
    } catch (...) {  // the memory stays cached a while longer; no reason to fail a destructor
    }
  }
  [[nodiscard]] c10::MempoolId_t id() const { return id_; }

 private:
  c10::MempoolId_t id_;
};

// One capture through LibTorch's at::cuda::CUDAGraph, which routes the allocations of the
// capturing stream to the pool and knows torch's other cooperation with graphs (RNG state).
class TorchGraph final : public Graph::Impl {
 public:
  TorchGraph(std::shared_ptr<GraphPool> pool, const c10::cuda::CUDAStream& stream,
             const std::function<void()>& enqueue)
      : pool_(std::move(pool)), device_(stream.device_index()) {
    const c10::cuda::CUDAStreamGuard guard(stream);
    try {
      // Thread-local: only this thread is kept from calls that would break the capture (torch
      // relaxes it for its own cudaMalloc), not the other threads of the process.
      graph_.capture_begin(pool_->id(), cudaStreamCaptureModeThreadLocal);
      enqueue();
      graph_.capture_end();
    } catch (...) {
      abandon(stream.stream());
      throw;
    }
  }
  TorchGraph(const TorchGraph&) = delete;
  TorchGraph& operator=(const TorchGraph&) = delete;
  ~TorchGraph() override = default;

  void launch(Stream& stream) override {
    const c10::cuda::CUDAStreamGuard guard(
        c10::cuda::getStreamFromExternal(static_cast<cudaStream_t>(stream.native()), device_));
    graph_.replay();
  }

 private:
  // Ends a capture that failed part-way, so the stream takes ordinary work again, and hands the
  // pool back where at::cuda::CUDAGraph had not (its reset() does only after a whole capture). The
  // allocators say whether this capture was still allocating to the pool: ending that succeeds
  // only then, and only then is this capture's reference to the pool still held.
  void abandon(cudaStream_t stream) noexcept {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(stream, &status) == cudaSuccess &&
        status != cudaStreamCaptureStatusNone) {
      cudaGraph_t graph = nullptr;
      if (cudaStreamEndCapture(stream, &graph) == cudaSuccess && graph != nullptr) {
        (void)cudaGraphDestroy(graph);
      }
    }
    (void)cudaGetLastError();
    // The error that stopped the capture is what the caller hears about, not these.
    try {
      c10::cuda::CUDACachingAllocator::endAllocateToPool(device_, pool_->id());
      c10::cuda::CUDACachingAllocator::releasePool(device_, pool_->id());
    } catch (...) {
    }
    try {
      at::HostAllocator* host = at::getHostAllocator(at::kCUDA);
      host->end_allocate_to_pool(pool_->id());
      host->release_pool(pool_->id());
    } catch (...) {
    }
  }

  // Declared before graph_, so it outlives it: the graph's reset() hands its memory back to the
  // pool, and the pool's end gives it back to the device.
  std::shared_ptr<GraphPool> pool_;
  c10::DeviceIndex device_;
  at::cuda::CUDAGraph graph_;
};

// The package's own size, else the one the caller says the model takes, else none.
std::optional<FixedSize> fixed_size_of(const Model& model, const TorchOptions& options) {
  if (std::optional<FixedSize> fixed = model.fixed_size()) {
    return fixed;
  }
  if (options.input_width > 0 && options.input_height > 0) {
    return FixedSize{options.input_width, options.input_height};
  }
  return std::nullopt;
}

class TorchEngine final : public Engine {
 public:
  TorchEngine(Device device, c10::Device torch_device, std::string file_name, TorchOptions options,
              std::unique_ptr<Model> model, int scale)
      : device_(std::move(device)),
        torch_device_(torch_device),
        file_name_(std::move(file_name)),
        options_(options),
        model_(std::move(model)),
        scale_(scale) {}

  [[nodiscard]] std::string name() const override {
    const std::optional<FixedSize> fixed = fixed_size();
    return "torch(" + (options_.display_name.empty() ? file_name_ : options_.display_name) + ", " +
           std::string(model_->format_name()) + ", " + std::string(to_string(options_.dtype)) +
           ", x" + std::to_string(scale_) + (fixed ? ", " + size_text(*fixed) + " only" : "") +
           (model_->fixed_batch() > 1 ? ", batch " + std::to_string(model_->fixed_batch()) : "") +
           ")";
  }
  [[nodiscard]] DType dtype() const override { return options_.dtype; }

  [[nodiscard]] TensorShape output_shape(const TensorShape& input) const override {
    if (input.n < 1 || input.c != 3 || input.h < 1 || input.w < 1) {
      throw UsageError("torch engine: expected an N x 3 x H x W input");
    }
    if (const int batch = model_->fixed_batch(); batch > 0 && input.n != batch) {
      throw UsageError("model " + file_name_ + " was exported for batch " + std::to_string(batch) +
                       " only, not " + std::to_string(input.n) +
                       " (--batch times --tile-batch): run with that batch, or export it for " +
                       std::to_string(input.n) + " (tools/export_model.py --batch " +
                       std::to_string(input.n) + ")");
    }
    if (const std::optional<FixedSize> fixed = fixed_size();
        fixed && (input.w != fixed->width || input.h != fixed->height)) {
      const std::string size = std::to_string(input.w) + "x" + std::to_string(input.h);
      throw UsageError("model " + file_name_ + " was exported for " + size_text(*fixed) +
                       " input only, not " + size + ": export it for " + size +
                       " (tools/export_model.py --size " + size + ") or for any size (no --size)");
    }
    return {input.n, 3, input.h * scale_, input.w * scale_};
  }

  void prepare(Stream& stream, const TensorShape& input) override {
    const TensorShape output = output_shape(input);
    const DeviceBuffer in_buffer = device_.alloc(input.elements() * bytes_of(options_.dtype));
    const DeviceBuffer out_buffer = device_.alloc(output.elements() * bytes_of(options_.dtype));
    const TensorView in{in_buffer.data(), input, options_.dtype};
    const TensorView out{out_buffer.data(), output, options_.dtype};
    fill(stream, in);
    bool first_of_shape = false;
    {
      const std::lock_guard lock(warmed_mutex_);
      first_of_shape = std::find(warmed_.begin(), warmed_.end(), input) == warmed_.end();
    }
    // The first run on this thread picks cuDNN's algorithms (timing them in benchmark mode).
    for (int i = 0; i < model_->warmups(first_of_shape); ++i) {
      run(stream, in, out);
    }
    stream.synchronize();
    if (first_of_shape) {
      const std::lock_guard lock(warmed_mutex_);
      warmed_.push_back(input);
    }
  }

  void run(Stream& stream, const TensorView& in, const TensorView& out) override {
    if (stream.backend() == Backend::host) {
      stream.enqueue([this, in, out] { infer_cpu(in, out); });
      return;
    }
    infer_cuda(stream.native(), in, out);
  }

  // What is captured runs the network through torch, so the capture goes through torch too: its
  // allocations during the capture come from a pool private to the graphs of this stream.
  [[nodiscard]] Graph capture(Stream& stream, const std::function<void()>& enqueue) override {
    if (stream.backend() != Backend::cuda) {
      return capture_graph(stream, enqueue);  // the device layer's refusal
    }
    if (const std::string refusal = model_->capture_refusal(); !refusal.empty()) {
      throw UsageError("model " + file_name_ + " " + refusal);
    }
    try {
      // One run outside the capture first, on these very buffers: whatever torch and cuDNN set
      // up on first use (per stream, per thread, per shape and alignment) is done by then, and
      // nothing of it happens, or allocates, inside the capture.
      enqueue();
      return Graph(std::make_unique<TorchGraph>(pool_for(stream.native()),
                                                external(stream.native()), enqueue));
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error("torch engine: capturing a CUDA graph: " + message_of(e));
    }
  }

  void release_cached_memory() override {
    if (torch_device_.is_cuda()) {
      c10::cuda::CUDACachingAllocator::emptyCache();
    }
  }

  [[nodiscard]] std::size_t workspace_bytes() const override {
    if (!torch_device_.is_cuda()) {
      return 0;
    }
    // Everything torch holds on the device: the weights, its cached activations and the private
    // pools of CUDA graphs (reserved bytes count every pool).
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(torch_device_.index());
    return static_cast<std::size_t>(
        stats.reserved_bytes[static_cast<std::size_t>(c10::CachingAllocator::StatType::AGGREGATE)]
            .current);
  }

 private:
  [[nodiscard]] std::optional<FixedSize> fixed_size() const {
    return fixed_size_of(*model_, options_);
  }

  // The pool of the graphs of `stream`: shared while any of them lives, a new one after.
  std::shared_ptr<GraphPool> pool_for(void* stream) {
    const std::lock_guard lock(pools_mutex_);
    std::erase_if(pools_, [](const auto& entry) { return entry.second.expired(); });
    std::weak_ptr<GraphPool>& entry = pools_[stream];
    std::shared_ptr<GraphPool> pool = entry.lock();
    if (!pool) {
      pool = std::make_shared<GraphPool>();
      entry = pool;
    }
    return pool;
  }

  // A mid-grey input for the warm-up: any finite values do.
  void fill(Stream& stream, const TensorView& in) const {
    if (stream.backend() == Backend::host) {
      wrap(in, torch_device_).fill_(0.5);
      return;
    }
    const c10::InferenceMode inference;
    const c10::cuda::CUDAStreamGuard guard(external(stream.native()));
    wrap(in, torch_device_).fill_(0.5);
  }

  [[nodiscard]] c10::cuda::CUDAStream external(void* stream) const {
    return c10::cuda::getStreamFromExternal(static_cast<cudaStream_t>(stream),
                                            torch_device_.index());
  }

  void check_output(const at::Tensor& result, const TensorShape& expected) const {
    if (result.dim() != 4 || result.size(0) != expected.n || result.size(1) != expected.c ||
        result.size(2) != expected.h || result.size(3) != expected.w) {
      throw UsageError("model " + file_name_ + " gives " + shape_text(result.sizes()) + " where " +
                       std::to_string(expected.n) + "x3x" + std::to_string(expected.h) + "x" +
                       std::to_string(expected.w) + " was expected (x" + std::to_string(scale_) +
                       " at the test size): its scale depends on the input size");
    }
  }

  // CUDA: every kernel, allocation and copy of this call goes to `stream`.
  void infer_cuda(void* stream, const TensorView& in, const TensorView& out) const {
    try {
      const c10::InferenceMode inference;
      const c10::cuda::CUDAStreamGuard guard(external(stream));
      const at::Tensor result = model_->forward(wrap(in, torch_device_), stream);
      check_output(result, out.shape);
      // The result's memory goes back to torch's cache for this stream when `result` dies here;
      // the cache hands it out again only to later work on the same stream, after this copy.
      wrap(out, torch_device_).copy_(result, /*non_blocking=*/true);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error("torch engine: " + message_of(e));
    }
  }

  // Host backend: on the stream's worker thread, in fp32 (or the package's dtype).
  void infer_cpu(const TensorView& in, const TensorView& out) const {
    try {
      const c10::InferenceMode inference;
      const at::Tensor input = wrap(in, torch_device_).to(model_->input_dtype());
      const at::Tensor result = model_->forward(input, nullptr);
      check_output(result, out.shape);
      wrap(out, torch_device_).copy_(result);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error("torch engine: " + message_of(e));
    }
  }

  Device device_;
  c10::Device torch_device_;
  std::string file_name_;
  TorchOptions options_;
  std::unique_ptr<Model> model_;
  int scale_;
  std::mutex pools_mutex_;
  std::vector<TensorShape> warmed_;  // input shapes some stream has run
  std::mutex warmed_mutex_;
  std::map<void*, std::weak_ptr<GraphPool>> pools_;  // by cudaStream_t
};

// The network's whole-number scale, from one run on a kProbe x kProbe input (or on the one size
// the model takes); refuses what is not an image-to-image network.
int find_scale(Model& model, const TorchOptions& options, const c10::Device& device,
               const std::optional<c10::cuda::CUDAStream>& stream, const std::string& file_name) {
  const std::optional<FixedSize> fixed = fixed_size_of(model, options);
  const std::int64_t height = fixed ? fixed->height : kProbe;
  const std::int64_t width = fixed ? fixed->width : kProbe;
  const std::int64_t batch = std::max(model.fixed_batch(), 1);
  const std::string probe = "a " + std::to_string(batch) + "x3x" + std::to_string(height) + "x" +
                            std::to_string(width) + " test input";
  at::Tensor result;
  try {
    const at::Tensor input =
        at::full({batch, 3, height, width}, 0.5,
                 at::TensorOptions().dtype(model.input_dtype()).device(device));
    result = model.forward(input, stream ? static_cast<void*>(stream->stream()) : nullptr);
    if (stream) {
      stream->synchronize();
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw UsageError("model " + file_name + " fails on " + probe + ": " + message_of(e));
  }
  const bool image = result.dim() == 4 && result.size(0) == batch && result.size(1) == 3 &&
                     result.size(2) >= height && result.size(2) % height == 0 &&
                     result.size(2) / height * width == result.size(3);
  if (!image) {
    throw UsageError(
        "model " + file_name +
        " is not an image-to-image network (RGB in, RGB scaled by a whole number out): " + probe +
        " gives " + shape_text(result.sizes()));
  }
  return static_cast<int>(result.size(2) / height);
}

}  // namespace

std::unique_ptr<Engine> open_torch_engine(const Device& device, const std::string& path,
                                          const TorchOptions& options) {
  const Format format = torch_engine::detect_format(path);
  const DeviceInfo& info = device.info();
  const bool cuda = device.backend() == Backend::cuda;

  LoadRequest request;
  request.path = path;
  request.file_name = std::filesystem::path(path).filename().string();
  request.backend = device.backend();
  request.device_index = info.index;
  request.compute_capability = cuda ? info.compute_major * 10 + info.compute_minor : 0;
  request.device_name = info.name;
  // The host backend computes in fp32: CPU convolutions in fp16 are slow or missing.
  request.dtype = cuda ? scalar_type(options.dtype) : at::kFloat;
  request.channels_last = options.channels_last;

  const c10::Device torch_device =
      cuda ? c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(info.index))
           : c10::Device(c10::kCPU);
  std::optional<DeviceGuard> current;  // the caller's current device is theirs again at the end
  std::optional<c10::cuda::CUDAStream> setup;
  std::optional<c10::cuda::CUDAStreamGuard> guard;
  if (cuda) {
    current.emplace(device);
    // Loading and the test run go to a stream of torch's pool, never the legacy default stream.
    setup = c10::cuda::getStreamFromPool(false, torch_device.index());
    guard.emplace(*setup);
    // With cudnn_benchmark, cuDNN tries its algorithms once per shape (in prepare) and keeps the
    // fastest; else it takes its heuristics' choice.
    at::globalContext().setBenchmarkCuDNN(options.cudnn_benchmark);
  }

  try {
    std::unique_ptr<Model> model = format == Format::torchscript
                                       ? torch_engine::load_torchscript(request)
                                       : torch_engine::load_aoti(request);
    int scale = 0;
    {
      const c10::InferenceMode inference;
      scale = find_scale(*model, options, torch_device, setup, request.file_name);
    }
    return std::make_unique<TorchEngine>(device, torch_device, request.file_name, options,
                                         std::move(model), scale);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("torch engine: " + message_of(e));
  }
}

}  // namespace pyn
