#pragma once
// The device layer's entry point: pick a device by name, query it, and make its streams, events
// and buffers. Two backends stand behind one face: `cuda` (the product) and `host` (streams are
// worker threads, copies are memcpy), which lets the whole pipeline run where there is no GPU.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "pynference/device/buffer.hpp"
#include "pynference/device/stream.hpp"

namespace pyn {

enum class Backend { cuda, host };

// "cpu", "cuda" (= cuda:0) or "cuda:N".
struct DeviceSpec {
  Backend backend = Backend::cuda;
  int index = 0;

  static DeviceSpec parse(std::string_view text);  // throws UsageError
  [[nodiscard]] std::string str() const;
};

struct DeviceInfo {
  Backend backend = Backend::host;
  int index = 0;
  std::string name;
  std::size_t total_memory = 0;  // bytes
  int multiprocessors = 0;       // SMs, or hardware threads on the host backend
  int compute_major = 0;
  int compute_minor = 0;
  int driver_version = 0;   // CUDA driver API version, e.g. 13000
  int runtime_version = 0;  // CUDA runtime version the binary uses
  int pci_bus = -1;
};

// Device memory taken through this device's buffers: now and at the peak since reset_peak().
struct MemoryStats {
  std::size_t allocated = 0;
  std::size_t peak = 0;
};

namespace detail {
class DeviceImpl;
}

// A cheap, copyable handle; buffers keep the device alive.
class Device {
 public:
  // Throws DeviceUnavailable with one clear sentence when the device does not exist.
  static Device open(const DeviceSpec& spec);
  // Number of CUDA devices usable here; 0 where there is no GPU or no driver.
  static int cuda_device_count() noexcept;

  [[nodiscard]] Backend backend() const;
  [[nodiscard]] const DeviceInfo& info() const;

  // Each thread of the library's own that issues work calls this once (the CUDA current device is
  // per thread). A caller's thread is never bound: calls made on it use a DeviceGuard.
  void bind_thread() const;

  [[nodiscard]] Stream make_stream() const;
  [[nodiscard]] Event make_event(bool timing = true) const;
  [[nodiscard]] DeviceBuffer alloc(std::size_t bytes) const;
  [[nodiscard]] HostBuffer alloc_host(std::size_t bytes, HostMemory kind) const;

  void synchronize() const;

  [[nodiscard]] MemoryStats memory() const;
  void reset_peak() const;
  // Bytes in use on the whole device (all processes, the context included); 0 on the host backend.
  [[nodiscard]] std::size_t used_on_device() const;

 private:
  explicit Device(std::shared_ptr<detail::DeviceImpl> impl);
  std::shared_ptr<detail::DeviceImpl> impl_;
  friend class DeviceGuard;
};

// Makes a device current on this thread for the guard's life, then gives the thread back the
// device it had: the library never moves its caller's current device.
class DeviceGuard {
 public:
  explicit DeviceGuard(const Device& device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;
  DeviceGuard(DeviceGuard&&) = delete;
  DeviceGuard& operator=(DeviceGuard&&) = delete;

 private:
  std::shared_ptr<detail::DeviceImpl> impl_;
  int previous_;
};

[[nodiscard]] std::string_view to_string(Backend backend) noexcept;

}  // namespace pyn
