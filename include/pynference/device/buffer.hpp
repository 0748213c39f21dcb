#pragma once
// Buffers: move-only owners of device memory or host memory (pageable, pinned, or pinned
// write-combined, which the CPU writes fast and the GPU reads fast, but the CPU reads slowly).

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace pyn {

enum class HostMemory { pageable, pinned, pinned_write_combined };

[[nodiscard]] std::string_view to_string(HostMemory kind) noexcept;

namespace detail {
class DeviceImpl;
}

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(std::shared_ptr<detail::DeviceImpl> device, void* data, std::size_t bytes) noexcept;
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer();

  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_; }
  template <class T>
  [[nodiscard]] T* as() const noexcept {
    return static_cast<T*>(data_);
  }
  void reset() noexcept;

 private:
  std::shared_ptr<detail::DeviceImpl> device_;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

class HostBuffer {
 public:
  HostBuffer() = default;
  HostBuffer(std::shared_ptr<detail::DeviceImpl> device, void* data, std::size_t bytes,
             HostMemory kind) noexcept;
  HostBuffer(HostBuffer&& other) noexcept;
  HostBuffer& operator=(HostBuffer&& other) noexcept;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  ~HostBuffer();

  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_; }
  [[nodiscard]] HostMemory kind() const noexcept { return kind_; }
  [[nodiscard]] std::span<std::byte> bytes() const noexcept {
    return {static_cast<std::byte*>(data_), bytes_};
  }
  void reset() noexcept;

 private:
  std::shared_ptr<detail::DeviceImpl> device_;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  HostMemory kind_ = HostMemory::pageable;
};

}  // namespace pyn
