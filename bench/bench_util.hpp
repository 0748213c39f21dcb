#pragma once
// What the GPU microbenchmarks share: error checks, plain device and pinned buffers, and timing
// repeated launches with events (median and spread).

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace pyn::bench {

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
  }
}

class DeviceMemory {
 public:
  explicit DeviceMemory(std::size_t bytes) { check(cudaMalloc(&data_, bytes), "cudaMalloc"); }
  DeviceMemory(DeviceMemory&& other) noexcept : data_(std::exchange(other.data_, nullptr)) {}
  DeviceMemory& operator=(DeviceMemory&&) = delete;
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  ~DeviceMemory() { cudaFree(data_); }
  [[nodiscard]] void* get() const { return data_; }

 private:
  void* data_ = nullptr;
};

class PinnedMemory {
 public:
  explicit PinnedMemory(std::size_t bytes) {
    check(cudaHostAlloc(&data_, bytes, cudaHostAllocDefault), "cudaHostAlloc");
  }
  PinnedMemory(const PinnedMemory&) = delete;
  PinnedMemory& operator=(const PinnedMemory&) = delete;
  ~PinnedMemory() { cudaFreeHost(data_); }
  [[nodiscard]] void* get() const { return data_; }

 private:
  void* data_ = nullptr;
};

struct Spread {
  double median_us = 0;
  double p10_us = 0;
  double p90_us = 0;
};

// Times `reps` calls of work(rep) back to back on the stream, each between its own pair of
// events, after `warmup` untimed calls.
inline Spread time_reps(cudaStream_t stream, int warmup, int reps, const std::function<void(int)>& work) {
  for (int i = 0; i < warmup; ++i) {
    work(i);
  }
  std::vector<cudaEvent_t> marks(static_cast<std::size_t>(reps) + 1);
  for (auto& mark : marks) {
    check(cudaEventCreate(&mark), "cudaEventCreate");
  }
  check(cudaEventRecord(marks[0], stream), "cudaEventRecord");
  for (int i = 0; i < reps; ++i) {
    work(i);
    check(cudaEventRecord(marks[static_cast<std::size_t>(i) + 1], stream), "cudaEventRecord");
  }
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  std::vector<double> us;
  for (std::size_t i = 0; i + 1 < marks.size(); ++i) {
    float ms = 0;
    check(cudaEventElapsedTime(&ms, marks[i], marks[i + 1]), "cudaEventElapsedTime");
    us.push_back(static_cast<double>(ms) * 1000.0);
  }
  for (auto& mark : marks) {
    cudaEventDestroy(mark);
  }
  std::sort(us.begin(), us.end());
  const auto at = [&](double q) {
    return us[static_cast<std::size_t>(std::lround(q * static_cast<double>(us.size() - 1)))];
  };
  return {at(0.5), at(0.1), at(0.9)};
}

inline double gbps(std::size_t bytes, double us) { return static_cast<double>(bytes) / (us * 1e3); }

}  // namespace pyn::bench
