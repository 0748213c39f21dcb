#pragma once
// What each backend implements behind the device layer's handles.

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>

#include "pynference/device/device.hpp"
#include "pynference/device/graph.hpp"

namespace pyn::detail {

class EventImpl;

class StreamImpl {
 public:
  StreamImpl() = default;
  StreamImpl(const StreamImpl&) = delete;
  StreamImpl& operator=(const StreamImpl&) = delete;
  virtual ~StreamImpl() = default;

  [[nodiscard]] virtual Backend backend() const noexcept = 0;
  [[nodiscard]] virtual void* native() const noexcept = 0;
  virtual void copy_async(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void copy_2d_async(void* dst, std::size_t dst_pitch, const void* src,
                             std::size_t src_pitch, std::size_t row_bytes, std::size_t rows) = 0;
  virtual void wait(const EventImpl& event) = 0;
  virtual void synchronize() = 0;
  virtual void enqueue(std::function<void()> fn) = 0;
  // What capture_graph() does on this backend.
  virtual std::unique_ptr<Graph::Impl> capture(const std::function<void()>& enqueue) = 0;
};

class EventImpl {
 public:
  EventImpl() = default;
  EventImpl(const EventImpl&) = delete;
  EventImpl& operator=(const EventImpl&) = delete;
  virtual ~EventImpl() = default;

  virtual void record(StreamImpl& stream) = 0;
  virtual void synchronize() const = 0;
  [[nodiscard]] virtual bool ready() const = 0;
  // Milliseconds from start to this event.
  [[nodiscard]] virtual float elapsed_ms_since(const EventImpl& start) const = 0;
};

class DeviceImpl {
 public:
  explicit DeviceImpl(DeviceInfo info) : info_(std::move(info)) {}
  DeviceImpl(const DeviceImpl&) = delete;
  DeviceImpl& operator=(const DeviceImpl&) = delete;
  virtual ~DeviceImpl() = default;

  [[nodiscard]] const DeviceInfo& info() const noexcept { return info_; }

  virtual void bind_thread() = 0;
  // DeviceGuard's two halves: make this device current, returning the one the thread had; give
  // that one back. No-ops on the host backend.
  virtual int make_current() { return -1; }
  virtual void restore_current(int /*previous*/) noexcept {}
  virtual std::unique_ptr<StreamImpl> make_stream() = 0;
  virtual std::unique_ptr<EventImpl> make_event(bool timing) = 0;
  virtual void* alloc_device(std::size_t bytes) = 0;
  virtual void free_device(void* data) noexcept = 0;
  virtual void* alloc_host(std::size_t bytes, HostMemory kind) = 0;
  virtual void free_host(void* data, HostMemory kind) noexcept = 0;
  virtual void synchronize() = 0;
  [[nodiscard]] virtual std::size_t used_on_device() const = 0;

  // Accounting of device buffers, shared by both backends.
  void count_alloc(std::size_t bytes) noexcept;
  void count_free(std::size_t bytes) noexcept;
  [[nodiscard]] MemoryStats memory() const noexcept;
  void reset_peak() noexcept;

 private:
  DeviceInfo info_;
  std::atomic<std::size_t> allocated_{0};
  std::atomic<std::size_t> peak_{0};
};

std::shared_ptr<DeviceImpl> open_cuda_device(int index);
std::shared_ptr<DeviceImpl> open_host_device();
int cuda_device_count() noexcept;

}  // namespace pyn::detail
