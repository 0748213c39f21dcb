#pragma once
// An engine adapter for networks compiled for one input size that is larger than the frames: each
// input is padded on the device to that size (kernels/pad.hpp: reflect, then replicate, as
// spandrel pads), the inner engine runs, and its output is cropped back to the frames' size times
// the scale. The padding lives here, outside the network, so the network's compiled code never
// sees a size it was not built for.

#include <memory>

#include "pynference/device/device.hpp"
#include "pynference/engine/engine.hpp"

namespace pyn {

// `inner` takes exactly padded_width x padded_height inputs. The adapter takes any input no larger
// than that (UsageError otherwise, naming both sizes).
[[nodiscard]] std::unique_ptr<Engine> make_padded_engine(const Device& device,
                                                         std::unique_ptr<Engine> inner,
                                                         int padded_width, int padded_height);

}  // namespace pyn
