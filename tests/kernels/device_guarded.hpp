#pragma once
// Device memory with guard bytes around it, shared by the kernels' GPU tests.

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

#include "pynference/device/cuda_check.hpp"

namespace pyn::test {

// Device memory with 64 patterned guard bytes each side. `misalign` shifts the payload off the
// 16-byte alignment cudaMalloc gives, to reach the kernels' scalar paths.
class DeviceGuarded {
 public:
  static constexpr std::size_t guard = 64;
  static constexpr unsigned char pattern = 0xA5;

  explicit DeviceGuarded(std::size_t bytes, std::size_t misalign = 0)
      : bytes_(bytes), offset_(guard + misalign), total_(bytes + 2 * guard + misalign) {
    PYN_CUDA_CHECK(cudaMalloc(&base_, total_));
    PYN_CUDA_CHECK(cudaMemset(base_, pattern, total_));
  }
  DeviceGuarded(const DeviceGuarded&) = delete;
  DeviceGuarded& operator=(const DeviceGuarded&) = delete;
  ~DeviceGuarded() { PYN_CUDA_DTOR_CHECK(cudaFree(base_)); }

  [[nodiscard]] void* data() const { return static_cast<unsigned char*>(base_) + offset_; }

  void upload(const std::vector<unsigned char>& bytes) {
    ASSERT_EQ(bytes.size(), bytes_);
    PYN_CUDA_CHECK(cudaMemcpy(data(), bytes.data(), bytes_, cudaMemcpyHostToDevice));
    // From pageable memory cudaMemcpy may return before its DMA lands, and a kernel on a
    // non-blocking stream is not ordered after it: wait, or the copy's tail can overwrite what the
    // kernel writes (the view tests' large regions in the last slice showed it).
    PYN_CUDA_CHECK(cudaDeviceSynchronize());
  }

  // The payload; the guards are checked on the way.
  [[nodiscard]] std::vector<unsigned char> download() const {
    std::vector<unsigned char> all(total_);
    PYN_CUDA_CHECK(cudaMemcpy(all.data(), base_, total_, cudaMemcpyDeviceToHost));
    std::size_t spoiled = 0;
    for (std::size_t i = 0; i < total_; ++i) {
      const bool in_payload = i >= offset_ && i < offset_ + bytes_;
      spoiled += !in_payload && all[i] != pattern;
    }
    EXPECT_EQ(spoiled, 0U) << "guard bytes overwritten";
    return {all.begin() + static_cast<std::ptrdiff_t>(offset_),
            all.begin() + static_cast<std::ptrdiff_t>(offset_ + bytes_)};
  }

 private:
  void* base_ = nullptr;
  std::size_t bytes_;
  std::size_t offset_;
  std::size_t total_;
};

struct Misalign {
  std::size_t frame = 0;
  std::size_t tensor = 0;
};

}  // namespace pyn::test
