#pragma once
// A quick check that the device's pre/post kernels give the CPU reference's results bit for bit.

#include <vector>

#include "pynference/device/device.hpp"
#include "pynference/kernels/image.hpp"

namespace pyn::cli {

struct SelfCheck {
  PixelType pixel;
  DType dtype;
  bool pre_ok;
  bool post_ok;
};

[[nodiscard]] std::vector<SelfCheck> self_check(const Device& device);

}  // namespace pyn::cli
