#pragma once
// The native engine: convolutional super-resolution networks (Real-ESRGAN Compact today) run by
// pynference's own code instead of LibTorch, from the plan tools/native_plan.py writes of a state
// dict. On a GPU it keeps the features in NHWC fp16 or bf16 and runs each 3x3 convolution on the
// tensor cores with its bias and activation fused (CUTLASS, Hopper); on the host backend it runs its
// fp32 CPU reference. docs/engine.md says what it runs and how fast.

#include <memory>
#include <string>

#include "pynference/device/device.hpp"
#include "pynference/engine/engine.hpp"

namespace pyn {

struct NativeOptions {
  DType dtype = DType::f16;  // a GPU runs fp16 or bf16; the host backend computes in fp32 whatever it is
  std::string display_name;  // for name(); the plan's architecture where empty
};

// Whether `device` runs the native engine's convolutions: the host backend always; a GPU where this
// build has the kernels for it (Hopper, sm_90). Says why not in `why` where given.
[[nodiscard]] bool native_engine_runs_on(const Device& device, std::string* why = nullptr);

// The engine for the plan at `plan_path` (native.plan, native.bin beside it). Throws UsageError
// with one line for a bad plan, a device it does not run on, or a dtype it does not run.
[[nodiscard]] std::unique_ptr<Engine> open_native_engine(const Device& device,
                                                         const std::string& plan_path,
                                                         const NativeOptions& options);

}  // namespace pyn
