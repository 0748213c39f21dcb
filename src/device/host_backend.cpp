// The host backend: a stream is a worker thread running tasks in order, an event is a completion
// flag with a timestamp, device memory is ordinary memory. It mirrors the CUDA semantics the
// pipeline relies on: stream order, wait-on-latest-record, sticky errors surfacing at sync.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <deque>
#include <exception>
#include <fstream>
#include <mutex>
#include <new>
#include <string>
#include <thread>

#include "backend.hpp"
#include "pynference/device/error.hpp"

namespace pyn::detail {

namespace {

using Clock = std::chrono::steady_clock;

class HostEvent final : public EventImpl {
 public:
  explicit HostEvent(bool timing) : timing_(timing) {}

  void record(StreamImpl& stream) override;

  void synchronize() const override {
    std::unique_lock lock(mutex_);
    const std::uint64_t target = recorded_;
    done_.wait(lock, [&] { return completed_ >= target; });
    if (error_) {
      std::rethrow_exception(error_);
    }
  }
  [[nodiscard]] bool ready() const override {
    const std::lock_guard lock(mutex_);
    return completed_ >= recorded_;
  }
  [[nodiscard]] float elapsed_ms_since(const EventImpl& start) const override {
    const auto& other = static_cast<const HostEvent&>(start);
    if (!timing_ || !other.timing_) {
      throw Error("elapsed time asked of an event made without timing");
    }
    const Clock::time_point begin = other.stamp();
    const Clock::time_point end = stamp();
    return std::chrono::duration<float, std::milli>(end - begin).count();
  }

  // Called by the waiting stream's worker: blocks until the record issued as `generation` is done.
  std::exception_ptr wait_for(std::uint64_t generation) const {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return completed_ >= generation; });
    return error_;
  }
  std::uint64_t issue() {
    const std::lock_guard lock(mutex_);
    return ++recorded_;
  }
  [[nodiscard]] std::uint64_t latest() const {
    const std::lock_guard lock(mutex_);
    return recorded_;
  }
  void complete(std::uint64_t generation, std::exception_ptr error) {
    // Notify under the lock: a waiter may destroy the event as soon as it sees completion.
    const std::lock_guard lock(mutex_);
    completed_ = std::max(completed_, generation);
    stamp_ = Clock::now();
    error_ = std::move(error);
    done_.notify_all();
  }

 private:
  [[nodiscard]] Clock::time_point stamp() const {
    const std::lock_guard lock(mutex_);
    if (completed_ < recorded_ || recorded_ == 0) {
      throw Error("elapsed time asked of an event that has not completed");
    }
    return stamp_;
  }

  bool timing_;
  mutable std::mutex mutex_;
  mutable std::condition_variable done_;
  std::uint64_t recorded_ = 0;
  std::uint64_t completed_ = 0;
  Clock::time_point stamp_{};
  std::exception_ptr error_;
};

class HostStream final : public StreamImpl {
 public:
  HostStream() : worker_([this] { run(); }) {}
  ~HostStream() override {
    {
      const std::lock_guard lock(mutex_);
      closing_ = true;
    }
    wake_.notify_all();
    worker_.join();
  }

  [[nodiscard]] Backend backend() const noexcept override { return Backend::host; }
  [[nodiscard]] void* native() const noexcept override { return nullptr; }

  void copy_async(void* dst, const void* src, std::size_t bytes) override {
    enqueue([dst, src, bytes] { std::memcpy(dst, src, bytes); });
  }
  void copy_2d_async(void* dst, std::size_t dst_pitch, const void* src, std::size_t src_pitch,
                     std::size_t row_bytes, std::size_t rows) override {
    enqueue([=] {
      for (std::size_t r = 0; r < rows; ++r) {
        std::memcpy(static_cast<std::byte*>(dst) + r * dst_pitch,
                    static_cast<const std::byte*>(src) + r * src_pitch, row_bytes);
      }
    });
  }
  void wait(const EventImpl& event) override {
    // Like cudaStreamWaitEvent: wait for the record issued before this call, not a later one.
    auto& host_event = const_cast<HostEvent&>(static_cast<const HostEvent&>(event));
    const std::uint64_t generation = host_event.latest();
    if (generation == 0) {
      return;
    }
    enqueue([&host_event, generation] {
      if (std::exception_ptr error = host_event.wait_for(generation)) {
        std::rethrow_exception(error);
      }
    });
  }
  void synchronize() override {
    std::unique_lock lock(mutex_);
    const std::uint64_t target = issued_;
    idle_.wait(lock, [&] { return finished_ >= target; });
    if (error_) {
      std::rethrow_exception(error_);
    }
  }
  void enqueue(std::function<void()> fn) override {
    {
      const std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(fn));
      ++issued_;
    }
    wake_.notify_one();
  }
  std::unique_ptr<Graph::Impl> capture(const std::function<void()>& /*enqueue*/) override {
    throw UsageError("CUDA graphs need a CUDA device, not the host backend");
  }

  // The stream's error so far, if any (read by events recorded on it).
  [[nodiscard]] std::exception_ptr error() const {
    const std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return closing_ || !tasks_.empty(); });
        if (tasks_.empty()) {
          return;
        }
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      std::exception_ptr failure;
      // A failed stream skips later work, as a CUDA stream does after a sticky error; events
      // recorded on it still complete, carrying the error.
      const bool failed = error() != nullptr;
      if (!failed) {
        try {
          task();
        } catch (...) {
          failure = std::current_exception();
        }
      }
      {
        const std::lock_guard lock(mutex_);
        if (failure && !error_) {
          error_ = failure;
        }
        ++finished_;
      }
      if (failed) {
        run_if_event_record(task);
      }
      idle_.notify_all();
    }
  }

  // Event records must still run on a failed stream so that waiters wake up.
  static void run_if_event_record(const std::function<void()>& task) {
    if (const auto* record = task.target<EventRecordTask>()) {
      (*record)();
    }
  }

 public:
  struct EventRecordTask {
    HostEvent* event;
    HostStream* stream;
    std::uint64_t generation;
    void operator()() const { event->complete(generation, stream->error()); }
  };

 private:
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> tasks_;
  std::uint64_t issued_ = 0;
  std::uint64_t finished_ = 0;
  std::exception_ptr error_;
  bool closing_ = false;
  std::thread worker_;
};

void HostEvent::record(StreamImpl& stream) {
  auto& host_stream = static_cast<HostStream&>(stream);
  const std::uint64_t generation = issue();
  host_stream.enqueue(HostStream::EventRecordTask{this, &host_stream, generation});
}

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.starts_with("model name")) {
      const auto colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) {
        return line.substr(colon + 2);
      }
    }
  }
  return "CPU";
}

class HostDevice final : public DeviceImpl {
 public:
  HostDevice() : DeviceImpl(make_info()) {}

  void bind_thread() override {}
  std::unique_ptr<StreamImpl> make_stream() override { return std::make_unique<HostStream>(); }
  std::unique_ptr<EventImpl> make_event(bool timing) override {
    return std::make_unique<HostEvent>(timing);
  }
  void* alloc_device(std::size_t bytes) override { return allocate(bytes); }
  void free_device(void* data) noexcept override { release(data); }
  void* alloc_host(std::size_t bytes, HostMemory /*kind*/) override { return allocate(bytes); }
  void free_host(void* data, HostMemory /*kind*/) noexcept override { release(data); }
  // Streams are independent threads; the device itself holds no work of its own.
  void synchronize() override {}
  [[nodiscard]] std::size_t used_on_device() const override { return 0; }

 private:
  static constexpr std::size_t kAlignment = 256;  // as cudaMalloc, so vector paths see the same
  static void* allocate(std::size_t bytes) { return ::operator new(bytes, std::align_val_t{kAlignment}); }
  static void release(void* data) noexcept { ::operator delete(data, std::align_val_t{kAlignment}); }

  static DeviceInfo make_info() {
    DeviceInfo info;
    info.backend = Backend::host;
    info.name = cpu_model_name();
    info.multiprocessors = static_cast<int>(std::thread::hardware_concurrency());
    return info;
  }
};

}  // namespace

std::shared_ptr<DeviceImpl> open_host_device() { return std::make_shared<HostDevice>(); }

}  // namespace pyn::detail
