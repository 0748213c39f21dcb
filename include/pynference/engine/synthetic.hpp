#pragma once
// The synthetic engine: a stand-in network for studying schedules. Its output is a deterministic
// function of its input (nearest-neighbour upscale by an integer factor, then 1 - x), so every
// frame can be checked, and it costs a chosen time per frame: on a GPU a busy loop spread over the
// whole chip (a real network also fills it), calibrated at prepare(); on the host backend a wait.

#include <atomic>
#include <memory>

#include "pynference/device/device.hpp"
#include "pynference/engine/engine.hpp"

namespace pyn {

struct SyntheticOptions {
  double compute_ms = 1.0;  // target time of one inference
  int scale = 1;            // integer upscale factor
  DType dtype = DType::f16;
};

class SyntheticEngine final : public Engine {
 public:
  SyntheticEngine(Device device, SyntheticOptions options);

  [[nodiscard]] std::string name() const override;
  [[nodiscard]] DType dtype() const override { return options_.dtype; }
  [[nodiscard]] TensorShape output_shape(const TensorShape& input) const override;
  void prepare(Stream& stream, const TensorShape& input) override;
  void run(Stream& stream, const TensorView& in, const TensorView& out) override;

  // Busy-loop iterations per thread chosen by calibration (0 on the host backend).
  [[nodiscard]] long long iterations() const noexcept { return iterations_.load(); }

 private:
  void calibrate(Stream& stream, const TensorShape& input);

  Device device_;
  SyntheticOptions options_;
  std::atomic<long long> iterations_{-1};  // -1 until calibrated
  int blocks_ = 0;
};

// The engine's function on the CPU, also the host backend's implementation.
void synthetic_cpu(const TensorView& in, const TensorView& out, int scale);

// The GPU kernel: the same function plus `iterations` dependent multiply-adds per thread.
void synthetic_cuda(const TensorView& in, const TensorView& out, int scale, long long iterations,
                    int blocks, void* stream);
// Blocks that fill the device for synthetic_cuda.
int synthetic_cuda_blocks(int device);

}  // namespace pyn
