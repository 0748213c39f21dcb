#pragma once
// The frames a run of the synthetic engine over a SyntheticSource must give, for checking it.

#include <cstdint>
#include <vector>

#include "pynference/io/synthetic.hpp"

namespace pyn {

// What the synthetic engine must turn frame `index` of `source` into, computed on the CPU with the
// kernels' reference functions: pre (or YUV -> RGB), the engine's function, post (or RGB -> YUV).
[[nodiscard]] std::vector<std::byte> expected_synthetic_output(const SyntheticSource& source,
                                                               std::int64_t index, DType dtype,
                                                               int scale);

}  // namespace pyn
