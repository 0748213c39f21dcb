// The cuda backend: thin RAII over the CUDA runtime.

#include <cuda_runtime_api.h>

#include <memory>
#include <string>

#include "backend.hpp"
#include "pynference/device/cuda_check.hpp"
#include "pynference/device/error.hpp"

namespace pyn::detail {

namespace {

// The device `device` current for the guard's life, then the thread's own again: the current
// device is per thread and belongs to whoever called the library.
class CudaDeviceGuard {
 public:
  explicit CudaDeviceGuard(int device) {
    PYN_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device) {
      PYN_CUDA_CHECK(cudaSetDevice(device));
      switched_ = true;
    }
  }
  ~CudaDeviceGuard() {
    if (switched_) {
      PYN_CUDA_DTOR_CHECK(cudaSetDevice(previous_));
    }
  }
  CudaDeviceGuard(const CudaDeviceGuard&) = delete;
  CudaDeviceGuard& operator=(const CudaDeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool switched_ = false;
};

class CudaEvent;

class CudaStream final : public StreamImpl {
 public:
  explicit CudaStream(int device) : device_(device) {
    const CudaDeviceGuard guard(device_);
    PYN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }
  ~CudaStream() override { PYN_CUDA_DTOR_CHECK(cudaStreamDestroy(stream_)); }

  [[nodiscard]] Backend backend() const noexcept override { return Backend::cuda; }
  [[nodiscard]] void* native() const noexcept override { return stream_; }

  void copy_async(void* dst, const void* src, std::size_t bytes) override {
    PYN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream_));
  }
  void copy_2d_async(void* dst, std::size_t dst_pitch, const void* src, std::size_t src_pitch,
                     std::size_t row_bytes, std::size_t rows) override {
    PYN_CUDA_CHECK(cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, row_bytes, rows,
                                     cudaMemcpyDefault, stream_));
  }
  void wait(const EventImpl& event) override;
  void synchronize() override { PYN_CUDA_CHECK(cudaStreamSynchronize(stream_)); }
  void enqueue(std::function<void()> /*fn*/) override {
    throw Error("Stream::enqueue is for the host backend; launch a kernel on a cuda stream");
  }
  std::unique_ptr<Graph::Impl> capture(const std::function<void()>& enqueue) override;

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
};

class CudaEvent final : public EventImpl {
 public:
  // Events without timing are the product path's: a thread that waits for one sleeps instead of
  // spinning a core.
  CudaEvent(int device, bool timing) {
    const CudaDeviceGuard guard(device);
    PYN_CUDA_CHECK(cudaEventCreateWithFlags(
        &event_, timing ? cudaEventDefault : (cudaEventDisableTiming | cudaEventBlockingSync)));
  }
  ~CudaEvent() override { PYN_CUDA_DTOR_CHECK(cudaEventDestroy(event_)); }

  void record(StreamImpl& stream) override {
    PYN_CUDA_CHECK(cudaEventRecord(event_, static_cast<cudaStream_t>(stream.native())));
  }
  void synchronize() const override { PYN_CUDA_CHECK(cudaEventSynchronize(event_)); }
  [[nodiscard]] bool ready() const override {
    const cudaError_t status = cudaEventQuery(event_);
    if (status == cudaErrorNotReady) {
      return false;
    }
    PYN_CUDA_CHECK(status);
    return true;
  }
  [[nodiscard]] float elapsed_ms_since(const EventImpl& start) const override {
    float ms = 0.0F;
    PYN_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<const CudaEvent&>(start).event_, event_));
    return ms;
  }
  [[nodiscard]] cudaEvent_t native() const noexcept { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

void CudaStream::wait(const EventImpl& event) {
  PYN_CUDA_CHECK(cudaStreamWaitEvent(stream_, static_cast<const CudaEvent&>(event).native(), 0));
}

class CudaGraph final : public Graph::Impl {
 public:
  explicit CudaGraph(cudaGraphExec_t exec) noexcept : exec_(exec) {}
  ~CudaGraph() override { PYN_CUDA_DTOR_CHECK(cudaGraphExecDestroy(exec_)); }
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  void launch(Stream& stream) override {
    PYN_CUDA_CHECK(cudaGraphLaunch(exec_, static_cast<cudaStream_t>(stream.native())));
  }

 private:
  cudaGraphExec_t exec_;
};

// Leaves a capture that failed part-way, so the stream takes ordinary work again; the error that
// stopped it is what the caller hears about.
void abandon_capture(cudaStream_t stream) noexcept {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &status) == cudaSuccess &&
      status != cudaStreamCaptureStatusNone) {
    cudaGraph_t graph = nullptr;
    if (cudaStreamEndCapture(stream, &graph) == cudaSuccess && graph != nullptr) {
      (void)cudaGraphDestroy(graph);
    }
  }
  (void)cudaGetLastError();
}

std::unique_ptr<Graph::Impl> CudaStream::capture(const std::function<void()>& enqueue) {
  const CudaDeviceGuard guard(device_);
  // Thread-local: this thread may not make calls that would break the capture (they fail
  // instead), while other threads of the process — another pipeline, an encoder — are not held to
  // that.
  PYN_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  cudaGraph_t graph = nullptr;
  try {
    enqueue();
    PYN_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  } catch (...) {
    abandon_capture(stream_);
    throw;
  }
  // The executable graph is all that launches need; the captured one goes when this returns.
  const std::unique_ptr<CUgraph_st, decltype(&cudaGraphDestroy)> captured(graph, &cudaGraphDestroy);
  cudaGraphExec_t exec = nullptr;
  PYN_CUDA_CHECK(cudaGraphInstantiateWithFlags(&exec, graph, 0));
  return std::make_unique<CudaGraph>(exec);
}

class CudaDevice final : public DeviceImpl {
 public:
  CudaDevice(int index, DeviceInfo info) : DeviceImpl(std::move(info)), index_(index) {}

  void bind_thread() override { PYN_CUDA_CHECK(cudaSetDevice(index_)); }
  int make_current() override {
    int previous = 0;
    PYN_CUDA_CHECK(cudaGetDevice(&previous));
    if (previous != index_) {
      PYN_CUDA_CHECK(cudaSetDevice(index_));
    }
    return previous;
  }
  void restore_current(int previous) noexcept override {
    if (previous != index_) {
      PYN_CUDA_DTOR_CHECK(cudaSetDevice(previous));
    }
  }
  std::unique_ptr<StreamImpl> make_stream() override {
    return std::make_unique<CudaStream>(index_);
  }
  std::unique_ptr<EventImpl> make_event(bool timing) override {
    return std::make_unique<CudaEvent>(index_, timing);
  }

  void* alloc_device(std::size_t bytes) override {
    const CudaDeviceGuard guard(index_);
    void* data = nullptr;
    PYN_CUDA_CHECK(cudaMalloc(&data, bytes));
    return data;
  }
  void free_device(void* data) noexcept override { PYN_CUDA_DTOR_CHECK(cudaFree(data)); }

  void* alloc_host(std::size_t bytes, HostMemory kind) override {
    void* data = nullptr;
    switch (kind) {
      case HostMemory::pageable:
        data = ::operator new (bytes, std::align_val_t{kHostAlignment});
        break;
      case HostMemory::pinned:
        PYN_CUDA_CHECK(cudaHostAlloc(&data, bytes, cudaHostAllocPortable));
        break;
      case HostMemory::pinned_write_combined:
        PYN_CUDA_CHECK(
            cudaHostAlloc(&data, bytes, cudaHostAllocPortable | cudaHostAllocWriteCombined));
        break;
    }
    return data;
  }
  void free_host(void* data, HostMemory kind) noexcept override {
    if (kind == HostMemory::pageable) {
      ::operator delete (data, std::align_val_t{kHostAlignment});
    } else {
      PYN_CUDA_DTOR_CHECK(cudaFreeHost(data));
    }
  }

  void synchronize() override {
    const CudaDeviceGuard guard(index_);
    PYN_CUDA_CHECK(cudaDeviceSynchronize());
  }

  [[nodiscard]] std::size_t used_on_device() const override {
    const CudaDeviceGuard guard(index_);
    std::size_t free_bytes = 0;
    std::size_t total_bytes = 0;
    PYN_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    return total_bytes - free_bytes;
  }

 private:
  static constexpr std::size_t kHostAlignment = 4096;
  int index_;
};

}  // namespace

int cuda_device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();  // do not leave the failure sticky for later calls
    return 0;
  }
  return count;
}

std::shared_ptr<DeviceImpl> open_cuda_device(int index) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    throw DeviceUnavailable("no CUDA device: " + std::string(cudaGetErrorString(status)) +
                            " (use --device cpu to run on the CPU)");
  }
  if (count == 0) {
    throw DeviceUnavailable("no CUDA device found (use --device cpu to run on the CPU)");
  }
  if (index < 0 || index >= count) {
    throw DeviceUnavailable("no CUDA device cuda:" + std::to_string(index) + ": this machine has " +
                            std::to_string(count) +
                            " (cuda:0 to cuda:" + std::to_string(count - 1) + ")");
  }
  const CudaDeviceGuard guard(index);
  cudaDeviceProp prop{};
  PYN_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  DeviceInfo info;
  info.backend = Backend::cuda;
  info.index = index;
  info.name = prop.name;
  info.total_memory = prop.totalGlobalMem;
  info.multiprocessors = prop.multiProcessorCount;
  info.compute_major = prop.major;
  info.compute_minor = prop.minor;
  info.pci_bus = prop.pciBusID;
  PYN_CUDA_CHECK(cudaDriverGetVersion(&info.driver_version));
  PYN_CUDA_CHECK(cudaRuntimeGetVersion(&info.runtime_version));
  // Create the context now, so its cost stays out of the first frame.
  PYN_CUDA_CHECK(cudaFree(nullptr));
  return std::make_shared<CudaDevice>(index, std::move(info));
}

}  // namespace pyn::detail
